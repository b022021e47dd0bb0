#include "rookery/swarm/local_copies.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <map>
#include <spdlog/spdlog.h>

#include "rookery/common/files.hpp"

namespace rookery::swarm {
namespace {

namespace fs = std::filesystem;
using Content = std::pair<lt::sha256_hash, std::int64_t>;  // v2 root, size

struct Donor {
  fs::path path;
  std::string version;
  lt::file_index_t file;
};

bool is_content_file(const lt::file_storage& files, lt::file_index_t f) {
  auto flags = files.file_flags(f);
  return !(flags & (lt::file_storage::flag_pad_file | lt::file_storage::flag_symlink)) && files.file_size(f) > 0 &&
         !files.root(f).is_all_zeros();
}

bool all_had(const lt::typed_bitfield<lt::piece_index_t>& have, lt::piece_index_t first, lt::piece_index_t last) {
  if (have.empty() || static_cast<int>(last) >= have.size()) return false;
  for (auto p = first; p <= last; ++p)
    if (!have.get_bit(p)) return false;
  return true;
}

std::pair<lt::piece_index_t, lt::piece_index_t> pieces_of(const lt::file_storage& files, lt::file_index_t f) {
  auto first = files.map_file(f, 0, 1).piece;
  auto last = files.map_file(f, files.file_size(f) - 1, 1).piece;
  return {first, last};
}

// Complete files of the other cached releases, by content: the path of one of them.
std::map<Content, Donor> donors(const store::CacheDir& cache, const std::string& version) {
  std::map<Content, Donor> found;
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(cache.root() / "releases", ec)) {
    std::string other = entry.path().filename().string();
    if (other == version || !fs::exists(cache.torrent_path(other)) || !fs::exists(cache.resume_path(other))) continue;
    try {
      lt::torrent_info info(cache.torrent_path(other).string());
      if (!info.info_hashes().has_v2()) continue;
      std::string bytes = read_file(cache.resume_path(other));
      lt::error_code rec;
      auto resume = lt::read_resume_data({bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())}, rec);
      if (rec) continue;
      const auto& files = info.files();
      for (auto f : files.file_range()) {
        if (!is_content_file(files, f)) continue;
        auto [first, last] = pieces_of(files, f);
        if (!all_had(resume.have_pieces, first, last)) continue;
        auto path = cache.data_dir(other) / files.file_path(f);
        struct stat st;
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != files.file_size(f)) continue;
        found.emplace(Content{files.root(f), files.file_size(f)}, Donor{path, other, f});
      }
    } catch (const std::exception& e) {
      spdlog::debug("release {}: cached release {} is no donor: {}", version, other, e.what());
    }
  }
  return found;
}

}  // namespace

LocalCopies link_local_copies(const store::CacheDir& cache, const std::string& version, const lt::torrent_info& info,
                              const lt::typed_bitfield<lt::piece_index_t>& have) {
  LocalCopies copies;
  if (!info.info_hashes().has_v2()) return copies;  // no roots: no dedup
  const auto& files = info.files();
  std::map<Content, Donor> available;
  bool scanned = false;
  for (auto f : files.file_range()) {
    if (!is_content_file(files, f)) continue;
    auto [first, last] = pieces_of(files, f);
    if (all_had(have, first, last)) continue;
    if (!scanned) {
      available = donors(cache, version);
      scanned = true;
    }
    auto donor = available.find(Content{files.root(f), files.file_size(f)});
    if (donor == available.end()) continue;
    auto target = cache.data_dir(version) / files.file_path(f);
    auto staged = target;
    staged += ".rookery-link";
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    ::unlink(staged.c_str());
    // Linked under a temporary name, then renamed over what a partial fetch may have left there.
    if (::link(donor->second.path.c_str(), staged.c_str()) != 0 || ::rename(staged.c_str(), target.c_str()) != 0) {
      spdlog::warn("release {}: cannot link {} from {}: {} (fetching it instead)", version, target.string(),
                   donor->second.path.string(), std::strerror(errno));
      ::unlink(staged.c_str());
      continue;
    }
    for (auto p = first; p <= last; ++p) copies.pieces.push_back(p);
    copies.linked.push_back({f, donor->second.version, donor->second.file});
    copies.bytes += files.file_size(f);
    ++copies.files;
  }
  return copies;
}

}  // namespace rookery::swarm
