// The origin side of the catalog. A repository is a plain directory any static HTTP server can serve:
//
//   REPO/index.json                 the catalog (see index.hpp)
//   REPO/torrents/<version>.torrent private hybrid (v1+v2) torrent, BEP 47 attributes
//   REPO/torrents/<version>.torrent.sig  Ed25519 signature (publish --sign), see signature.hpp
//   REPO/data/<version>/...         the release files: what `rookery seed` seeds and web seeds serve
//   REPO/tracker/whitelist          info-hashes opentracker admits (its access.whitelist)
//
// Publishing copies the tree first (into a temporary name, renamed into place), hashes the copy, and
// only then writes the torrent and the index, each atomically: a release becomes visible in one step,
// after everything it points to exists. A lock file serialises concurrent publishers.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "rookery/catalog/index.hpp"

namespace rookery::catalog {

// hybrid: v1 + v2 (BEP 52) metadata, per-file SHA-256 merkle trees as well as SHA-1 pieces.
// v1: SHA-1 pieces only: every peer hashes each piece once instead of twice, and classic clients
// read it (aria2 1.36, Debian 12's, computes a wrong info-hash for hybrid torrents: aria2 #1903).
// Both are piece-aligned (pad files), so a lazy read of one file never waits on another's bytes.
enum class TorrentFormat { hybrid, v1 };

struct PublishOptions {
  std::filesystem::path source;
  std::filesystem::path repo;
  std::string version;
  std::vector<std::string> trackers;  // announce URLs, one tier each
  std::string base_url;               // if set, web seed = base_url + "data/" (BEP 19)
  int piece_size = 1 << 20;
  TorrentFormat format = TorrentFormat::hybrid;
  std::filesystem::path tracker_pid_file;  // if set, SIGHUP that process after the whitelist changes
  std::filesystem::path signing_key;       // if set, write torrents/<version>.torrent.sig (Ed25519)
};

// Returns the record written to the index. Throws UserError on every failure, with nothing half-done
// left visible in the repository.
ReleaseRecord publish(const PublishOptions& options);

// Reads REPO/index.json; an absent index is an empty repository.
Index load_repository_index(const std::filesystem::path& repo);

}  // namespace rookery::catalog
