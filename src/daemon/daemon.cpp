#include "rookery/daemon/daemon.hpp"

#include <algorithm>
#include <cstring>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/daemon/metrics.hpp"
#include "rookery/daemon/swarm_release_source.hpp"
#include "rookery/deploy/links.hpp"
#include "rookery/store/gc.hpp"

namespace rookery::daemon {
namespace {

constexpr auto kHousekeepingInterval = std::chrono::seconds(2);

}  // namespace

Daemon::Daemon(store::CacheDir& cache, swarm::Engine& engine, fs::Filesystem& filesystem, DaemonOptions options,
               ServingProcess serving)
    : cache_(cache),
      engine_(engine),
      filesystem_(filesystem),
      options_(std::move(options)),
      serving_(std::move(serving)),
      thread_([this] { housekeeping(); }),
      server_(cache.control_socket_path(), [this](const nlohmann::json& r, control::Server::Clock::time_point since) { return handle(r, since); }) {
  engine_.set_progress_listener([this] { server_.recheck(); });  // a wait for a landing is answered at once
}

Daemon::~Daemon() {
  engine_.set_progress_listener({});  // before server_ goes
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<nlohmann::json> Daemon::handle(const nlohmann::json& request, control::Server::Clock::time_point since) {
  std::string command = request.value("command", "");
  if (command == "status") return nlohmann::json{{"releases", engine_.status()}, {"server", serving_.status()}};
  if (command == "upgrade") {
    serving_.upgrade();
    return nlohmann::json{{"pid", serving_.status().pid}};
  }
  if (command == "wait") {
    std::string version = request.value("version", "");
    auto release = engine_.find(version);
    if (!release) throw UserError("cannot wait for " + version + ": this host has not joined it");
    auto limit = std::chrono::milliseconds(std::clamp(request.value("timeout_ms", 1000), 0, 10000));
    if (!release->landed() && control::Server::Clock::now() - since < limit) return std::nullopt;
    if (auto status = engine_.status(version)) return nlohmann::json{{"release", *status}};
    throw UserError("cannot wait for " + version + ": it was evicted meanwhile");
  }
  if (command == "prefetch") {
    std::string version = request.value("version", "");
    spdlog::debug("release {}: prefetch asked", version);
    int error = filesystem_.join_version(version);
    auto release = error ? nullptr : engine_.find(version);
    if (!release) {
      throw UserError("cannot prefetch " + version + ": " +
                      (error == ENOENT   ? std::string("no such version in the catalog")
                       : error == EACCES ? std::string("refused by its signature (the mount daemon's log says why)")
                                         : std::string(std::strerror(error ? error : ENOENT)) +
                                               " (the mount daemon's log says why)"));
    }
    engine_.fetch_all(release);
    spdlog::info("release {}: prefetch requested: fetching every piece", version);
    return nlohmann::json{{"ok", true}};
  }
  if (command == "trace") {
    std::string version = request.value("version", "");
    auto release = engine_.find(version);
    if (!release) throw UserError("cannot trace " + version + ": this host has not joined it (read some of it first)");
    return nlohmann::json(catalog::hot_set_to_json(read_trace(*release)));
  }
  if (command == "gc") {
    // Without a size, the daemon's own limit; none set (0) is no limit, not "remove everything".
    if (!request.contains("max_bytes") && options_.cache_max_bytes == 0)
      throw UserError("gc: this mount daemon runs without --cache-max-bytes: pass --max-bytes N");
    return collect_garbage(request.value("max_bytes", options_.cache_max_bytes));
  }
  throw UserError("unknown control command '" + command + "'");
}

nlohmann::json Daemon::collect_garbage(std::uint64_t max_bytes) {
  std::lock_guard lock(gc_mutex_);
  auto linked = deploy::linked_versions(cache_);
  auto result = store::collect_garbage(
      cache_, max_bytes,
      [&](const std::string& v) { return linked.count(v) > 0 || filesystem_.open_files(v) > 0; },
      [&](const std::string& v) { return filesystem_.evict(v); });  // false: a file was opened since planning
  if (!result.removed.empty())
    spdlog::info("gc: removed {} releases, cache now {} bytes", result.removed.size(), result.bytes);
  return {{"removed", result.removed}, {"bytes", result.bytes}};
}

void Daemon::housekeeping() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, kHousekeepingInterval, [this] { return stopping_; })) {
    lock.unlock();
    try {
      if (!options_.metrics_file.empty())
        rewrite_snapshot_file(options_.metrics_file, prometheus_text(engine_.status(), serving_.status()), 0644);
      if (options_.cache_max_bytes > 0) collect_garbage(options_.cache_max_bytes);
    } catch (const std::exception& e) {
      spdlog::warn("housekeeping: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace rookery::daemon
