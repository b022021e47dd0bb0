// The thin FUSE adapter: libfuse3 low-level API, multithreaded loop, read-only. Each callback turns
// a kernel request into a call on fs::Filesystem and its answer into the matching reply; no
// filesystem decisions are made here. Reads are answered asynchronously: a read of pieces not yet
// downloaded parks in the swarm engine and is replied to from whichever thread opens its pieces,
// so waiting reads never hold FUSE threads.
#pragma once
#include <condition_variable>
#include <mutex>
#include <string>

#include "rookery/fs/filesystem.hpp"

struct fuse_session;

namespace rookery::fuse {

struct MountOptions {
  std::string mountpoint;
  bool allow_other = false;  // let other users see the mount (needs user_allow_other for non-root)
  bool debug = false;        // libfuse's own request trace
  // Kernel readahead for the mount, in KiB (0 keeps the kernel's default of 128 KiB), once every
  // joined release has landed. Measured on a landed 1 GiB file: 128 KiB reads it cold at 0.93x the
  // cache file's speed, 4 MiB at 1.3x, and warm reads also gain (larger page-cache folios).
  unsigned readahead_kb = 4096;
  // ... and while any joined release is partial. Readahead of missing pieces costs link time
  // that reads are waiting for: in the lab (lazy start, 1 GiB release, 200 Mbit/s) 4 MiB took 10.1 s,
  // 256 KiB 4.8 s, 128 KiB 3.5 s (256 KiB pieces); in a fleet-wide lazy start (16 hosts reading
  // 1/8 of every file) 256 KiB made each host fetch 3.6x what it read, 128 KiB 2.4x (5.4 s -> 3.1 s).
  // Files keep the value in force when they were opened (the kernel copies it).
  unsigned partial_readahead_kb = 128;
};

class FuseMount {
 public:
  // Mounts (recovering a stale mount left by a killed daemon at the same point). Throws UserError.
  FuseMount(fs::Filesystem& filesystem, MountOptions options);
  ~FuseMount();
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

  // Serves requests until unmounted or SIGINT/SIGTERM/SIGHUP; then unmounts.
  void run();

 private:
  // Keeps the kernel readahead at partial_readahead_kb while a release is partial, readahead_kb after.
  void tune_readahead();
  void update_readahead();

  fs::Filesystem& filesystem_;
  MountOptions options_;
  fuse_session* session_ = nullptr;
  std::mutex readahead_mutex_;
  std::condition_variable readahead_cv_;
  bool stopping_ = false;
  std::string readahead_path_;  // the mount's /sys/class/bdi/*/read_ahead_kb, once INIT is done
  unsigned readahead_applied_ = 0;
};

}  // namespace rookery::fuse
