// A release's hot set: the byte ranges its application reads when it starts.
//
// A lazy host fetches only what is read, in the order it is read. When a whole fleet starts a new
// release at once, every host then wants the same piece at the same moment, and the next one
// only after it: the swarm spreads one piece at a time, each through a tree of hops (measured at
// 64 hosts: 16.3 s for 2 MiB of hot data, 9.7x the bound; the same reads issued all at once took
// 8.0 s). A hot set published with the release lets every host ask for all of it the moment it
// joins, so the pieces spread side by side, in whatever order the hosts' pickers choose (rarest
// first), while reads still come first (deadlines).
//
// It is recorded, not guessed: `rookery trace VERSION` prints the ranges a host has read of a
// release (since its serving process started), one piece at a time, in the order of their first
// read, in the format `rookery publish --hot-set FILE` takes. The daemon sees the kernel's reads,
// readahead included, so the staging host that records it mounts with `--partial-readahead-kb 0`:
// otherwise every run of reads ends with the next piece of its file, and the hot set doubles
// (measured at 64 hosts: 4 MiB recorded for 2 MiB read; the herd took 9.9-11.8 s with that trace,
// 6.5-8.2 s with the exact one). Its format:
//
//   {"ranges": [{"path": "bin/app", "offset": 0, "length": 262144}, {"path": "lib/a.so"}]}
//
// (no offset: 0; no length: to the end of the file). Paths are relative to the release's root and
// outlive versions, so the trace of one release serves the next. The ranges travel inside the
// torrent's info dictionary (key "rookery hot"): covered by the info-hash, and so by a release's
// signature; other clients ignore the key.
#pragma once
#include <cstdint>
#include <libtorrent/entry.hpp>
#include <libtorrent/torrent_info.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rookery::catalog {

struct HotRange {
  std::string path;
  std::int64_t offset = 0;
  std::int64_t length = -1;  // -1: to the end of the file
};

// Throws UserError naming `origin` when the text is not a hot set.
std::vector<HotRange> parse_hot_set(const std::string& text, const std::string& origin);
nlohmann::json hot_set_to_json(const std::vector<HotRange>& ranges);
std::vector<HotRange> hot_set_from_json(const nlohmann::json& doc, const std::string& origin);

// The info-dictionary key and its value: a list of [path, offset, length] (length -1: to the end).
inline constexpr char kHotSetKey[] = "rookery hot";
lt::entry hot_set_entry(const std::vector<HotRange>& ranges);
// The hot set a torrent carries; empty when it has none or the key is malformed (a hint, never a
// reason to refuse a release).
std::vector<HotRange> hot_set_of(const lt::torrent_info& info);

}  // namespace rookery::catalog
