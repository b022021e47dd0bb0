// `rookery mount`: the mount daemon assembled from its modules. The holder mounts and keeps the
// connection: the supervisor (supervisor.hpp), a process of its own that starts the serving process,
// or systemd's descriptor store (systemd_fd_store.hpp), whose unit runs the serving process itself.
// The cache directory (one daemon per cache) holds the superblock, the torrents and the pieces;
// the catalog's admission and the swarm engine make the filesystem's release source; the FUSE
// adapter serves the filesystem; the daemon side adds the control socket, metrics and garbage
// collection. Everything here is free of libtorrent types, so the command line needs none of its
// headers.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "rookery/catalog/catalog_watch.hpp"
#include "rookery/fs/filesystem.hpp"
#include "rookery/daemon/supervisor.hpp"
#include "rookery/fuse/mount_options.hpp"
#include "rookery/swarm/options.hpp"

namespace rookery::daemon {

struct DaemonOptions {
  std::filesystem::path metrics_file;  // written atomically every few seconds when set
  std::uint64_t cache_max_bytes = 0;   // 0: no garbage collection
};

// Who keeps the connection while serving processes come and go.
enum class Holder { supervisor, systemd };

struct MountDaemonOptions {
  std::string catalog_url;
  std::filesystem::path cache_dir;
  // When set, a release joins only with a valid Ed25519 signature by this key (else EACCES).
  std::filesystem::path trusted_key;
  // The newest releases' metadata fetched ahead of their first lookup (catalog/catalog_watch.hpp).
  catalog::WatchOptions catalog_watch;
  // upload_slots 4: a host serving 4 peers at a time relays each piece sooner than one serving
  // everyone (lab, serve-unique origin: N=16 at 20 Mbit/s all 14.1 s, 4 slots 11.8-12.1 s; 2-3
  // slots were slower). 8 would make a large fan-out even (64 hosts, 16 MiB: 27.0 s against 29.2 s,
  // a straggler in 1 of 7 runs against 7 of 10), but a piece split 8 ways takes twice as long per
  // hop, and deploys of few pieces lost: a next-release deploy 1.68 s against 1.48 s (medians), a
  // lazy herd 24.1 s against 17.0 s. `--upload-slots 8` for fleet-wide fan-outs of whole releases.
  // whole_fetch_peers 16 (demand.hpp): fewer peers, fewer HAVEs per piece gained, and the CPU that
  // frees pays for publish's 64 KiB pieces. Fan-out of 16 MiB to 64 hosts, alternating: last host
  // 18.7-20.2 s with 16 peers against 19.2-20.1 s with 24, 20.5-21.3 s with 32, and 20.6-22.0 s for
  // 40 peers and 128 KiB pieces (BENCHMARKS.md, twenty-seventh session). With 128 KiB pieces 16 or
  // 24 peers were no faster than 40, which had taken 8% off the time against every peer
  // (twenty-fourth session). Kraken bounds a torrent's connections at 10 for the same reason.
  swarm::EngineOptions engine{.swarm = {.upload_slots = 4}, .whole_fetch_peers = 16};
  fs::FilesystemOptions filesystem;
  fuse::MountOptions mount;
  DaemonOptions daemon;
  SupervisorOptions supervisor;
  Holder holder = Holder::supervisor;
};

// Mounts and serves until unmounted or stopped by SIGINT/SIGTERM/SIGHUP; returns the exit status.
// Throws UserError.
int run_mount_daemon(const MountDaemonOptions& options);

// "libtorrent-rasterbar X, libfuse Y": the libraries this binary runs with, for bug reports.
std::string library_versions();
// "rookery X.Y.Z", from the build.
std::string rookery_version();

}  // namespace rookery::daemon
