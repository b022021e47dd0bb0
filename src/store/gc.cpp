// Listing the cache's releases, planning which to evict, and the one collection routine.
#include "rookery/store/gc.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <utility>

namespace rookery::store {

// A file shared by several releases (hard links: cross-release dedup) counts once, for the holder
// evicted last in least-recently-used order: evicting the others frees none of it.
std::vector<CachedRelease> list_cached_releases(const CacheDir& cache) {
  std::vector<CachedRelease> out;
  struct Holder {
    std::uint64_t bytes = 0;
    std::size_t release = 0;  // index into out
  };
  std::map<std::pair<dev_t, ino_t>, Holder> files;
  auto later = [&out](std::size_t a, std::size_t b) {
    return out[a].last_used != out[b].last_used ? out[a].last_used > out[b].last_used : out[a].version > out[b].version;
  };
  std::vector<std::vector<std::pair<dev_t, ino_t>>> held;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator(cache.root() / "releases", ec)) {
    if (!dir.is_directory()) continue;
    CachedRelease r;
    r.version = dir.path().filename().string();
    struct stat st;
    if (::stat(cache.last_used_path(r.version).c_str(), &st) == 0 || ::stat(dir.path().c_str(), &st) == 0)
      r.last_used = st.st_mtime;
    out.push_back(std::move(r));
    held.emplace_back();
    for (auto it = std::filesystem::recursive_directory_iterator(dir.path(), ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      files.try_emplace({st.st_dev, st.st_ino}, Holder{static_cast<std::uint64_t>(st.st_blocks) * 512, out.size() - 1});
      held.back().push_back({st.st_dev, st.st_ino});
    }
  }
  for (std::size_t i = 0; i < held.size(); ++i)
    for (const auto& file : held[i]) {
      auto& holder = files.at(file);
      if (later(i, holder.release)) holder.release = i;
    }
  for (const auto& [file, holder] : files) out[holder.release].bytes += holder.bytes;
  return out;
}

std::vector<std::string> plan_gc(std::vector<CachedRelease> releases, std::uint64_t max_bytes,
                                 const std::function<bool(const std::string&)>& is_protected) {
  std::uint64_t total = 0;
  for (const auto& r : releases) total += r.bytes;
  std::sort(releases.begin(), releases.end(), [](const CachedRelease& a, const CachedRelease& b) {
    return a.last_used != b.last_used ? a.last_used < b.last_used : a.version < b.version;
  });
  std::vector<std::string> victims;
  for (const auto& r : releases) {
    if (total <= max_bytes) break;
    if (is_protected(r.version)) continue;
    victims.push_back(r.version);
    total -= r.bytes;
  }
  return victims;
}

GcResult collect_garbage(const CacheDir& cache, std::uint64_t max_bytes,
                         const std::function<bool(const std::string&)>& is_protected,
                         const std::function<bool(const std::string&)>& evict) {
  GcResult result;
  for (const auto& version : plan_gc(list_cached_releases(cache), max_bytes, is_protected)) {
    if (evict(version)) result.removed.push_back(version);
  }
  for (const auto& r : list_cached_releases(cache)) result.bytes += r.bytes;
  return result;
}

}  // namespace rookery::store
