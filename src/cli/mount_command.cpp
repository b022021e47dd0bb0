// `rookery mount`: its options; the daemon itself is assembled in daemon/mount_daemon.cpp.
#include <charconv>
#include <chrono>
#include <memory>
#include <string>

#include "rookery/daemon/mount_daemon.hpp"
#include "subcommand.hpp"
#include "swarm_options.hpp"

namespace rookery::cli {
namespace {

// What the command line sets for `mount` beyond the daemon's options themselves.
struct MountArguments {
  std::string cache_dir, fetch = "background", takeover_replay = "auto", holder = "supervisor";
  int read_timeout = 0, takeover_timeout = 30, catalog_poll = 60;
  daemon::MountDaemonOptions options;
};

}  // namespace

Subcommand add_mount_command(CLI::App& app) {
  auto args = std::make_shared<MountArguments>();
  auto& a = *args;
  auto& o = a.options;
  auto* mount_cmd = app.add_subcommand("mount", "mount a catalog's releases read-only, fetching their pieces on demand");
  mount_cmd->add_option("mountpoint", o.mount.mountpoint, "directory to mount on, e.g. /releases")->required();
  mount_cmd->add_option("--catalog", o.catalog_url, "repository URL: file:///srv/rookery/ or http://origin/rookery/")->required();
  mount_cmd->add_option("--cache", a.cache_dir, "cache directory for downloaded pieces (one daemon per cache)")->required();
  mount_cmd->add_option("--fetch", a.fetch,
                        "background: after on-demand pieces, fetch the rest (every host ends a full seed); "
                        "lazy: only what is read, plus readahead")
      ->check(CLI::IsMember({"background", "lazy"}))
      ->capture_default_str();
  mount_cmd->add_option("--read-timeout", a.read_timeout,
                        "seconds a read may wait for missing pieces before failing with EIO; 0 = wait as long as it takes")
      ->capture_default_str();
  mount_cmd->add_option("--catalog-poll", a.catalog_poll,
                        "every SECONDS (+-25%), fetch the catalog's index and keep the newest releases' torrents "
                        "in the cache, so that a deploy's first lookup joins without waiting for the catalog "
                        "(0 = fetch a torrent only at its first lookup)")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  mount_cmd->add_option("--catalog-poll-newest", o.catalog_watch.newest,
                        "how many of the newest releases --catalog-poll keeps ready")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  mount_cmd->add_option("--trust", o.trusted_key,
                        "Ed25519 public key: refuse (EACCES) releases without a valid signature by it");
  mount_cmd->add_flag("--allow-other", o.mount.allow_other, "let users other than the mounting one read the mount");
  mount_cmd->add_option("--readahead-kb", o.mount.readahead_kb,
                        "kernel readahead in KiB once every joined release has landed (0 = none)")
      ->capture_default_str();
  mount_cmd->add_option("--partial-readahead-kb", o.mount.partial_readahead_kb,
                        "kernel readahead in KiB while a joined release is partial: readahead of missing pieces "
                        "takes link time from waiting reads (0 = none: mount so to record a hot set with `rookery trace`)")
      ->capture_default_str();
  mount_cmd->add_option("--hot-set-readahead-kb", o.mount.hot_set_readahead_kb,
                        "kernel readahead in KiB while a joined release's hot set is still arriving: the hot set "
                        "is what the application reads, readahead past it takes link time from it (0 = none)")
      ->capture_default_str();
  mount_cmd->add_flag("--fuse-debug", o.mount.debug, "print libfuse's request trace");
  mount_cmd->add_option("--metrics-file", o.daemon.metrics_file,
                        "write Prometheus metrics here every 2 s (swapped in whole with a hidden twin, .NAME.next; for "
                        "node_exporter's textfile collector)");
  mount_cmd->add_option("--cache-max-bytes", o.daemon.cache_max_bytes,
                        "keep the cache under this many bytes: evict least recently used releases (never open or "
                        "activated ones); 0 = no limit")
      ->capture_default_str();
  mount_cmd->add_option("--upload-slots", o.engine.swarm.upload_slots,
                        "peers this host uploads to at once (0 = every interested peer); one of them moves every 2 s "
                        "to the waiting peer that holds the fewest pieces")
      ->capture_default_str();
  mount_cmd->add_option("--peers-per-release", o.engine.whole_fetch_peers,
                        "peers a release fetched whole (--fetch background, or a prefetch) keeps connections with; "
                        "each costs a HAVE message per piece gained. 0 = libtorrent's bounds only. A release read "
                        "lazily keeps every peer")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            // A release with a few places can fill them all with hosts that then fail.
            int peers = -1;
            auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), peers);
            bool whole = error == std::errc{} && end == value.data() + value.size();
            return whole && (peers == 0 || peers >= 8) ? "" : "must be 0 or at least 8";
          },
          "0 or >= 8"))
      ->capture_default_str();
  add_swarm_options(mount_cmd, o.engine.swarm);
  mount_cmd->add_option("--takeover-replay", a.takeover_replay,
                        "how a new serving process answers the requests a dead one had read: auto = the kernel's "
                        "FUSE_NOTIFY_RESEND where it has it (Linux >= 6.9), else the journal; journal = always the "
                        "journal")
      ->check(CLI::IsMember({"auto", "journal"}))
      ->capture_default_str();
  mount_cmd->add_option("--takeover-timeout", a.takeover_timeout,
                        "seconds a new serving process may take to answer requests after the previous one died; "
                        "longer aborts the mount (programs then get ENOTCONN instead of waiting)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  mount_cmd->add_option("--holder", a.holder,
                        "what keeps the mount while serving processes come and go: supervisor = a process of "
                        "rookery's own; systemd = the unit's file descriptor store (Type=notify, "
                        "FileDescriptorStoreMax=2, Restart=always: the packaged rookery-mount.service)")
      ->check(CLI::IsMember({"supervisor", "systemd"}))
      ->capture_default_str();

  return {mount_cmd, [args] {
            auto& parsed = *args;
            parsed.options.cache_dir = parsed.cache_dir;
            parsed.options.engine.fetch = parsed.fetch == "lazy" ? swarm::FetchMode::lazy : swarm::FetchMode::background;
            parsed.options.engine.read_timeout = std::chrono::seconds(parsed.read_timeout);
            parsed.options.catalog_watch.interval = std::chrono::seconds(parsed.catalog_poll);
            parsed.options.supervisor.replay =
                parsed.takeover_replay == "journal" ? daemon::ReplayChoice::journal : daemon::ReplayChoice::automatic;
            parsed.options.supervisor.takeover_timeout = std::chrono::seconds(parsed.takeover_timeout);
            parsed.options.holder = parsed.holder == "systemd" ? daemon::Holder::systemd : daemon::Holder::supervisor;
            return daemon::run_mount_daemon(parsed.options);
          }};
}

}  // namespace rookery::cli
