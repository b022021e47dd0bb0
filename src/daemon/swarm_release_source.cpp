#include "rookery/daemon/swarm_release_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <spdlog/spdlog.h>
#include <unordered_map>

#include "rookery/catalog/hot_set.hpp"
#include "rookery/swarm/manifest.hpp"

namespace rookery::daemon {
namespace {

class SwarmJoinedRelease final : public fs::JoinedRelease {
 public:
  SwarmJoinedRelease(swarm::Engine& engine, std::shared_ptr<swarm::Release> release, const store::CacheDir& cache)
      : engine_(engine),
        release_(std::move(release)),
        files_(swarm::release_files(release_->info().files())),
        last_used_path_(cache.last_used_path(release_->version())) {}

  const std::shared_ptr<swarm::Release>& release() const { return release_; }
  const std::vector<fs::ReleaseFile>& files() const override { return files_; }
  std::int64_t total_size() const override { return release_->info().total_size(); }
  bool landed() const override { return release_->landed(); }
  bool hot_set_landed() const override { return release_->hot_set_landed(); }

  // The garbage collector evicts the least recently used releases first; "used" is stamped on
  // the release's last-used file at join and, at most once a minute, when a file is opened.
  void mark_used() override {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    auto last = last_touch_.load();
    if (last != 0 && now - last < 60) return;
    last_touch_ = now;
    FileDescriptor fd(::open(last_used_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (fd.valid()) ::futimens(fd.get(), nullptr);
  }

  void read(int index, std::int64_t offset, std::size_t length, std::int64_t ahead_offset, std::int64_t ahead_length,
            std::function<void(fs::ReadReply)> reply) override {
    engine_.read(release_, index, offset, static_cast<std::int64_t>(length), ahead_offset, ahead_length,
                 [offset, length, reply = std::move(reply)](int error, std::shared_ptr<const FileDescriptor> file) {
                   if (error) return reply({error});
                   reply({0, std::move(file), offset, length});
                 });
  }

 private:
  swarm::Engine& engine_;
  std::shared_ptr<swarm::Release> release_;
  std::vector<fs::ReleaseFile> files_;
  std::filesystem::path last_used_path_;
  std::atomic<std::int64_t> last_touch_{0};  // steady seconds of the last stamp
};

}  // namespace

std::vector<catalog::HotRange> read_trace(const swarm::Release& release) {
  std::unordered_map<int, std::string> paths;
  for (const auto& f : swarm::release_files(release.info().files())) paths.emplace(f.index, f.path);
  std::vector<catalog::HotRange> out;
  for (const auto& r : swarm::Engine::read_trace(release)) out.push_back({paths[r.file], r.offset, r.length});
  return out;
}

SwarmReleaseSource::SwarmReleaseSource(catalog::Admission& admission, swarm::Engine& engine,
                                       const store::CacheDir& cache)
    : admission_(admission), engine_(engine), cache_(cache) {}

std::vector<std::string> SwarmReleaseSource::versions() { return admission_.versions(); }

std::shared_ptr<fs::JoinedRelease> SwarmReleaseSource::join(const std::string& version) {
  auto start = std::chrono::steady_clock::now();
  auto info = admission_.admit(version);
  if (!info) return nullptr;
  auto admitted = std::chrono::steady_clock::now();
  auto joined = std::make_shared<SwarmJoinedRelease>(engine_, engine_.join(version, info, swarm::hot_set_ranges(version, *info)), cache_);
  using ms = std::chrono::duration<double, std::milli>;
  spdlog::debug("release {}: admitted in {:.1f} ms (catalog, torrent, signature), added in {:.1f} ms", version,
                ms(admitted - start).count(), ms(std::chrono::steady_clock::now() - admitted).count());
  return joined;
}

void SwarmReleaseSource::evict(const std::string& version, const std::shared_ptr<fs::JoinedRelease>& joined) {
  if (joined) {
    engine_.remove(static_cast<const SwarmJoinedRelease&>(*joined).release());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(cache_.release_dir(version), ec);
  }
}

}  // namespace rookery::daemon
