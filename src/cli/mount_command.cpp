// `rookery mount`: its options, and run_mount, the wiring of the mount daemon (cache, catalog,
// swarm engine, filesystem, FUSE session, control daemon) that runs until the mount ends.
#include <malloc.h>

#include <chrono>
#include <memory>
#include <string>

#include "rookery/catalog/catalog.hpp"
#include "rookery/daemon/daemon.hpp"
#include "rookery/fs/filesystem.hpp"
#include "rookery/fuse/fuse_adapter.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/engine.hpp"
#include "subcommand.hpp"
#include "swarm_options.hpp"

namespace rookery::cli {
namespace {

// Everything the command line sets for `mount`, under the names run_mount uses.
struct MountArguments {
  std::string mountpoint, catalog_url, cache_dir, fetch = "background";
  swarm::EngineOptions engine_options;
  int read_timeout = 0;
  fuse::MountOptions mount_options;
  fs::FilesystemOptions filesystem_options;
  daemon::DaemonOptions daemon_options;
};

// Builds the daemon from the parsed options and serves the mount until it is unmounted.
int run_mount(const std::string& mountpoint, const std::string& catalog_url, const std::string& cache_dir,
              const std::string& fetch, swarm::EngineOptions engine_options, int read_timeout,
              fuse::MountOptions mount_options, const fs::FilesystemOptions& filesystem_options,
              const daemon::DaemonOptions& daemon_options) {
  // FUSE replies and libtorrent buffers of a megabyte or so are allocated on many threads;
  // glibc would keep them in per-thread arenas (raising its mmap threshold as it goes), and the
  // daemon's resident memory would grow with its thread count. Fixed threshold, few arenas.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 4);
  engine_options.fetch = fetch == "lazy" ? swarm::FetchMode::lazy : swarm::FetchMode::background;
  engine_options.read_timeout = std::chrono::seconds(read_timeout);
  mount_options.mountpoint = mountpoint;
  store::CacheDir cache(cache_dir);
  catalog::Catalog catalog(catalog_url);
  swarm::Engine engine(cache, engine_options);
  fs::Filesystem filesystem(catalog, engine, cache, filesystem_options);
  fuse::FuseMount mount(filesystem, mount_options);
  daemon::Daemon daemon(cache, engine, filesystem, daemon_options);
  mount.run();
  engine.stop();  // answers reads still waiting before the FUSE session goes away
  return 0;
}

}  // namespace

Subcommand add_mount_command(CLI::App& app) {
  auto args = std::make_shared<MountArguments>();
  auto& a = *args;
  auto* mount_cmd = app.add_subcommand("mount", "mount a catalog's releases read-only, fetching their pieces on demand");
  mount_cmd->add_option("mountpoint", a.mountpoint, "directory to mount on, e.g. /releases")->required();
  mount_cmd->add_option("--catalog", a.catalog_url, "repository URL: file:///srv/rookery/ or http://origin/rookery/")->required();
  mount_cmd->add_option("--cache", a.cache_dir, "cache directory for downloaded pieces (one daemon per cache)")->required();
  mount_cmd->add_option("--fetch", a.fetch,
                        "background: after on-demand pieces, fetch the rest (every host ends a full seed); "
                        "lazy: only what is read, plus readahead")
      ->check(CLI::IsMember({"background", "lazy"}))
      ->capture_default_str();
  mount_cmd->add_option("--read-timeout", a.read_timeout,
                        "seconds a read may wait for missing pieces before failing with EIO; 0 = wait as long as it takes")
      ->capture_default_str();
  mount_cmd->add_option("--trust", a.filesystem_options.trusted_key,
                        "Ed25519 public key: refuse (EACCES) releases without a valid signature by it");
  mount_cmd->add_flag("--allow-other", a.mount_options.allow_other, "let users other than the mounting one read the mount");
  mount_cmd->add_option("--readahead-kb", a.mount_options.readahead_kb,
                        "kernel readahead in KiB once every joined release has landed (0 = kernel default, 128)")
      ->capture_default_str();
  mount_cmd->add_option("--partial-readahead-kb", a.mount_options.partial_readahead_kb,
                        "kernel readahead in KiB while a joined release is partial: readahead of missing pieces "
                        "takes link time from waiting reads (0 = kernel default, 128)")
      ->capture_default_str();
  mount_cmd->add_flag("--fuse-debug", a.mount_options.debug, "print libfuse's request trace");
  mount_cmd->add_option("--metrics-file", a.daemon_options.metrics_file,
                        "write Prometheus metrics here every 2 s (atomically; for node_exporter's textfile collector)");
  mount_cmd->add_option("--cache-max-bytes", a.daemon_options.cache_max_bytes,
                        "keep the cache under this many bytes: evict least recently used releases (never open or "
                        "activated ones); 0 = no limit")
      ->capture_default_str();
  add_swarm_options(mount_cmd, a.engine_options.swarm);

  return {mount_cmd, [args] {
            const MountArguments& parsed = *args;
            return run_mount(parsed.mountpoint, parsed.catalog_url, parsed.cache_dir, parsed.fetch,
                             parsed.engine_options, parsed.read_timeout, parsed.mount_options,
                             parsed.filesystem_options, parsed.daemon_options);
          }};
}

}  // namespace rookery::cli
