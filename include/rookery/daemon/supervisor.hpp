// The holder of a mount without systemd (tests, containers, `--holder supervisor`, the default;
// systemd_fd_store.hpp for the packaged unit): `rookery mount` mounts, reads the
// kernel's INIT, creates the takeover state, and runs the serving process as its child (the same
// binary and command line, told by the environment which descriptors to serve). It does nothing
// else: no threads, no libtorrent, no requests, so it has nothing to crash on.
//
// When the serving process dies (a crash, kill -9) the supervisor starts a new one at once from the
// binary now on disk, which takes the connection over (fuse_adapter.hpp); a process that exits for
// an upgrade (`rookery upgrade`) is replaced the same way (if the binary on disk fails to serve,
// the supervisor's own image, the one that mounted, serves instead); so is one stopped on its own
// signal while the mount is still there. Programs using the mount see a pause, not an error. Restarts
// back off when serving processes keep dying young (within 1 s of serving); after five in a row,
// or when one does not take over within the takeover timeout, the mount is aborted with one line
// (callers then get ENOTCONN rather than hanging). Killing the supervisor itself ends the mount
// (its child is killed with it), as killing the whole daemon always did.
#pragma once
#include <chrono>
#include <optional>

#include "rookery/fuse/connection.hpp"
#include "rookery/fuse/mount_options.hpp"
#include "rookery/fuse/takeover_state.hpp"

namespace rookery::daemon {

enum class ReplayChoice { automatic, journal };

struct SupervisorOptions {
  // How a successor answers the requests a dead serving process had read: `automatic` uses the
  // kernel's FUSE_NOTIFY_RESEND where it has it (>= 6.9) and the journal elsewhere.
  ReplayChoice replay = ReplayChoice::automatic;
  // A serving process that is not answering requests this long after its start ends the mount.
  // Under systemd the serving process bounds itself (and the unit's TimeoutStartSec is longer).
  std::chrono::seconds takeover_timeout{30};
};

// Exit status of a serving process that hands the mount over to the binary on disk.
constexpr int kExitForUpgrade = 75;

// What the environment tells a serving process: the descriptors its holder passed on.
struct InheritedConnection {
  int fuse_fd, state_fd, ready_fd;
};
std::optional<InheritedConnection> inherited_connection();

// For either holder: reads the kernel's INIT from a connection just mounted and creates the takeover
// state that goes with it.
fuse::TakeoverState hold_new_connection(fuse::MountedConnection& connection, const std::string& mountpoint,
                                        ReplayChoice replay);

// Mounts, serves through child processes until unmounted or stopped; returns the exit status.
int run_supervisor(const fuse::MountOptions& mount, const SupervisorOptions& options);

}  // namespace rookery::daemon
