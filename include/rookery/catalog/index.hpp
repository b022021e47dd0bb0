// The repository index (REPO/index.json): the list of published releases, oldest first. It is the
// one file a mount daemon polls, so it stays small: per release only what lets a host decide and
// verify (info-hashes, sizes), never file lists; those live in the torrent.
//
//   {"format": 1, "releases": [{"version": "1.4.2", "infohash_v1": "<40 hex>",
//     "infohash_v2": "<64 hex>", "total_size": 123, "files": 4, "piece_size": 1048576,
//     "published": "2026-11-21T23:50:00Z"}]}
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rookery::catalog {

struct ReleaseRecord {
  std::string version;
  std::string infohash_v1;  // hex; what classic clients and the tracker whitelist use
  std::string infohash_v2;  // hex (SHA-256); empty for v1-only torrents
  std::int64_t total_size = 0;
  int files = 0;
  int piece_size = 0;
  std::string published;  // ISO 8601, UTC
};

struct Index {
  std::vector<ReleaseRecord> releases;

  const ReleaseRecord* find(const std::string& version) const;
  std::string to_json() const;
  // Throws UserError naming `origin` when the text is not a valid index.
  static Index parse(const std::string& text, const std::string& origin);
};

}  // namespace rookery::catalog
