// rookery: deliver software releases over a private BitTorrent swarm and mount them lazily.
// This file only parses the command line and wires the modules together; every subcommand's work
// lives in its module (catalog, swarm, fs, fuse, store).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <thread>

#include "rookery/catalog/catalog.hpp"
#include "rookery/catalog/publisher.hpp"
#include "rookery/catalog/signature.hpp"
#include "rookery/common/error.hpp"
#include "commands.hpp"
#include "rookery/daemon/mount_daemon.hpp"
#include "rookery/origin/seeder.hpp"

using namespace rookery;

namespace {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("rookery");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

// Blocks SIGINT/SIGTERM in every thread and returns a thread that waits for one and sets `stop`.
std::thread stop_on_signal(std::atomic<bool>& stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::thread([set, &stop] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("received signal {}, stopping", sig);
    stop = true;
  });
}

void add_swarm_options(CLI::App* cmd, swarm::SwarmOptions& o) {
  cmd->add_option("--listen", o.listen, "interface:port peers connect to")->capture_default_str();
  cmd->add_option("--max-upload-rate", o.max_upload_rate, "upload limit in bytes/s, 0 = none (applies to LAN peers)")
      ->capture_default_str();
  cmd->add_option("--max-download-rate", o.max_download_rate, "download limit in bytes/s, 0 = none")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rookery: deliver releases over a private BitTorrent swarm and mount them lazily with FUSE"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--log-level) may follow the subcommand
  app.set_version_flag("--version", "rookery 0.1.0");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  catalog::PublishOptions publish;
  auto* publish_cmd = app.add_subcommand("publish", "copy a release tree into a repository, write its torrent and catalog entry");
  publish_cmd->add_option("source", publish.source, "directory holding the release")->required();
  publish_cmd->add_option("--repo", publish.repo, "repository directory (created if missing)")->required();
  publish_cmd->add_option("--version", publish.version, "release version: letters, digits, '.', '_', '-'")->required();
  publish_cmd->add_option("--tracker", publish.trackers, "announce URL (repeatable), e.g. http://origin:6969/announce");
  publish_cmd->add_option("--base-url", publish.base_url, "URL the repository is served at; adds REPO/data/ as web seed");
  publish_cmd->add_option("--piece-size", publish.piece_size, "piece size in bytes, a power of two >= 16384; 0 = 256 KiB, doubled while the release "
                          "would have over 8192 pieces")
      ->capture_default_str();
  std::string publish_format = "hybrid";
  publish_cmd->add_option("--format", publish_format,
                          "hybrid (v1+v2 metadata) or v1 (SHA-1 only: half the hashing on every peer, and "
                          "readable by classic clients such as aria2)")
      ->check(CLI::IsMember({"hybrid", "v1"}))
      ->capture_default_str();
  publish_cmd->add_option("--tracker-pid-file", publish.tracker_pid_file,
                          "pid file of the opentracker to SIGHUP after REPO/tracker/whitelist changes");
  publish_cmd->add_option("--sign", publish.signing_key, "Ed25519 private key (rookery keygen): write torrents/V.torrent.sig");

  std::filesystem::path key_out;
  auto* keygen_cmd = app.add_subcommand("keygen", "make an Ed25519 key pair for signing releases: KEY (0600) and KEY.pub");
  keygen_cmd->add_option("--out", key_out, "private key path; the public key goes to the same path + .pub")->required();

  origin::SeederOptions seed;
  int poll_ms = 2000;
  auto* seed_cmd = app.add_subcommand("seed", "seed every release of a repository, picking up new ones while running");
  seed_cmd->add_option("--repo", seed.repo, "repository directory")->required();
  seed_cmd->add_option("--poll-interval", poll_ms, "how often to look for new releases, in ms")->capture_default_str();
  seed_cmd->add_option("--upload-slots", seed.upload_slots,
                       "hosts uploaded to at once, rotated every 2 s (0 = all); fewer makes each piece "
                       "complete, and relayable by the hosts, sooner")
      ->capture_default_str();
  add_swarm_options(seed_cmd, seed.swarm);

  std::string fetch = "background";
  daemon::MountDaemonOptions mount_daemon;
  auto& engine_options = mount_daemon.engine;
  auto& mount_options = mount_daemon.mount;
  auto& daemon_options = mount_daemon.daemon;
  int read_timeout = 0;
  auto* mount_cmd = app.add_subcommand("mount", "mount a catalog's releases read-only, fetching their pieces on demand");
  mount_cmd->add_option("mountpoint", mount_options.mountpoint, "directory to mount on, e.g. /releases")->required();
  mount_cmd->add_option("--catalog", mount_daemon.catalog_url, "repository URL: file:///srv/rookery/ or http://origin/rookery/")->required();
  mount_cmd->add_option("--cache", mount_daemon.cache_dir, "cache directory for downloaded pieces (one daemon per cache)")->required();
  mount_cmd->add_option("--fetch", fetch,
                        "background: after on-demand pieces, fetch the rest (every host ends a full seed); "
                        "lazy: only what is read, plus readahead")
      ->check(CLI::IsMember({"background", "lazy"}))
      ->capture_default_str();
  mount_cmd->add_option("--read-timeout", read_timeout,
                        "seconds a read may wait for missing pieces before failing with EIO; 0 = wait as long as it takes")
      ->capture_default_str();
  mount_cmd->add_option("--trust", mount_daemon.trusted_key,
                        "Ed25519 public key: refuse (EACCES) releases without a valid signature by it");
  mount_cmd->add_flag("--allow-other", mount_options.allow_other, "let users other than the mounting one read the mount");
  mount_cmd->add_option("--readahead-kb", mount_options.readahead_kb,
                        "kernel readahead in KiB once every joined release has landed (0 = kernel default, 128)")
      ->capture_default_str();
  mount_cmd->add_option("--partial-readahead-kb", mount_options.partial_readahead_kb,
                        "kernel readahead in KiB while a joined release is partial: readahead of missing pieces "
                        "takes link time from waiting reads (0 = kernel default, 128)")
      ->capture_default_str();
  mount_cmd->add_flag("--fuse-debug", mount_options.debug, "print libfuse's request trace");
  mount_cmd->add_option("--metrics-file", daemon_options.metrics_file,
                        "write Prometheus metrics here every 2 s (atomically; for node_exporter's textfile collector)");
  mount_cmd->add_option("--cache-max-bytes", daemon_options.cache_max_bytes,
                        "keep the cache under this many bytes: evict least recently used releases (never open or "
                        "activated ones); 0 = no limit")
      ->capture_default_str();
  add_swarm_options(mount_cmd, engine_options.swarm);

  // Operator commands: they talk to the daemon through CACHE/control.sock.
  std::filesystem::path ops_cache = "/var/cache/rookery", ops_mount = "/releases", link;
  std::string ops_version, wait = "none";
  int timeout = 0;
  std::uint64_t gc_max_bytes = 0;
  auto add_cache = [&](CLI::App* cmd) {
    cmd->add_option("--cache", ops_cache, "the mount daemon's --cache directory")->capture_default_str();
  };
  auto* status_cmd = app.add_subcommand("status", "per-release state, progress, peers, rates and read waits of the mount daemon");
  add_cache(status_cmd);
  bool status_json = false;
  status_cmd->add_flag("--json", status_json, "print JSON");
  auto* prefetch_cmd = app.add_subcommand("prefetch", "fetch a release completely (joining it if needed), showing progress");
  prefetch_cmd->add_option("version", ops_version, "release version")->required();
  add_cache(prefetch_cmd);
  prefetch_cmd->add_option("--timeout", timeout, "give up (exit 1) after this many seconds; 0 = never")->capture_default_str();
  auto* activate_cmd = app.add_subcommand("activate", "point a deploy link at MOUNT/VERSION with an atomic symlink flip");
  activate_cmd->add_option("version", ops_version, "release version")->required();
  activate_cmd->add_option("--link", link, "the link to flip, e.g. /srv/myapp/current")->required();
  activate_cmd->add_option("--mount", ops_mount, "the rookery mount point")->capture_default_str();
  add_cache(activate_cmd);
  activate_cmd->add_option("--wait", wait, "none: flip at once (files load lazily); full: prefetch everything first")
      ->check(CLI::IsMember({"none", "full"}))
      ->capture_default_str();
  activate_cmd->add_option("--timeout", timeout, "with --wait full: give up after this many seconds; 0 = never")
      ->capture_default_str();
  auto* rollback_cmd = app.add_subcommand("rollback", "point a deploy link back at its previous target");
  rollback_cmd->add_option("--link", link, "the link activate flipped")->required();
  add_cache(rollback_cmd);
  auto* gc_cmd = app.add_subcommand("gc", "remove least recently used releases from the cache (never open or activated ones)");
  add_cache(gc_cmd);
  gc_cmd->add_option("--max-bytes", gc_max_bytes, "shrink the cache to at most this many bytes")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  setup_logging(log_level);

  try {
    if (*publish_cmd) {
      publish.format = publish_format == "v1" ? catalog::TorrentFormat::v1 : catalog::TorrentFormat::hybrid;
      auto record = catalog::publish(publish);
      std::cout << "published " << record.version << ": " << record.files << " files, " << record.total_size
                << " bytes, infohash " << record.infohash_v1 << "\n";
      return 0;
    }
    if (*keygen_cmd) {
      auto pub = key_out;
      pub += ".pub";
      catalog::generate_signing_key(key_out, pub);
      std::cout << "wrote " << key_out.string() << " (private, keep it on the origin) and " << pub.string()
                << " (give it to hosts: rookery mount --trust)\n";
      return 0;
    }
    if (*seed_cmd) {
      seed.poll_interval = std::chrono::milliseconds(poll_ms);
      std::atomic<bool> stop{false};
      auto waiter = stop_on_signal(stop);
      waiter.detach();
      origin::run_seeder(seed, stop);
      return 0;
    }
    if (*status_cmd) return cli::run_status(ops_cache, status_json);
    if (*prefetch_cmd) return cli::run_prefetch(ops_cache, ops_version, timeout);
    if (*activate_cmd) return cli::run_activate(ops_mount, ops_cache, ops_version, link, wait == "full", timeout);
    if (*rollback_cmd) return cli::run_rollback(ops_cache, link);
    if (*gc_cmd) return cli::run_gc(ops_cache, gc_max_bytes);
    if (*mount_cmd) {
      engine_options.fetch = fetch == "lazy" ? swarm::FetchMode::lazy : swarm::FetchMode::background;
      engine_options.read_timeout = std::chrono::seconds(read_timeout);
      daemon::run_mount_daemon(mount_daemon);
      return 0;
    }
  } catch (const UserError& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::critical("unexpected error: {}", e.what());
    return 2;
  }
  return 0;
}
