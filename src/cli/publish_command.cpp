// `rookery publish`: copy a release tree into a repository and write its torrent and index entry.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "rookery/catalog/publisher.hpp"
#include "subcommand.hpp"

namespace rookery::cli {

Subcommand add_publish_command(CLI::App& app) {
  struct Arguments {
    catalog::PublishOptions publish;
    std::string publish_format = "hybrid";
  };
  auto args = std::make_shared<Arguments>();
  auto& publish = args->publish;
  auto* publish_cmd = app.add_subcommand("publish", "copy a release tree into a repository, write its torrent and catalog entry");
  publish_cmd->add_option("source", publish.source, "directory holding the release")->required();
  publish_cmd->add_option("--repo", publish.repo, "repository directory (created if missing)")->required();
  publish_cmd->add_option("--version", publish.version, "release version: letters, digits, '.', '_', '-'")->required();
  publish_cmd->add_option("--tracker", publish.trackers, "announce URL (repeatable), e.g. http://origin:6969/announce");
  publish_cmd->add_option("--base-url", publish.base_url, "URL the repository is served at; adds REPO/data/ as web seed");
  publish_cmd->add_option("--piece-size", publish.piece_size, "piece size in bytes, a power of two >= 16384; 0 = 64 KiB for a release under 32 MiB, "
                          "else 128 KiB, doubled while the release would have over 8192 pieces")
      ->capture_default_str();
  publish_cmd->add_option("--format", args->publish_format,
                          "hybrid (v1+v2 metadata) or v1 (SHA-1 only: half the hashing on every peer, and "
                          "readable by classic clients such as aria2)")
      ->check(CLI::IsMember({"hybrid", "v1"}))
      ->capture_default_str();
  publish_cmd->add_option("--tracker-pid-file", publish.tracker_pid_file,
                          "pid file of the opentracker to SIGHUP after REPO/tracker/whitelist changes");
  publish_cmd->add_option("--sign", publish.signing_key, "Ed25519 private key (rookery keygen): write torrents/V.torrent.sig");
  publish_cmd->add_option("--hot-set", publish.hot_set,
                          "JSON file of the byte ranges the application reads at start (rookery trace prints one): "
                          "lazy hosts fetch them all as soon as they join");

  return {publish_cmd, [args] {
            auto& publish = args->publish;
            publish.format = args->publish_format == "v1" ? catalog::TorrentFormat::v1 : catalog::TorrentFormat::hybrid;
            auto result = catalog::publish(publish);
            const auto& record = result.record;
            std::cout << "published " << record.version << ": " << record.files << " files, " << record.total_size
                      << " bytes, infohash " << record.infohash_v1 << "\n";
            auto files = result.stored_bytes + result.linked_bytes;
            auto percent = [files](std::int64_t part) { return files ? 100.0 * static_cast<double>(part) / static_cast<double>(files) : 0.0; };
            std::printf("repository: %lld bytes stored anew (%.1f%%), %lld linked from content it had\n",
                        static_cast<long long>(result.stored_bytes), percent(result.stored_bytes),
                        static_cast<long long>(result.linked_bytes));
            if (result.hot_ranges > 0)
              std::printf("hot set: %zu ranges, %lld bytes (%.1f%%), fetched by every host as it joins\n", result.hot_ranges,
                          static_cast<long long>(result.hot_bytes), 100.0 * static_cast<double>(result.hot_bytes) /
                                                                        static_cast<double>(std::max<std::int64_t>(1, record.total_size)));
            if (result.hot_ranges_skipped > 0)
              std::printf("hot set: %zu ranges left out: they name no regular file of %s\n", result.hot_ranges_skipped,
                          record.version.c_str());
            if (!result.previous.empty())
              std::printf("new against %s: %lld bytes (%.1f%% of this release)\n", result.previous.c_str(),
                          static_cast<long long>(result.new_vs_previous_bytes), percent(result.new_vs_previous_bytes));
            return 0;
          }};
}

}  // namespace rookery::cli
