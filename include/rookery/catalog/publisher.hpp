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
// after everything it points to exists. A lock file serialises concurrent publishers. Content the
// repository has already is hard-linked, not copied (content_pool.hpp).
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
  int piece_size = 0;  // bytes, a power of two >= 16 KiB; 0 = auto_piece_size(total bytes)
  TorrentFormat format = TorrentFormat::hybrid;
  std::filesystem::path tracker_pid_file;  // if set, SIGHUP that process after the whitelist changes
  std::filesystem::path signing_key;       // if set, write torrents/<version>.torrent.sig (Ed25519)
  std::filesystem::path hot_set;           // if set, a hot set (hot_set.hpp) to carry in the torrent
};

// The default piece size: 128 KiB, doubled while the release would have more than 8192 pieces
// (so a torrent's piece hashes stay under ~160 KiB per hash type: 1 GiB keeps 128 KiB, 2 GiB gets
// 256 KiB), and 64 KiB for a release under 32 MiB, which would otherwise have fewer than 256.
// A host relays a piece only once it holds all of it, so each relay hop is a piece's transfer, and
// a release of few pieces crosses a fleet in few, long hops: a 16 MiB fan-out to 64 hosts (with
// 16 peers per release) ended at 18.7-20.2 s with 64 KiB against 20.6-22.0 s with 128 KiB
// (BENCHMARKS.md, twenty-seventh session). Larger releases have enough pieces at 128 KiB, and
// there 64 KiB made the next-release deploy to 16 hosts slower (median 1.62 s against 1.40 s over
// eight runs each). Against 256 KiB, 128 KiB halves what a cold 4 KiB read waits for (5.5 vs
// 11.0 ms at 200 Mbit/s). Each piece costs a HAVE per peer lacking it, which
// `--peers-per-release` bounds.
int auto_piece_size(std::int64_t total_bytes);

struct Published {
  ReleaseRecord record;                 // what was written to the index
  std::int64_t stored_bytes = 0;        // file bytes the repository stores anew (content it lacked)
  std::int64_t linked_bytes = 0;        // file bytes linked from content it had (content_pool.hpp)
  std::string previous;                 // the release published before this one ("" for the first)
  std::int64_t new_vs_previous_bytes = 0;  // file bytes whose content `previous` does not have
  std::size_t hot_ranges = 0;           // the hot set the torrent carries
  std::int64_t hot_bytes = 0;
  std::size_t hot_ranges_skipped = 0;   // naming no regular file of the release
};

// Throws UserError on every failure, with nothing half-done left visible in the repository.
Published publish(const PublishOptions& options);

// Reads REPO/index.json; an absent index is an empty repository.
Index load_repository_index(const std::filesystem::path& repo);

}  // namespace rookery::catalog
