#include "rookery/daemon/metrics.hpp"

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>

namespace rookery::daemon {
namespace {

using swarm::ReleaseStatus;

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? 'n' : c;
  }
  return out;
}

// Shortest text that reads back as the same value (JSON's number format is Prometheus's too).
template <class T>
std::string num(T v) {
  return nlohmann::json(v).dump();
}

struct Metric {
  const char* name;
  const char* type;
  const char* help;
  std::function<std::string(const ReleaseStatus&)> value;
};

}  // namespace

std::string prometheus_text(const std::vector<ReleaseStatus>& releases, const ServerStatus& server) {
  static const Metric metrics[] = {
      {"rookery_release_bytes_total", "gauge", "Size of the release in bytes.",
       [](const ReleaseStatus& r) { return num(r.bytes_total); }},
      {"rookery_release_bytes_verified", "gauge", "Bytes of the release verified in the cache.",
       [](const ReleaseStatus& r) { return num(r.bytes_verified); }},
      {"rookery_release_bytes_from_local", "gauge", "Bytes of the release taken from other cached releases.",
       [](const ReleaseStatus& r) { return num(r.bytes_from_local); }},
      {"rookery_release_pieces_total", "gauge", "Pieces in the release.",
       [](const ReleaseStatus& r) { return num(r.pieces_total); }},
      {"rookery_release_pieces_verified", "gauge", "Pieces verified in the cache and readable.",
       [](const ReleaseStatus& r) { return num(r.pieces_verified); }},
      {"rookery_release_peers", "gauge", "Connected peers.", [](const ReleaseStatus& r) { return num(r.peers); }},
      {"rookery_release_download_rate_bytes", "gauge", "Payload download rate, bytes per second.",
       [](const ReleaseStatus& r) { return num(r.download_rate); }},
      {"rookery_release_upload_rate_bytes", "gauge", "Payload upload rate, bytes per second.",
       [](const ReleaseStatus& r) { return num(r.upload_rate); }},
      {"rookery_release_downloaded_bytes_total", "counter", "Payload bytes downloaded since the daemon started.",
       [](const ReleaseStatus& r) { return num(r.bytes_downloaded_session); }},
      {"rookery_release_uploaded_bytes_total", "counter", "Payload bytes uploaded since the daemon started.",
       [](const ReleaseStatus& r) { return num(r.bytes_uploaded_session); }},
      {"rookery_release_redundant_bytes_total", "counter",
       "Payload bytes received twice or already held, since the daemon started.",
       [](const ReleaseStatus& r) { return num(r.bytes_redundant_session); }},
      {"rookery_release_reads_waited_total", "counter", "Reads that waited for pieces.",
       [](const ReleaseStatus& r) { return num(r.reads_waited); }},
      {"rookery_release_reads_waiting", "gauge", "Reads waiting for pieces now.",
       [](const ReleaseStatus& r) { return num(r.reads_waiting); }},
  };
  std::string out;
  auto label = [](const ReleaseStatus& r) { return "version=\"" + escape_label(r.version) + "\""; };
  for (const auto& m : metrics) {
    out += std::string("# HELP ") + m.name + " " + m.help + "\n# TYPE " + m.name + " " + m.type + "\n";
    for (const auto& r : releases) out += std::string(m.name) + "{" + label(r) + "} " + m.value(r) + "\n";
  }
  out += "# HELP rookery_release_read_wait_seconds Wait of reads that waited for pieces.\n"
         "# TYPE rookery_release_read_wait_seconds gauge\n";
  for (const auto& r : releases) {
    out += "rookery_release_read_wait_seconds{" + label(r) + ",quantile=\"0.5\"} " + num(r.read_wait_p50_seconds) + "\n";
    out += "rookery_release_read_wait_seconds{" + label(r) + ",quantile=\"0.99\"} " + num(r.read_wait_p99_seconds) + "\n";
  }
  out += "# HELP rookery_release_state Release state (1 for the current one).\n# TYPE rookery_release_state gauge\n";
  for (const auto& r : releases) {
    for (auto state : swarm::kReleaseStates) {
      out += "rookery_release_state{" + label(r) + ",state=\"" + std::string(swarm::to_string(state)) + "\"} " +
             (r.state == state ? "1" : "0") + "\n";
    }
  }
  out += "# HELP rookery_server_start_time_seconds When the process serving the mount began serving (Unix time).\n"
         "# TYPE rookery_server_start_time_seconds gauge\n"
         "rookery_server_start_time_seconds " + num(static_cast<double>(server.serving_since_ms) / 1000) + "\n";
  out += "# HELP rookery_takeovers_total Serving processes that took the mount over from a predecessor.\n"
         "# TYPE rookery_takeovers_total counter\n"
         "rookery_takeovers_total " + num(server.takeovers) + "\n";
  out += "# HELP rookery_replayed_requests_total Requests a successor answered for a serving process that died.\n"
         "# TYPE rookery_replayed_requests_total counter\n"
         "rookery_replayed_requests_total " + num(server.replayed_requests) + "\n";
  const auto& watch = server.catalog_watch;
  if (watch.interval_seconds > 0 && watch.rounds > 0) {
    // For alerts: a watch failing, or one whose last round is much older than its interval.
    out += "# HELP rookery_catalog_watch_last_round_time_seconds When the catalog watch last asked the catalog "
           "(Unix time).\n"
           "# TYPE rookery_catalog_watch_last_round_time_seconds gauge\n"
           "rookery_catalog_watch_last_round_time_seconds " +
           num(static_cast<double>(watch.last_round_ms) / 1000) + "\n";
    out += "# HELP rookery_catalog_watch_failing 1 when the catalog watch's last round failed (the log says why).\n"
           "# TYPE rookery_catalog_watch_failing gauge\n"
           "rookery_catalog_watch_failing " + std::string(watch.last_error.empty() ? "0" : "1") + "\n";
  }
  return out;
}

}  // namespace rookery::daemon
