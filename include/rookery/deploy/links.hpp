// Deploy links: `rookery activate` points a path such as /srv/myapp/current at MOUNT/<version>.
//
// The flip is atomic: a new symlink is made under a temporary name beside the link and renamed
// over it, so the path always resolves, to the old release or the new one, never to nothing. The
// previous target is kept beside the link (.<name>.rookery-previous) for `rollback`, and each link
// is registered in the cache (CACHE/links/) so garbage collection never deletes a release a link
// points at. Activations of one link are serialised with a lock file beside it; different links
// never share state, so they can flip concurrently.
#pragma once
#include <filesystem>
#include <set>
#include <string>

#include "rookery/store/cache_dir.hpp"

namespace rookery::deploy {

// Points `link` at `target` atomically; returns the previous target ("" if there was none).
std::string flip_link(const std::filesystem::path& link, const std::filesystem::path& target);

// Checks MOUNT/version is a release directory (this joins it), then flips `link` to it. Throws
// UserError without touching the link when the version cannot be used.
void activate(const std::filesystem::path& mountpoint, const std::string& version, const std::filesystem::path& link,
              const store::CacheDir& cache);

// Points `link` back at its previous target; returns that target. Throws UserError when there is none.
std::string rollback(const std::filesystem::path& link, const store::CacheDir& cache);

// Versions that registered links point at now (basename of each link's target).
std::set<std::string> linked_versions(const store::CacheDir& cache);

}  // namespace rookery::deploy
