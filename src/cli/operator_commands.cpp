// The operator commands on a host: status, prefetch, trace, gc and upgrade talk to the running mount
// daemon through CACHE/control.sock (gc collects offline when no daemon runs); activate and
// rollback flip deploy links. Each finds the daemon from --mount or --cache (daemon_location.hpp),
// prints one clear line on failure and returns the process exit status.
#include <algorithm>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "rookery/common/error.hpp"
#include "rookery/control/control.hpp"
#include "rookery/daemon/server_status.hpp"
#include "rookery/deploy/links.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/store/gc.hpp"
#include "rookery/swarm/release_status.hpp"
#include "daemon_location.hpp"
#include "subcommand.hpp"

namespace rookery::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::vector<swarm::ReleaseStatus> daemon_status(const std::filesystem::path& socket) {
  return control::request(socket, {{"command", "status"}}).at("releases").get<std::vector<swarm::ReleaseStatus>>();
}

std::optional<swarm::ReleaseStatus> release_status(const std::filesystem::path& socket, const std::string& version) {
  for (auto& r : daemon_status(socket))
    if (r.version == version) return std::move(r);
  return std::nullopt;
}

daemon::ServerStatus server_status(const std::filesystem::path& socket) {
  return control::request(socket, {{"command", "status"}}).value("server", nlohmann::json::object()).get<daemon::ServerStatus>();
}

std::string human_duration(double seconds) {
  auto s = static_cast<long long>(seconds);
  char buf[64];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm %llds", s / 60, s % 60);
  else if (s < 86400) std::snprintf(buf, sizeof buf, "%lldh %lldm", s / 3600, s / 60 % 60);
  else std::snprintf(buf, sizeof buf, "%lldd %lldh", s / 86400, s / 3600 % 24);
  return buf;
}

double seconds_since(std::int64_t unix_ms) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return static_cast<double>(now.count() - unix_ms) / 1000;
}

std::string describe(const catalog::WatchStatus& watch) {
  if (watch.interval_seconds == 0) return "catalog watch: off (metadata is fetched at a version's first lookup)";
  std::string out = "catalog watch: every " + std::to_string(watch.interval_seconds) + " s, ";
  if (watch.rounds == 0) return out + "first round not finished yet";
  out += "last round " + human_duration(seconds_since(watch.last_round_ms)) + " ago, ";
  out += watch.newest_ready.empty() ? "no release ready" : "newest ready: " + watch.newest_ready;
  if (!watch.last_error.empty()) out += "; failed: " + watch.last_error;
  return out;
}

int run_status(const std::filesystem::path& cache, bool json) {
  auto socket = store::CacheDir::unlocked(cache).control_socket_path();
  auto answer = control::request(socket, {{"command", "status"}});
  auto releases = answer.at("releases").get<std::vector<swarm::ReleaseStatus>>();
  auto server = answer.value("server", nlohmann::json::object()).get<daemon::ServerStatus>();
  if (json) {
    std::cout << nlohmann::json{{"releases", releases}, {"server", server}}.dump(2) << "\n";
    return 0;
  }
  std::printf("serving process %lld (%s) for %s; %llu takeovers of this mount, %llu requests answered again (%s)\n",
              static_cast<long long>(server.pid), server.version.c_str(),
              human_duration(seconds_since(server.serving_since_ms)).c_str(),
              static_cast<unsigned long long>(server.takeovers),
              static_cast<unsigned long long>(server.replayed_requests), server.inflight_replay.c_str());
  std::printf("%s\n", describe(server.catalog_watch).c_str());
  std::printf("%-20s %-8s %21s %10s %6s %11s %11s %8s %9s %9s\n", "VERSION", "STATE", "VERIFIED / TOTAL", "LOCAL",
              "PEERS", "DOWN/s", "UP/s", "WAITED", "WAIT p50", "WAIT p99");
  for (const auto& r : releases) {
    std::string verified = human_bytes(static_cast<double>(r.bytes_verified)) + " / " +
                           human_bytes(static_cast<double>(r.bytes_total));
    std::printf("%-20s %-8s %21s %10s %6d %11s %11s %8llu %7.1fms %7.1fms\n", r.version.c_str(),
                std::string(swarm::to_string(r.state)).c_str(), verified.c_str(),
                human_bytes(static_cast<double>(r.bytes_from_local)).c_str(), r.peers,
                human_bytes(r.download_rate).c_str(), human_bytes(r.upload_rate).c_str(),
                static_cast<unsigned long long>(r.reads_waited), r.read_wait_p50_seconds * 1000,
                r.read_wait_p99_seconds * 1000);
  }
  return 0;
}

// Prints the hot set this host's reads of VERSION make (the daemon checks it as JSON it can parse).
int run_trace(const std::filesystem::path& cache, const std::string& version) {
  auto socket = store::CacheDir::unlocked(cache).control_socket_path();
  std::cout << control::request(socket, {{"command", "trace"}, {"version", version}}).dump(1) << "\n";
  return 0;
}

// The release's status once it has every piece verified, or after `wait` with its progress. The
// daemon holds the request until then; a daemon from before the wait command is polled instead.
std::optional<swarm::ReleaseStatus> wait_status(const std::filesystem::path& socket, const std::string& version,
                                                std::chrono::milliseconds wait, bool& daemon_waits) {
  if (daemon_waits) {
    try {
      return control::request(socket, {{"command", "wait"}, {"version", version}, {"timeout_ms", wait.count()}})
          .at("release")
          .get<swarm::ReleaseStatus>();
    } catch (const UserError& e) {
      if (std::string(e.what()).find("unknown control command") == std::string::npos) throw;
      daemon_waits = false;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return release_status(socket, version);
}

int run_prefetch(const std::filesystem::path& cache, const std::string& version, int timeout_seconds) {
  auto socket = store::CacheDir::unlocked(cache).control_socket_path();
  control::request(socket, {{"command", "prefetch"}, {"version", version}});
  const bool tty = ::isatty(STDOUT_FILENO);
  // A progress bar moves twice a second; a log line is written every 2 s. Completion is seen at once.
  const auto wait = tty ? std::chrono::milliseconds(500) : std::chrono::milliseconds(2000);
  bool daemon_waits = true;
  auto start = Clock::now(), last_line = start;
  while (true) {
    auto budget = wait;  // never past the caller's timeout
    if (timeout_seconds > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          start + std::chrono::seconds(timeout_seconds) - Clock::now() + std::chrono::milliseconds(10));
      budget = std::clamp(left, std::chrono::milliseconds(0), wait);
    }
    auto r = wait_status(socket, version, budget, daemon_waits);
    auto elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (r) {
      auto done = static_cast<double>(r->bytes_verified), total = static_cast<double>(r->bytes_total);
      double rate = r->download_rate;
      bool complete = r->pieces_verified == r->pieces_total;
      int percent = total > 0 ? static_cast<int>(100 * done / total) : 100;
      std::string eta = rate > 0 ? std::to_string(static_cast<int>((total - done) / rate)) + " s" : "?";
      char line[256];
      std::snprintf(line, sizeof line, "%s: %3d%% %s / %s, %s/s, %d peers, ETA %s", version.c_str(), percent,
                    human_bytes(done).c_str(), human_bytes(total).c_str(), human_bytes(rate).c_str(),
                    r->peers, complete ? "0 s" : eta.c_str());
      if (tty) {
        std::string bar(30, ' ');
        for (int i = 0; i < percent * 30 / 100; ++i) bar[static_cast<std::size_t>(i)] = '#';
        std::printf("\r[%s] %s\033[K", bar.c_str(), line);
        std::fflush(stdout);
      } else if (complete || Clock::now() - last_line >= std::chrono::seconds(2)) {
        std::printf("%s\n", line);
        std::fflush(stdout);
        last_line = Clock::now();
      }
      if (complete) {
        std::printf("%s%s: every piece verified in %.1f s\n", tty ? "\n" : "", version.c_str(), elapsed);
        return 0;
      }
    }
    if (timeout_seconds > 0 && elapsed > timeout_seconds) {
      std::fprintf(stderr, "%srelease %s did not complete within %d s (%s): check the seeder, tracker and web seed\n",
                   tty ? "\n" : "", version.c_str(), timeout_seconds,
                   !r ? "not joined"
                      : (std::to_string(r->pieces_verified) + " of " + std::to_string(r->pieces_total) +
                         " pieces verified, " + std::to_string(r->peers) + " peers")
                            .c_str());
      return 1;
    }
  }
}

int run_activate(const std::filesystem::path& mountpoint, const std::filesystem::path& cache,
                 const std::string& version, const std::filesystem::path& link, bool wait_full, int timeout_seconds) {
  if (wait_full) {
    if (int rc = run_prefetch(cache, version, timeout_seconds); rc != 0) {
      std::fprintf(stderr, "not activated: %s left unchanged\n", link.c_str());
      return rc;
    }
  }
  deploy::activate(mountpoint, version, link, store::CacheDir::unlocked(cache));
  std::printf("%s -> %s\n", link.c_str(), (mountpoint / version).c_str());
  return 0;
}

int run_rollback(const std::filesystem::path& cache, const std::filesystem::path& link) {
  auto target = deploy::rollback(link, store::CacheDir::unlocked(cache));
  std::printf("%s -> %s\n", link.c_str(), target.c_str());
  return 0;
}

int run_gc(const std::filesystem::path& cache, std::optional<std::uint64_t> max_bytes) {
  auto layout = store::CacheDir::unlocked(cache);
  nlohmann::json answer;
  if (std::filesystem::exists(layout.control_socket_path())) {
    try {
      nlohmann::json request = {{"command", "gc"}};
      if (max_bytes) request["max_bytes"] = *max_bytes;  // otherwise the daemon's --cache-max-bytes
      answer = control::request(layout.control_socket_path(), request, std::chrono::seconds(300));
    } catch (const control::DaemonUnreachable&) {
      answer = nullptr;  // a socket left by a killed daemon: collect offline below
    }
  }
  if (answer.is_null()) {
    if (!max_bytes)
      throw UserError("gc: no mount daemon is running with cache " + cache.string() +
                      ", so there is no --cache-max-bytes to go by: pass --max-bytes N to collect offline");
    store::CacheDir locked(cache);  // throws if a daemon is running after all
    auto linked = deploy::linked_versions(locked);
    auto result = store::collect_garbage(
        locked, *max_bytes, [&](const std::string& v) { return linked.count(v) > 0; },
        [&](const std::string& v) {
          std::filesystem::remove_all(locked.release_dir(v));
          return true;
        });
    answer = {{"removed", result.removed}, {"bytes", result.bytes}};
  }
  for (const auto& v : answer["removed"]) std::printf("removed %s\n", v.get<std::string>().c_str());
  std::printf("cache now holds %s\n", human_bytes(answer["bytes"].get<double>()).c_str());
  return 0;
}

// Asks the serving process to hand the mount over to the binary on disk, and waits for the new one
// (unless `wait` is false).
int run_upgrade(const std::filesystem::path& cache, int timeout_seconds, bool wait) {
  auto socket = store::CacheDir::unlocked(cache).control_socket_path();
  auto before = server_status(socket);
  try {
    control::request(socket, {{"command", "upgrade"}});
  } catch (const UserError&) {
    // The process may exit before its answer is read: the new one's status below is the answer.
  }
  if (!wait) {
    std::printf("serving process %lld (%s) hands the mount over\n", static_cast<long long>(before.pid),
                before.version.c_str());
    return 0;
  }
  auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(timeout_seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    try {
      auto now = server_status(socket);
      if (now.pid == before.pid) continue;
      std::printf("serving process %lld (%s) replaced by %lld (%s) in %.1f s\n", static_cast<long long>(before.pid),
                  before.version.c_str(), static_cast<long long>(now.pid), now.version.c_str(),
                  std::chrono::duration<double>(Clock::now() - start).count());
      return 0;
    } catch (const UserError&) {
      // between the two processes: the socket is not answering yet
    }
  }
  std::fprintf(stderr, "the serving process %lld was not replaced within %d s: see the mount daemon's log\n",
               static_cast<long long>(before.pid), timeout_seconds);
  return 1;
}

}  // namespace

std::vector<Subcommand> add_operator_commands(CLI::App& app) {
  // One set of values for the seven commands: only the chosen one is parsed and run.
  struct Arguments {
    DaemonLocation location;
    std::filesystem::path link;
    std::string ops_version, wait = "none";
    int timeout = 0, upgrade_timeout = 60;
    std::optional<std::uint64_t> gc_max_bytes;
    bool status_json = false, upgrade_no_wait = false;
  };
  auto args = std::make_shared<Arguments>();
  auto& a = *args;
  auto add_location = [&](CLI::App* cmd) { a.location.add_options(cmd); };
  auto* status_cmd = app.add_subcommand("status", "per-release state, progress, peers, rates and read waits of the mount daemon");
  add_location(status_cmd);
  status_cmd->add_flag("--json", a.status_json, "print JSON");
  auto* prefetch_cmd = app.add_subcommand("prefetch", "fetch a release completely (joining it if needed), showing progress");
  prefetch_cmd->add_option("version", a.ops_version, "release version")->required();
  add_location(prefetch_cmd);
  prefetch_cmd->add_option("--timeout", a.timeout, "give up (exit 1) after this many seconds; 0 = never")->capture_default_str();
  auto* trace_cmd = app.add_subcommand(
      "trace", "print the byte ranges this host has read of a release, first reads first: the hot set to publish "
               "the next release with (rookery publish --hot-set), so that every host fetches it as it joins; "
               "record it on a mount with --partial-readahead-kb 0, or it holds the kernel's readahead too");
  trace_cmd->add_option("version", a.ops_version, "release version")->required();
  add_location(trace_cmd);
  auto* activate_cmd = app.add_subcommand("activate", "point a deploy link at MOUNT/VERSION with an atomic symlink flip");
  activate_cmd->add_option("version", a.ops_version, "release version")->required();
  activate_cmd->add_option("--link", a.link, "the link to flip, e.g. /srv/myapp/current")->required();
  add_location(activate_cmd);
  activate_cmd->add_option("--wait", a.wait, "none: flip at once (files load lazily); full: prefetch everything first")
      ->check(CLI::IsMember({"none", "full"}))
      ->capture_default_str();
  activate_cmd->add_option("--timeout", a.timeout, "with --wait full: give up after this many seconds; 0 = never")
      ->capture_default_str();
  auto* rollback_cmd = app.add_subcommand("rollback", "point a deploy link back at its previous target");
  rollback_cmd->add_option("--link", a.link, "the link activate flipped")->required();
  add_location(rollback_cmd);
  auto* gc_cmd = app.add_subcommand("gc", "remove least recently used releases from the cache (never open or activated ones)");
  add_location(gc_cmd);
  gc_cmd->add_option("--max-bytes", a.gc_max_bytes,
                     "shrink the cache to at most this many bytes (0: every release not open or activated); default: "
                     "the running daemon's --cache-max-bytes");

  auto* upgrade_cmd = app.add_subcommand(
      "upgrade", "replace the mount's serving process with the rookery binary now on disk; running programs keep "
                 "their open files and see no error");
  add_location(upgrade_cmd);
  upgrade_cmd->add_option("--timeout", a.upgrade_timeout, "give up (exit 1) when not replaced after this many seconds")
      ->capture_default_str();
  upgrade_cmd->add_flag("--no-wait", a.upgrade_no_wait,
                        "return once the serving process has been asked (ExecReload= of a mount held by systemd: "
                        "systemd restarts the process only after this command ends)");

  return {
      {status_cmd, [args] { return run_status(args->location.cache_dir(), args->status_json); }},
      {prefetch_cmd, [args] { return run_prefetch(args->location.cache_dir(), args->ops_version, args->timeout); }},
      {trace_cmd, [args] { return run_trace(args->location.cache_dir(), args->ops_version); }},
      {activate_cmd,
       [args] {
         return run_activate(args->location.mount_point(), args->location.cache_dir(), args->ops_version, args->link, args->wait == "full",
                             args->timeout);
       }},
      {rollback_cmd, [args] { return run_rollback(args->location.cache_dir(), args->link); }},
      {gc_cmd, [args] { return run_gc(args->location.cache_dir(), args->gc_max_bytes); }},
      {upgrade_cmd, [args] { return run_upgrade(args->location.cache_dir(), args->upgrade_timeout, !args->upgrade_no_wait); }},
  };
}

}  // namespace rookery::cli
