#include "daemon_location.hpp"

#include <sys/xattr.h>

#include <cerrno>
#include <cstring>

#include "rookery/common/error.hpp"
#include "rookery/control/control.hpp"
#include "rookery/daemon/server_status.hpp"
#include "rookery/store/cache_dir.hpp"

namespace rookery::cli {

void DaemonLocation::add_options(CLI::App* command) {
  command->add_option("--mount", mount,
                      std::string("the mount daemon's mount point (default ") + kDefaultMount +
                          "; enough on its own: the daemon names its cache)");
  command->add_option("--cache", cache,
                      std::string("the mount daemon's --cache directory (default ") + kDefaultCache +
                          "; enough on its own: the daemon names its mount point)");
}

std::filesystem::path DaemonLocation::cache_dir() const {
  if (!cache.empty() || mount.empty()) return cache.empty() ? kDefaultCache : cache;
  char value[4096];
  ssize_t n = ::getxattr(mount.c_str(), daemon::kCacheXattr, value, sizeof value);
  if (n >= 0) return std::string(value, static_cast<std::size_t>(n));
  int error = errno;
  if (error == ENOENT) throw UserError("--mount " + mount + ": no such directory");
  if (error == ENOTCONN)
    throw UserError("--mount " + mount + ": the rookery mount there has no daemon serving it (ENOTCONN): pass --cache");
  throw UserError("--mount " + mount + " is not a rookery mount (looked for the attribute " + daemon::kCacheXattr +
                  " of its root: " + std::strerror(error) + "): pass the daemon's mount point, or --cache");
}

std::filesystem::path DaemonLocation::mount_point() const {
  if (!mount.empty() || cache.empty()) return mount.empty() ? kDefaultMount : mount;
  auto socket = store::CacheDir::unlocked(cache).control_socket_path();
  std::string found;
  try {
    found = control::request(socket, {{"command", "status"}})
                .value("server", nlohmann::json::object())
                .value("mountpoint", std::string());
  } catch (const UserError& e) {
    throw UserError(std::string(e.what()) + "; so the mount point is unknown: pass --mount");
  }
  if (found.empty())
    throw UserError("the mount daemon on " + socket.string() + " does not name its mount point (an older rookery): pass --mount");
  return found;
}

}  // namespace rookery::cli
