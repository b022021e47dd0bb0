#include "rookery/swarm/engine.hpp"

#include <algorithm>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session_params.hpp>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/swarm/local_copies.hpp"
#include "rookery/swarm/piece_map.hpp"

namespace rookery::swarm {

Engine::Engine(store::CacheDir& cache, EngineOptions options)
    : cache_(cache),
      options_(std::move(options)),
      session_(lt::session_params(make_settings(options_.swarm))),
      demand_(DemandOptions{.max_download_rate = options_.swarm.max_download_rate,
                            .whole_fetch_peers = options_.whole_fetch_peers},
              [this](int limit) { set_download_limit(limit); }),
      verifier_(
          options_.verify_give_up, [this](Release& release) { request_recheck(release); },
          [this] {
            std::lock_guard lock(listener_mutex_);
            if (progress_listener_) progress_listener_();
          }) {
  configure_session(session_);
  alert_thread_ = std::thread([this] { alert_loop(); });
}

Engine::~Engine() { stop(); }

void Engine::set_progress_listener(std::function<void()> listener) {
  std::lock_guard lock(listener_mutex_);
  progress_listener_ = std::move(listener);
}

std::shared_ptr<Release> Engine::join(const std::string& version, std::shared_ptr<const lt::torrent_info> info,
                                      const std::vector<FileRange>& hot) {
  if (!info->info_hashes().has_v1()) {
    throw UserError("release " + version + ": v2-only torrents are not supported (no v1 piece hashes to verify "
                    "the cache against): republish with rookery publish");
  }
  auto data_dir = cache_.data_dir(version);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw UserError("release " + version + ": cannot create " + data_dir.string() + ": " + ec.message());

  lt::add_torrent_params atp;
  auto resume = cache_.resume_path(version);
  if (std::filesystem::exists(resume)) {
    lt::error_code rec;
    std::string bytes = read_file(resume);
    atp = lt::read_resume_data({bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())}, rec);
    if (rec) {
      spdlog::warn("release {}: ignoring unreadable resume data {} ({}): pieces will be rechecked", version,
                   resume.string(), rec.message());
      atp = lt::add_torrent_params{};
    }
  }
  atp.ti = std::make_shared<lt::torrent_info>(*info);
  atp.save_path = data_dir.string();
  atp.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused | lt::torrent_flags::seed_mode);
  // Trust the resume data's piece list without libtorrent's file size/mtime check: that check
  // rejects every release holding a symlink (it compares the link's target size) and falls back to
  // re-hashing the whole cache. Our own gate re-hashes each piece before serving it and rechecks a
  // release whose cache turns out damaged.
  atp.flags |= lt::torrent_flags::update_subscribe | lt::torrent_flags::no_verify_files;
  auto local = link_local_copies(cache_, version, *info, atp.have_pieces);
  if (!local.pieces.empty()) {
    if (atp.have_pieces.size() < info->num_pieces()) atp.have_pieces.resize(info->num_pieces(), false);
    for (auto p : local.pieces) atp.have_pieces.set_bit(p);
  }
  std::int64_t from_local = local.bytes;
  if (auto recorded = cache_.from_local_path(version); std::filesystem::exists(recorded))
    from_local += std::atoll(read_file(recorded).c_str());
  if (local.files > 0) {
    write_file_atomically(cache_.from_local_path(version), std::to_string(from_local));
    spdlog::info("release {}: {} files ({} bytes) taken from other cached releases, not the network", version,
                 local.files, local.bytes);
  }
  const bool lazy = options_.fetch == FetchMode::lazy;
  if (lazy) atp.piece_priorities.assign(static_cast<std::size_t>(info->num_pieces()), lt::dont_download);
  else atp.piece_priorities.clear();
  // The hot set's pieces: wanted from the start in lazy mode, first in background mode (the demand
  // policy keeps them first after every hold).
  std::vector<bool> hot_pieces = pieces_of(info->files(), hot);
  int num_hot = static_cast<int>(std::count(hot_pieces.begin(), hot_pieces.end(), true));
  if (num_hot > 0) {
    atp.piece_priorities.resize(static_cast<std::size_t>(info->num_pieces()), lt::default_priority);
    for (std::size_t p = 0; p < hot_pieces.size(); ++p)
      if (hot_pieces[p]) atp.piece_priorities[p] = lazy ? lt::default_priority : lt::top_priority;
  }
  atp.file_priorities.clear();  // file priority 0 would send pieces to a .parts file: never used

  std::shared_ptr<Release> release;
  {
    std::lock_guard lock(releases_mutex_);
    lt::error_code add_error;
    auto handle = session_.add_torrent(std::move(atp), add_error);
    if (add_error) throw UserError("release " + version + ": cannot join its swarm: " + add_error.message());
    release = std::make_shared<Release>(version, info, data_dir, handle);
    release->bytes_from_local_ = from_local;
    release->hot_pieces_.assign(hot_pieces.begin(), hot_pieces.end());
    release->num_hot_ = num_hot;
    release->linked_.assign(static_cast<std::size_t>(info->num_pieces()), false);
    for (auto p : local.pieces) release->linked_[static_cast<std::size_t>(static_cast<int>(p))] = true;
    releases_[handle] = release;
  }
  open_verified_copies(*release, local);
  demand_.add(release, !lazy, std::move(hot_pieces));
  spdlog::info("release {}: joined swarm ({} files, {} pieces of {} KiB, fetch {})", version, info->num_files(),
               info->num_pieces(), info->piece_length() / 1024, lazy ? "lazy" : "background");
  if (num_hot > 0) spdlog::info("release {}: fetching the {} pieces of its hot set first", version, num_hot);
  return release;
}

// A linked file whose donor is joined here with every piece of it verified by the donor's gate is
// readable at once: the same bytes in the same inode, already re-hashed. The others wait for
// their first-read check like any piece from disk.
void Engine::open_verified_copies(Release& release, const LocalCopies& local) {
  for (const auto& link : local.linked) {
    auto donor = find(link.donor);
    if (!donor) continue;
    const auto& donor_files = donor->info().files();
    auto from = pieces_for(donor_files, link.donor_file, 0, donor_files.file_size(link.donor_file));
    bool verified = true;
    for (int p = from.first; p <= from.last && verified; ++p)
      verified = donor->gate().state(p) == PieceGate::State::readable;
    if (!verified) continue;
    const auto& files = release.info().files();
    auto to = pieces_for(files, link.file, 0, files.file_size(link.file));
    for (int p = to.first; p <= to.last; ++p) release.gate().mark_readable(p);
  }
}

std::shared_ptr<Release> Engine::find(const std::string& version) const {
  std::lock_guard lock(releases_mutex_);
  for (const auto& [handle, release] : releases_)
    if (release->version() == version) return release;
  return nullptr;
}

std::shared_ptr<Release> Engine::find(const lt::torrent_handle& handle) const {
  std::lock_guard lock(releases_mutex_);
  auto it = releases_.find(handle);
  return it == releases_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Release>> Engine::releases() const {
  std::lock_guard lock(releases_mutex_);
  std::vector<std::shared_ptr<Release>> out;
  out.reserve(releases_.size());
  for (const auto& [handle, release] : releases_) out.push_back(release);
  return out;
}

void Engine::read(const std::shared_ptr<Release>& release, int file, std::int64_t offset, std::int64_t length,
                  std::int64_t ahead_offset, std::int64_t ahead_length, ReadDone done) {
  const auto& files = release->info().files();
  auto need = pieces_for(files, lt::file_index_t(file), offset, length);
  auto prefetch = pieces_for(files, lt::file_index_t(file), ahead_offset, ahead_length);
  release->note_read(need.first, need.last);
  auto& gate = release->gate();
  std::vector<int> ahead;  // readahead pieces asked for the first time
  for (int p = prefetch.first; p <= prefetch.last; ++p)
    if (gate.claim_prefetch(p)) ahead.push_back(p);
  auto started = Clock::now();
  auto deadline = options_.read_timeout.count() > 0 ? started + options_.read_timeout : Clock::time_point::max();
  auto completion = [release, file, need, started, done = std::move(done)](int error, bool waited) {
    if (waited) {
      auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      release->waits().record(took);
      spdlog::trace("release {}: read of pieces {}-{} waited {:.1f} ms", release->version(), need.first, need.last,
                    took.count() / 1000.0);
    }
    if (error) return done(error, nullptr);
    auto fd = release->cache_file(lt::file_index_t(file));
    if (!fd) return done(EIO, nullptr);
    done(0, std::move(fd));
  };
  auto plan = gate.wait(need.first, need.last, deadline, std::move(completion));
  if (!plan.complete && release->storage_trouble_) {  // the pieces could not be stored: fail now, not hang
    gate.cancel_all(EIO);
    return;
  }
  demand_.demand(*release, plan.complete ? std::vector<int>{} : plan.missing, ahead, started);
  for (int p : plan.unverified) verifier_.enqueue(release, p, true);
}

std::vector<FileRange> Engine::read_trace(const Release& release) {
  return file_ranges_of(release.info().files(), release.read_order());
}

void Engine::fetch_all(const std::shared_ptr<Release>& release) { demand_.fetch_all(*release); }

void Engine::set_download_limit(int bytes_per_second) {
  lt::settings_pack pack;
  pack.set_int(lt::settings_pack::download_rate_limit, bytes_per_second);
  session_.apply_settings(std::move(pack));
}

void Engine::remove(const std::shared_ptr<Release>& release) {
  {
    std::lock_guard lock(releases_mutex_);
    releases_.erase(release->handle());
  }
  demand_.remove(*release);
  release->gate().cancel_all(EIO);
  session_.remove_torrent(release->handle(), lt::session::delete_files);
  // Removal is asynchronous; wait (bounded) so the files are closed before the directory goes.
  for (int i = 0; i < 100 && release->handle().is_valid(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::error_code ec;
  auto dir = cache_.release_dir(release->version());
  std::filesystem::remove_all(dir, ec);
  if (ec) spdlog::warn("release {}: cannot remove {}: {}", release->version(), dir.string(), ec.message());
  else spdlog::info("release {}: removed from the cache", release->version());
}

std::vector<ReleaseStatus> Engine::status() const {
  std::vector<ReleaseStatus> list;
  {
    std::lock_guard lock(status_mutex_);
    list = status_;
  }
  for (auto& s : list)
    if (auto release = find(s.version)) refresh_progress(s, *release);
  // Releases joined since the snapshot (taken every second) are taken now: a prefetch that saw its
  // release land must find it in the status that follows.
  for (auto& release : releases()) {
    bool listed = std::any_of(list.begin(), list.end(), [&](const auto& s) { return s.version == release->version(); });
    if (!listed)
      if (auto s = status(release->version())) list.push_back(std::move(*s));
  }
  return list;
}

std::optional<ReleaseStatus> Engine::status(const std::string& version) const {
  auto release = find(version);
  if (!release) return std::nullopt;
  try {
    return status_of(*release, release->handle().status());
  } catch (const lt::system_error&) {
    return std::nullopt;  // evicted meanwhile
  }
}

void Engine::mark_downloaded_pieces(const std::shared_ptr<Release>& release,
                                    const lt::typed_bitfield<lt::piece_index_t>& have) {
  for (auto p : have.range()) {
    bool urgent = false;
    if (have[p] && release->gate().mark_downloaded(static_cast<int>(p), &urgent))
      verifier_.enqueue(release, static_cast<int>(p), urgent);
  }
}

// A damaged cache (a piece libtorrent has whose bytes never match) triggers a full recheck, which
// reads the whole release: at most this often per release. Damaged pieces found after a recheck
// started wait for the next one, so keep this short.
void Engine::request_recheck(Release& release) {
  constexpr auto kRecheckInterval = std::chrono::seconds(15);
  auto now = Clock::now();
  auto last = release.last_recheck_.load();
  if (now - Clock::time_point(Clock::duration(last)) < kRecheckInterval) return;
  if (!release.last_recheck_.compare_exchange_strong(last, now.time_since_epoch().count())) return;
  if (!release.handle().is_valid()) return;  // evicted meanwhile: nothing left to recheck
  spdlog::warn("release {}: rechecking the whole cache to find and fetch again the damaged pieces", release.version());
  try {
    release.handle().force_recheck();
  } catch (const lt::system_error& e) {
    spdlog::debug("release {}: recheck not started: {}", release.version(), e.what());
  }
}

void Engine::save_resume_data(bool wait) {
  for (auto& release : releases()) {
    // Counted once asked: a release removed meanwhile (libtorrent throws) sends no alert to wait for.
    try {
      release->handle().save_resume_data(lt::torrent_handle::only_if_modified);
      ++resume_saves_pending_;
    } catch (const lt::system_error&) {
    }
  }
  if (!wait) return;
  // save_resume_data answers asynchronously, one alert per torrent: wait for them (bounded) before
  // the session goes away, or a restart would download verified pieces again.
  auto until = Clock::now() + std::chrono::seconds(10);
  while (resume_saves_pending_ > 0 && Clock::now() < until) {
    session_.wait_for_alert(std::chrono::milliseconds(100));
    handle_alerts();
  }
}

void Engine::checkpoint() {
  save_resume_data(false);
  auto until = Clock::now() + std::chrono::seconds(10);
  while (resume_saves_pending_ > 0 && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void Engine::stop() {
  if (stopping_.exchange(true)) return;
  if (alert_thread_.joinable()) alert_thread_.join();
  verifier_.stop();
  save_resume_data(true);
  for (auto& release : releases()) release->gate().cancel_all(EIO);
}

}  // namespace rookery::swarm
