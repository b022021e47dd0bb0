// Listing the cache's releases, planning which to evict, and the one collection routine.
#include "rookery/store/gc.hpp"

#include <sys/stat.h>

#include <algorithm>

namespace rookery::store {

std::vector<CachedRelease> list_cached_releases(const CacheDir& cache) {
  std::vector<CachedRelease> out;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator(cache.root() / "releases", ec)) {
    if (!dir.is_directory()) continue;
    CachedRelease r;
    r.version = dir.path().filename().string();
    struct stat st;
    if (::stat(cache.last_used_path(r.version).c_str(), &st) == 0 || ::stat(dir.path().c_str(), &st) == 0)
      r.last_used = st.st_mtime;
    for (auto it = std::filesystem::recursive_directory_iterator(dir.path(), ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) r.bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
    out.push_back(std::move(r));
  }
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
