#define FUSE_USE_VERSION 314
#include "rookery/daemon/mount_daemon.hpp"

#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtorrent/version.hpp>
#include <cerrno>
#include <condition_variable>
#include <stop_token>
#include <cstring>
#include <functional>
#include <malloc.h>
#include <mutex>
#include <optional>
#include <spdlog/spdlog.h>
#include <thread>

#include "rookery/catalog/admission.hpp"
#include "rookery/catalog/catalog.hpp"
#include "rookery/catalog/catalog_watch.hpp"
#include "rookery/daemon/daemon.hpp"
#include "rookery/daemon/server_status.hpp"
#include "rookery/daemon/swarm_release_source.hpp"
#include "rookery/daemon/systemd_fd_store.hpp"
#include "rookery/common/error.hpp"
#include "rookery/fs/superblock.hpp"
#include "rookery/fuse/connection.hpp"
#include "rookery/fuse/fuse_adapter.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/engine.hpp"

namespace rookery::daemon {
namespace {

// What the serving process does when it is stopped with the mount still there.
enum class OnStop {
  leave_to_holder,  // the supervisor unmounts, or starts a successor for the reads still waiting
  unmount,          // systemd stops the unit: the process that serves unmounts
};

// The serving process: everything but the holding of the connection. `serving` is called once
// requests are answered.
int serve(const MountDaemonOptions& options, int fuse_fd, int state_fd, const std::function<void()>& serving,
          OnStop on_stop) {
  // FUSE replies and libtorrent buffers of a megabyte or so are allocated on many threads;
  // glibc would keep them in per-thread arenas (raising its mmap threshold as it goes), and the
  // daemon's resident memory would grow with its thread count. Fixed threshold, few arenas.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 4);
  auto state = fuse::TakeoverState::attach(state_fd);
  store::CacheDir cache(options.cache_dir);
  fs::Superblock superblock(cache.superblock_path());
  catalog::Catalog catalog(options.catalog_url);
  catalog::Admission admission(catalog, cache, {.trusted_key = options.trusted_key});
  catalog::CatalogWatch catalog_watch(admission, options.catalog_watch);
  swarm::Engine engine(cache, options.engine);
  SwarmReleaseSource source(admission, engine, cache);
  auto filesystem_options = options.filesystem;
  filesystem_options.root_xattrs[kCacheXattr] = std::filesystem::absolute(options.cache_dir).lexically_normal().string();
  fs::Filesystem filesystem(source, superblock, filesystem_options, &state.open_handles());
  auto mountpoint = std::filesystem::absolute(options.mount.mountpoint).lexically_normal().string();
  fuse::FuseServer server(filesystem, options.mount, fuse_fd, state);
  ServingProcess serving_process{
      .status =
          [&state, &mountpoint, &catalog_watch] {
            return ServerStatus{.pid = ::getpid(),
                                .serving_since_ms = state.serving_since_ms(),
                                .takeovers = state.takeovers(),
                                .replayed_requests = state.replayed_total(),
                                .inflight_replay = fuse::to_string(state.replay()),
                                .version = rookery_version(),
                                .mountpoint = mountpoint,
                                .catalog_watch = catalog_watch.status()};
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
  Daemon daemon(cache, engine, filesystem, options.daemon, serving_process);
  int status = server.run([&] {
    if (server.takeover())
      spdlog::info("took the mount over (takeover {} of this mount): serving", state.takeovers());
    serving();
  });
  if (status == 0 && on_stop == OnStop::leave_to_holder && fuse::mount_device(options.mount.mountpoint)) {
    // Stopped while the mount stays: the reads still waiting are not this process's to fail.
    engine.checkpoint();
    std::_Exit(0);
  }
  engine.stop();  // answers reads still waiting before the FUSE session goes away
  return status;
}

// A child of the supervisor: tells it through the pipe when it serves.
int serve_for_supervisor(const MountDaemonOptions& options, const InheritedConnection& inherited) {
  return serve(
      options, inherited.fuse_fd, inherited.state_fd,
      [&] {
        char ready = 1;
        if (::write(inherited.ready_fd, &ready, 1) != 1) spdlog::warn("cannot tell the supervisor this process serves");
        ::close(inherited.ready_fd);
      },
      OnStop::leave_to_holder);
}

// The main process of a systemd unit: mounts and stores the connection the first time, takes over
// what the store passes after that; bounds its own takeover (the unit's restart then mounts anew).
int serve_held_by_systemd(const MountDaemonOptions& options) {
  SystemdFdStore store;
  const std::string& mountpoint = options.mount.mountpoint;
  std::optional<fuse::MountedConnection> connection;
  std::optional<fuse::TakeoverState> created;
  int state_fd;
  auto passed_fuse = store.passed("fuse"), passed_state = store.passed("state");
  if (passed_fuse && passed_state) {
    connection.emplace(options.mount, *passed_fuse);
    state_fd = *passed_state;
  } else {
    if (passed_fuse || passed_state) {
      // Half a holder (the store took one descriptor): the connection cannot be taken over. Closing
      // every copy of it aborts it, so the stale mount answers ENOTCONN and is detached below
      // instead of hanging the stat that checks it.
      spdlog::warn("{}: systemd passed only the {} descriptor: mounting anew (FileDescriptorStoreMax= must be >= 2)",
                   mountpoint, passed_fuse ? "fuse" : "state");
      store.remove("fuse");
      store.remove("state");
      for (auto fd : {passed_fuse, passed_state})
        if (fd) ::close(*fd);
    }
    // Created here, not by the unit (an ExecStartPre mkdir would stat a mount nobody serves).
    ::mkdir(mountpoint.c_str(), 0755);
    connection.emplace(options.mount);
    created.emplace(hold_new_connection(*connection, mountpoint, options.supervisor.replay));
    state_fd = created->fd();
    store.store("fuse", connection->fd());
    store.store("state", state_fd);
  }
  std::mutex mutex;
  std::condition_variable_any changed;
  bool serving = false;
  std::jthread bound([&](std::stop_token stop) {
    std::unique_lock lock(mutex);
    if (changed.wait_for(lock, stop, options.supervisor.takeover_timeout, [&] { return serving; }) ||
        stop.stop_requested())
      return;
    spdlog::error("mount {} aborted: this serving process (pid {}) did not answer requests within {} s of its start; "
                  "programs using the mount now get ENOTCONN (see the lines above for why)",
                  mountpoint, ::getpid(), options.supervisor.takeover_timeout.count());
    store.remove("fuse");
    store.remove("state");
    connection->abort();
    std::_Exit(1);
  });
  int status;
  try {
    int fuse_fd = ::dup(connection->fd());
    if (fuse_fd < 0) throw UserError(std::string("cannot duplicate the FUSE descriptor: ") + std::strerror(errno));
    int serve_state_fd = ::dup(state_fd);  // serve() owns its copy; the store and `created` keep theirs
    if (serve_state_fd < 0) throw UserError(std::string("cannot duplicate the takeover state: ") + std::strerror(errno));
    status = serve(
        options, fuse_fd, serve_state_fd,
        [&] {
          {
            std::lock_guard lock(mutex);
            serving = true;
          }
          changed.notify_all();
          if (created) spdlog::info("mounted at {}", mountpoint);
          store.notify("READY=1\nSTATUS=serving " + mountpoint);
        },
        OnStop::unmount);
  } catch (...) {
    // Like a crash: the mount stays for the restart systemd makes, unless this process made it.
    if (created) {
      store.remove("fuse");
      store.remove("state");
    } else {
      connection->leave_mounted();
    }
    throw;
  }
  bound.request_stop();
  bound.join();
  // Emptied first, so that a restart after this exit mounts anew instead of taking over a
  // connection that is gone.
  store.notify("STOPPING=1");
  store.remove("fuse");
  store.remove("state");
  connection->unmount();
  spdlog::info("unmounted {}", mountpoint);
  return status;
}

}  // namespace

int run_mount_daemon(const MountDaemonOptions& options) {
  if (auto inherited = inherited_connection()) return serve_for_supervisor(options, *inherited);
  if (options.holder == Holder::systemd) return serve_held_by_systemd(options);
  return run_supervisor(options.mount, options.supervisor);
}

std::string library_versions() {
  return std::string("libtorrent-rasterbar ") + lt::version() + ", libfuse " + fuse_pkgversion();
}

std::string rookery_version() { return "rookery " ROOKERY_VERSION; }

}  // namespace rookery::daemon
