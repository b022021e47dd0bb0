#include "rookery/daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/deploy/links.hpp"
#include "rookery/store/gc.hpp"

namespace rookery::daemon {
namespace {

constexpr auto kHousekeepingInterval = std::chrono::seconds(2);

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? 'n' : c;
  }
  return out;
}

}  // namespace

std::string prometheus_text(const nlohmann::json& releases) {
  struct Metric {
    const char* name;
    const char* type;
    const char* help;
    const char* field;
  };
  static const Metric metrics[] = {
      {"rookery_release_bytes_total", "gauge", "Size of the release in bytes.", "bytes_total"},
      {"rookery_release_bytes_verified", "gauge", "Bytes of the release verified in the cache.", "bytes_verified"},
      {"rookery_release_pieces_total", "gauge", "Pieces in the release.", "pieces_total"},
      {"rookery_release_pieces_verified", "gauge", "Pieces verified in the cache and readable.", "pieces_verified"},
      {"rookery_release_peers", "gauge", "Connected peers.", "peers"},
      {"rookery_release_download_rate_bytes", "gauge", "Payload download rate, bytes per second.", "download_rate"},
      {"rookery_release_upload_rate_bytes", "gauge", "Payload upload rate, bytes per second.", "upload_rate"},
      {"rookery_release_downloaded_bytes_total", "counter", "Payload bytes downloaded since the daemon started.",
       "bytes_downloaded_session"},
      {"rookery_release_uploaded_bytes_total", "counter", "Payload bytes uploaded since the daemon started.",
       "bytes_uploaded_session"},
      {"rookery_release_reads_waited_total", "counter", "Reads that waited for pieces.", "reads_waited"},
      {"rookery_release_reads_waiting", "gauge", "Reads waiting for pieces now.", "reads_waiting"},
  };
  std::string out;
  for (const auto& m : metrics) {
    out += std::string("# HELP ") + m.name + " " + m.help + "\n# TYPE " + m.name + " " + m.type + "\n";
    for (const auto& r : releases) {
      out += std::string(m.name) + "{version=\"" + escape_label(r["version"].get<std::string>()) + "\"} " +
             r[m.field].dump() + "\n";
    }
  }
  out += "# HELP rookery_release_read_wait_seconds Wait of reads that waited for pieces.\n"
         "# TYPE rookery_release_read_wait_seconds gauge\n";
  for (const auto& r : releases) {
    auto v = escape_label(r["version"].get<std::string>());
    out += "rookery_release_read_wait_seconds{version=\"" + v + "\",quantile=\"0.5\"} " +
           r["read_wait_p50_seconds"].dump() + "\n";
    out += "rookery_release_read_wait_seconds{version=\"" + v + "\",quantile=\"0.99\"} " +
           r["read_wait_p99_seconds"].dump() + "\n";
  }
  out += "# HELP rookery_release_state Release state (1 for the current one).\n# TYPE rookery_release_state gauge\n";
  for (const auto& r : releases) {
    auto v = escape_label(r["version"].get<std::string>());
    for (const char* state : {"joining", "partial", "landed", "seeding", "error"}) {
      out += "rookery_release_state{version=\"" + v + "\",state=\"" + state + "\"} " +
             (r["state"] == state ? "1" : "0") + "\n";
    }
  }
  return out;
}

Daemon::Daemon(store::CacheDir& cache, swarm::Engine& engine, fs::Filesystem& filesystem, DaemonOptions options)
    : cache_(cache),
      engine_(engine),
      filesystem_(filesystem),
      options_(std::move(options)),
      thread_([this] { housekeeping(); }),
      server_(cache.control_socket_path(), [this](const nlohmann::json& r) { return handle(r); }) {}

Daemon::~Daemon() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

nlohmann::json Daemon::handle(const nlohmann::json& request) {
  std::string command = request.value("command", "");
  if (command == "status") return {{"releases", engine_.status()}};
  if (command == "prefetch") {
    std::string version = request.value("version", "");
    auto release = filesystem_.join_version(version);
    if (!release.ok()) {
      throw UserError("cannot prefetch " + version + ": " +
                      (release.error() == ENOENT ? std::string("no such version in the catalog")
                                                 : std::strerror(release.error())));
    }
    engine_.fetch_all(*release);
    spdlog::info("release {}: prefetch requested: fetching every piece", version);
    return {{"ok", true}};
  }
  if (command == "gc") return collect_garbage(request.value("max_bytes", options_.cache_max_bytes));
  throw UserError("unknown control command '" + command + "'");
}

nlohmann::json Daemon::collect_garbage(std::uint64_t max_bytes) {
  std::lock_guard lock(gc_mutex_);
  auto cached = store::list_cached_releases(cache_);
  auto linked = deploy::linked_versions(cache_);
  auto victims = store::plan_gc(cached, max_bytes, [&](const std::string& v) {
    return linked.count(v) > 0 || filesystem_.open_files(v) > 0;
  });
  nlohmann::json removed = nlohmann::json::array();
  for (const auto& v : victims) {
    if (filesystem_.evict(v)) removed.push_back(v);  // a file may have been opened since planning
  }
  std::uint64_t bytes = 0;
  for (const auto& r : store::list_cached_releases(cache_)) bytes += r.bytes;
  if (!removed.empty()) spdlog::info("gc: removed {} releases, cache now {} bytes", removed.size(), bytes);
  return {{"removed", removed}, {"bytes", bytes}};
}

void Daemon::housekeeping() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, kHousekeepingInterval, [this] { return stopping_; })) {
    lock.unlock();
    try {
      if (!options_.metrics_file.empty())
        write_file_atomically(options_.metrics_file, prometheus_text(engine_.status()), 0644);
      if (options_.cache_max_bytes > 0) collect_garbage(options_.cache_max_bytes);
    } catch (const std::exception& e) {
      spdlog::warn("housekeeping: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace rookery::daemon
