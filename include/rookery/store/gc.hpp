// Cache garbage collection: which releases to delete so the cache fits a byte budget. Least
// recently used first (the mtime of each release's last-used stamp); never a protected release
// (one with open files, or the target of a deploy link). Sizes are what the releases occupy on
// disk (allocated blocks: lazily fetched cache files are sparse), each file once: a file shared by
// releases (cross-release dedup hard-links them) is counted for the one of them evicted last. The mount daemon and the offline
// `rookery gc` run the same routine, collect_garbage; only what protects and what evicts differ.
#pragma once
#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "rookery/store/cache_dir.hpp"

namespace rookery::store {

struct CachedRelease {
  std::string version;
  std::uint64_t bytes = 0;
  std::time_t last_used = 0;
};

std::vector<CachedRelease> list_cached_releases(const CacheDir& cache);

// Versions to delete, in order, to bring the total to at most max_bytes (as close as protection
// allows).
std::vector<std::string> plan_gc(std::vector<CachedRelease> releases, std::uint64_t max_bytes,
                                 const std::function<bool(const std::string&)>& is_protected);

struct GcResult {
  std::vector<std::string> removed;  // the versions evict removed, in the order it was called
  std::uint64_t bytes = 0;           // what the cache holds afterwards (every release, protected or not)
};

// Plans with plan_gc over the releases in `cache`, calls `evict` on each planned version in order,
// then measures the cache again. `evict` returns false when it removed nothing (a file was opened
// since planning, say); such a version is not in `removed`. Exceptions from the callbacks propagate.
GcResult collect_garbage(const CacheDir& cache, std::uint64_t max_bytes,
                         const std::function<bool(const std::string&)>& is_protected,
                         const std::function<bool(const std::string&)>& evict);

}  // namespace rookery::store
