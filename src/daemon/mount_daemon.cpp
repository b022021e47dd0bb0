#define FUSE_USE_VERSION 314
#include "rookery/daemon/mount_daemon.hpp"

#include <fuse_lowlevel.h>
#include <unistd.h>

#include <libtorrent/version.hpp>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <thread>

#include "rookery/catalog/admission.hpp"
#include "rookery/catalog/catalog.hpp"
#include "rookery/daemon/daemon.hpp"
#include "rookery/daemon/swarm_release_source.hpp"
#include "rookery/fs/superblock.hpp"
#include "rookery/fuse/connection.hpp"
#include "rookery/fuse/fuse_adapter.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/engine.hpp"

namespace rookery::daemon {
namespace {

// The serving process: everything but the holding of the connection (supervisor.hpp).
int serve(const MountDaemonOptions& options, const InheritedConnection& inherited) {
  // FUSE replies and libtorrent buffers of a megabyte or so are allocated on many threads;
  // glibc would keep them in per-thread arenas (raising its mmap threshold as it goes), and the
  // daemon's resident memory would grow with its thread count. Fixed threshold, few arenas.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 4);
  auto state = fuse::TakeoverState::attach(inherited.state_fd);
  store::CacheDir cache(options.cache_dir);
  fs::Superblock superblock(cache.superblock_path());
  catalog::Catalog catalog(options.catalog_url);
  catalog::Admission admission(catalog, cache, {.trusted_key = options.trusted_key});
  swarm::Engine engine(cache, options.engine);
  SwarmReleaseSource source(admission, engine, cache);
  fs::Filesystem filesystem(source, superblock, options.filesystem);
  fuse::FuseServer server(filesystem, options.mount, inherited.fuse_fd, state);
  ServingProcess serving{
      .status =
          [&state] {
            return ServerStatus{.pid = ::getpid(),
                                .serving_since_ms = state.serving_since_ms(),
                                .takeovers = state.takeovers(),
                                .replayed_requests = state.replayed_total(),
                                .inflight_replay = fuse::to_string(state.replay()),
                                .version = rookery_version()};
          },
      .upgrade =
          [&engine] {
            // Requests keep being answered meanwhile; those still unanswered at the exit are the
            // successor's, like after a crash, but no verified piece needs checking again.
            std::thread([&engine] {
              engine.checkpoint();
              spdlog::info("upgrade: serving process {} hands the mount over to the binary on disk", ::getpid());
              std::_Exit(kExitForUpgrade);
            }).detach();
          },
  };
  Daemon daemon(cache, engine, filesystem, options.daemon, serving);
  int status = server.run([&] {
    if (server.takeover())
      spdlog::info("took the mount over (takeover {} of this mount): serving", state.takeovers());
    char ready = 1;
    if (::write(inherited.ready_fd, &ready, 1) != 1) spdlog::warn("cannot tell the supervisor this process serves");
    ::close(inherited.ready_fd);
  });
  if (status == 0 && fuse::mount_device(options.mount.mountpoint)) {
    // Stopped while the mount stays: the supervisor unmounts it, or starts a successor that answers
    // the reads still waiting. Either way they are not this process's to fail.
    engine.checkpoint();
    std::_Exit(0);
  }
  engine.stop();  // answers reads still waiting before the FUSE session goes away
  return status;
}

}  // namespace

int run_mount_daemon(const MountDaemonOptions& options) {
  if (auto inherited = inherited_connection()) return serve(options, *inherited);
  return run_supervisor(options.mount, options.supervisor);
}

std::string library_versions() {
  return std::string("libtorrent-rasterbar ") + lt::version() + ", libfuse " + fuse_pkgversion();
}

std::string rookery_version() { return "rookery " ROOKERY_VERSION; }

}  // namespace rookery::daemon
