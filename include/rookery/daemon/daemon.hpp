// The mount daemon's operations side, around the filesystem and the swarm engine: the control
// socket (status, prefetch, wait, trace, gc, upgrade), the Prometheus metrics file, and cache garbage collection. Status,
// metrics and the control socket all report the engine's one status snapshot, so they never
// disagree.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "rookery/control/control.hpp"
#include "rookery/daemon/mount_daemon.hpp"
#include "rookery/daemon/server_status.hpp"
#include "rookery/fs/filesystem.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/engine.hpp"

namespace rookery::daemon {

// What the serving process around the daemon provides.
struct ServingProcess {
  std::function<ServerStatus()> status;
  std::function<void()> upgrade;  // hands the mount over to the binary on disk; the reply may not reach the caller
};

class Daemon {
 public:
  Daemon(store::CacheDir& cache, swarm::Engine& engine, fs::Filesystem& filesystem, DaemonOptions options,
         ServingProcess serving);
  ~Daemon();

  // One control request (control/control.hpp); std::nullopt puts a wait off.
  std::optional<nlohmann::json> handle(const nlohmann::json& request, control::Server::Clock::time_point since);
  // Evicts least recently used releases (never open or deploy-linked ones) down to max_bytes.
  nlohmann::json collect_garbage(std::uint64_t max_bytes);

 private:
  void housekeeping();

  store::CacheDir& cache_;
  swarm::Engine& engine_;
  fs::Filesystem& filesystem_;
  DaemonOptions options_;
  ServingProcess serving_;
  std::mutex gc_mutex_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
  control::Server server_;  // last: it calls handle() as soon as it exists
};

}  // namespace rookery::daemon
