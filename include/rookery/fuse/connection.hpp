// A FUSE connection apart from the process that serves it. `MountedConnection` mounts (or
// recovers a stale mount at the same point) and owns the kernel connection's descriptor; it reads
// the INIT request the kernel sends first, which a serving process then answers (fuse_adapter.hpp).
// The holder of a mount (the supervisor, daemon/supervisor.hpp, or systemd's descriptor store for
// the serving process it restarts, daemon/systemd_fd_store.hpp) keeps this object for the mount's
// whole life, so serving processes can die and be replaced without the kernel noticing.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "rookery/fuse/mount_options.hpp"

struct fuse_session;

namespace rookery::fuse {

class MountedConnection {
 public:
  // Mounts read-only at options.mountpoint. Throws UserError with one line.
  explicit MountedConnection(const MountOptions& options);
  // A connection mounted earlier at options.mountpoint whose descriptor this process was handed
  // (by systemd's store); owns `fd` from now on.
  MountedConnection(const MountOptions& options, int fd);
  ~MountedConnection();
  MountedConnection(const MountedConnection&) = delete;
  MountedConnection& operator=(const MountedConnection&) = delete;

  int fd() const;
  // Blocks for the kernel's first request, which must be INIT; returns its raw bytes. Throws
  // UserError when the connection sends anything else (it is not new, or not FUSE).
  std::vector<char> read_init_request();
  // True when the kernel offered FUSE_NOTIFY_RESEND in this INIT (kernels >= 6.9).
  static bool offers_resend(const std::vector<char>& init_request);
  void unmount();
  // The mount outlives this object (a successor takes it over).
  void leave_mounted() { mounted_ = false; }
  // Gives up a mount that cannot be served: aborts the connection (every waiting and future request
  // fails with ENOTCONN instead of hanging) and detaches the mount point.
  void abort();

 private:
  std::string mountpoint_;
  fuse_session* session_ = nullptr;  // null for an adopted connection
  int adopted_fd_ = -1;
  bool mounted_ = false;
};

// The device number of the FUSE mount at `mountpoint`, from /proc/self/mountinfo (no stat(), which
// would wait for a serving process).
std::optional<dev_t> mount_device(const std::string& mountpoint);

}  // namespace rookery::fuse
