// Where the mount daemon an operator command talks to is: its mount point and its cache
// directory. Either is enough: the mount's root answers the attribute user.rookery.cache with the
// cache directory, and the daemon's status (CACHE/control.sock) names its mount point. With
// neither, the packaged defaults (/releases, /var/cache/rookery). A path that leads nowhere is one
// line naming what was looked for.
#pragma once
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

namespace rookery::cli {

inline constexpr const char* kDefaultMount = "/releases";
inline constexpr const char* kDefaultCache = "/var/cache/rookery";

struct DaemonLocation {
  std::string mount, cache;  // as given; empty when not

  // Adds --mount and --cache to an operator command.
  void add_options(CLI::App* command);
  // The cache directory: --cache, or the one the daemon at --mount names, or the default.
  std::filesystem::path cache_dir() const;
  // The mount point: --mount, or the one the daemon on --cache names, or the default.
  std::filesystem::path mount_point() const;
};

}  // namespace rookery::cli
