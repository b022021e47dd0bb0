// systemd as the holder of a mount (`rookery mount --holder systemd`, the packaged unit). The
// service's main process is the serving process itself; systemd's file descriptor store keeps the
// connection's /dev/fuse descriptor and the takeover state while that process dies and is started
// again (Restart=always), and hands both to the next start, which takes the connection over as a
// supervisor's child would (fuse_adapter.hpp).
//
// Only systemd's documented wire protocol is spoken (sd_notify(3), sd_listen_fds(3)), directly:
// datagrams to $NOTIFY_SOCKET ("FDSTORE=1", "FDNAME=", the descriptors as SCM_RIGHTS; "READY=1";
// "FDSTOREREMOVE=1"), and the descriptors passed back from 3 on, named by $LISTEN_FDNAMES, for
// the process $LISTEN_PID names. No libsystemd, so the binary runs the same without systemd.
//
// What systemd decides (not rookery): the store survives crashes and restarts of the unit, and is
// emptied when the unit stops or fails (a crash loop hitting its start limit). Emptied, the last
// descriptor of the connection closes and the kernel aborts it: callers get ENOTCONN, not a hang.
#pragma once
#include <map>
#include <optional>
#include <string>

namespace rookery::daemon {

class SystemdFdStore {
 public:
  // Takes the descriptors systemd passed to this process (and clears the LISTEN_ variables, so
  // children do not see them). Throws UserError when not run by systemd ($NOTIFY_SOCKET unset).
  SystemdFdStore();

  // A descriptor passed under `name` (it stays open; closed on exec).
  std::optional<int> passed(const std::string& name) const;
  // Puts a duplicate of `fd` into the store under `name`; throws UserError when the message cannot
  // be sent. systemd drops it silently (in its own log) when the unit's FileDescriptorStoreMax= is
  // too small: then a restart finds nothing to take over and mounts anew, as without a holder.
  void store(const std::string& name, int fd);
  // Removes every descriptor stored under `name` (best effort: logged when it fails).
  void remove(const std::string& name);
  // Sends a state line such as "READY=1" (best effort).
  void notify(const std::string& state);

 private:
  bool send(const std::string& state, int fd);

  std::string socket_path_;  // "\0..." for an abstract socket
  std::map<std::string, int> passed_;
};

}  // namespace rookery::daemon
