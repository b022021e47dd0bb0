// The process serving a mount, as `rookery status` and the metrics show it: which process, since
// when, how many times the mount was taken over by a new serving process (fuse/takeover_state.hpp),
// and how its catalog watch fares (catalog/catalog_watch.hpp).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "rookery/catalog/catalog_watch.hpp"

namespace rookery::daemon {

// The extended attribute of the mount's root that names the daemon's cache directory (the other
// half: the status names the mount point), so an operator command given either finds both.
constexpr const char* kCacheXattr = "user.rookery.cache";

struct ServerStatus {
  std::int64_t pid = 0;
  std::int64_t serving_since_ms = 0;   // Unix time
  std::uint64_t takeovers = 0;         // of this mount, since it was mounted
  std::uint64_t replayed_requests = 0; // answered by a successor for a process that died
  std::string inflight_replay;         // "journal" or "resend"
  std::string version;                 // "rookery 0.1.0"
  std::string mountpoint;              // absolute
  catalog::WatchStatus catalog_watch;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ServerStatus, pid, serving_since_ms, takeovers, replayed_requests,
                                                inflight_replay, version, mountpoint, catalog_watch)

}  // namespace rookery::daemon
