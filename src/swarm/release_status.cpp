#include "rookery/swarm/release_status.hpp"

#include <nlohmann/json.hpp>

#include "rookery/common/error.hpp"

namespace rookery::swarm {

std::string_view to_string(ReleaseState state) {
  switch (state) {
    case ReleaseState::joining: return "joining";
    case ReleaseState::partial: return "partial";
    case ReleaseState::landed: return "landed";
    case ReleaseState::seeding: return "seeding";
    case ReleaseState::error: return "error";
  }
  return "?";
}

std::optional<ReleaseState> parse_release_state(std::string_view name) {
  for (auto s : kReleaseStates)
    if (to_string(s) == name) return s;
  return std::nullopt;
}

void to_json(nlohmann::json& out, const ReleaseStatus& s) {
  out = {{"version", s.version},
         {"state", to_string(s.state)},
         {"pieces_verified", s.pieces_verified},
         {"pieces_downloaded", s.pieces_downloaded},
         {"pieces_total", s.pieces_total},
         {"bytes_total", s.bytes_total},
         {"bytes_verified", s.bytes_verified},
         {"bytes_downloaded_session", s.bytes_downloaded_session},
         {"bytes_from_local", s.bytes_from_local},
         {"bytes_uploaded_session", s.bytes_uploaded_session},
         {"bytes_redundant_session", s.bytes_redundant_session},
         {"peers", s.peers},
         {"download_rate", s.download_rate},
         {"upload_rate", s.upload_rate},
         {"reads_waited", s.reads_waited},
         {"read_wait_p50_seconds", s.read_wait_p50_seconds},
         {"read_wait_p99_seconds", s.read_wait_p99_seconds},
         {"reads_waiting", s.reads_waiting},
         {"error", s.error}};
}

void from_json(const nlohmann::json& in, ReleaseStatus& s) {
  try {
    in.at("version").get_to(s.version);
    auto state = parse_release_state(in.at("state").get<std::string>());
    if (!state) throw UserError("unknown state '" + in.at("state").get<std::string>() + "'");
    s.state = *state;
    in.at("pieces_verified").get_to(s.pieces_verified);
    in.at("pieces_downloaded").get_to(s.pieces_downloaded);
    in.at("pieces_total").get_to(s.pieces_total);
    in.at("bytes_total").get_to(s.bytes_total);
    in.at("bytes_verified").get_to(s.bytes_verified);
    in.at("bytes_downloaded_session").get_to(s.bytes_downloaded_session);
    s.bytes_from_local = in.value("bytes_from_local", std::int64_t{0});  // absent from older daemons
    in.at("bytes_uploaded_session").get_to(s.bytes_uploaded_session);
    s.bytes_redundant_session = in.value("bytes_redundant_session", std::int64_t{0});  // absent from older daemons
    in.at("peers").get_to(s.peers);
    in.at("download_rate").get_to(s.download_rate);
    in.at("upload_rate").get_to(s.upload_rate);
    in.at("reads_waited").get_to(s.reads_waited);
    in.at("read_wait_p50_seconds").get_to(s.read_wait_p50_seconds);
    in.at("read_wait_p99_seconds").get_to(s.read_wait_p99_seconds);
    in.at("reads_waiting").get_to(s.reads_waiting);
    in.at("error").get_to(s.error);
  } catch (const nlohmann::json::exception& e) {
    throw UserError(std::string("the mount daemon's status is not what this rookery reads (") + e.what() +
                    "): run the same rookery version as the daemon");
  }
}

}  // namespace rookery::swarm
