#define FUSE_USE_VERSION 314
#include "rookery/daemon/mount_daemon.hpp"

#include <fuse_lowlevel.h>

#include <libtorrent/version.hpp>
#include <malloc.h>

#include "rookery/catalog/admission.hpp"
#include "rookery/catalog/catalog.hpp"
#include "rookery/daemon/daemon.hpp"
#include "rookery/daemon/swarm_release_source.hpp"
#include "rookery/fs/superblock.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/engine.hpp"

namespace rookery::daemon {

void run_mount_daemon(const MountDaemonOptions& options) {
  // FUSE replies and libtorrent buffers of a megabyte or so are allocated on many threads;
  // glibc would keep them in per-thread arenas (raising its mmap threshold as it goes), and the
  // daemon's resident memory would grow with its thread count. Fixed threshold, few arenas.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 4);
  store::CacheDir cache(options.cache_dir);
  fs::Superblock superblock(cache.superblock_path());
  catalog::Catalog catalog(options.catalog_url);
  catalog::Admission admission(catalog, cache, {.trusted_key = options.trusted_key});
  swarm::Engine engine(cache, options.engine);
  SwarmReleaseSource source(admission, engine, cache);
  fs::Filesystem filesystem(source, superblock, options.filesystem);
  fuse::FuseMount mount(filesystem, options.mount);
  Daemon daemon(cache, engine, filesystem, options.daemon);
  mount.run();
  engine.stop();  // answers reads still waiting before the FUSE session goes away
}

std::string library_versions() {
  return std::string("libtorrent-rasterbar ") + lt::version() + ", libfuse " + fuse_pkgversion();
}

}  // namespace rookery::daemon
