// What the mount daemon reports about each joined release: one struct, produced by the engine once
// a second, rendered by status.json, the control socket, `rookery status` and the metrics file. The
// JSON field names below are the wire format (status.json and `status --json` are read by scripts);
// nothing outside this file spells them.
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rookery::swarm {

// joining: added, checking its cache, or still without any peer or verified piece (the catalog
//          fetch before it happens inside the first lookup and is never seen here);
// partial: fetching; landed: every piece verified, no peer; seeding: landed and serving peers;
// error:   the swarm or the cache disk failed (see `error`).
enum class ReleaseState { joining, partial, landed, seeding, error };
inline constexpr std::array kReleaseStates = {ReleaseState::joining, ReleaseState::partial, ReleaseState::landed,
                                       ReleaseState::seeding, ReleaseState::error};
std::string_view to_string(ReleaseState state);
std::optional<ReleaseState> parse_release_state(std::string_view name);

struct ReleaseStatus {
  std::string version;
  ReleaseState state = ReleaseState::joining;
  int pieces_verified = 0;    // readable: re-hashed from the cache file
  int pieces_downloaded = 0;  // passed libtorrent's hash check
  int pieces_total = 0;
  std::int64_t bytes_total = 0;     // payload (pad files excluded)
  std::int64_t bytes_verified = 0;
  std::int64_t bytes_downloaded_session = 0;  // payload since the daemon started
  std::int64_t bytes_from_local = 0;  // payload linked from other cached releases (same content)
  std::int64_t bytes_uploaded_session = 0;
  // Payload received that this host already had or was given twice (end game, a slow peer's
  // block asked of another): what the swarm's schedule wasted on this host's link.
  std::int64_t bytes_redundant_session = 0;
  int peers = 0;
  int download_rate = 0;  // payload bytes/s
  int upload_rate = 0;
  std::uint64_t reads_waited = 0;  // reads that had to wait for pieces
  double read_wait_p50_seconds = 0;
  double read_wait_p99_seconds = 0;
  int reads_waiting = 0;
  std::string error;  // empty unless state is error
};

void to_json(nlohmann::json& out, const ReleaseStatus& status);
// Throws UserError when a field is missing or has the wrong type (a daemon of another version).
void from_json(const nlohmann::json& in, ReleaseStatus& status);

}  // namespace rookery::swarm
