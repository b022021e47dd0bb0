// The origin side of a swarm; an origin-side piece scheduler (which host gets which piece first)
// belongs in this module.
//
// `rookery seed` seeds every release published in a repository and picks up new ones while
// running (the index is polled). Torrents are added in seed mode: the repository's files are
// authoritative, so start-up does not re-hash every release; libtorrent still checks each piece the
// first time a peer asks for it, so a damaged file is never uploaded.
#pragma once
#include <atomic>
#include <chrono>
#include <filesystem>

#include "rookery/swarm/options.hpp"

namespace rookery::origin {

struct SeederOptions {
  std::filesystem::path repo;
  // upload_slots 8: with every host served at once, the origin's link is split so finely that
  // each piece takes seconds to complete and hosts ask it for the same pieces; with fewer, each
  // piece it sends is complete (and relayable) sooner. Lab, 16 hosts, 64 MiB at 50 Mbit/s: all
  // 30.7/31.6 s, 8 slots 26.3/26.6 s (1 MiB pieces); 4 slots left the origin's link idle at times
  // (29.6 s, 256 KiB pieces). libtorrent's round-robin choker keeps a served host for at least a
  // minute, so within a deploy these are the same 8 hosts.
  // No allowed-fast pieces: libtorrent would serve each host's 5 while it is choked, so the slots
  // bound nothing and the origin's link is split across every host at once. Measured with 128
  // hosts at 5 Mbit/s: the origin sent blocks of ~100 pieces at a time and no host completed a
  // piece for 25 s; without them, relaying starts within seconds (64 hosts: 25.8-30.4 s against
  // 36.7-36.9 s, alternating).
  // Its optimistic slot rotates at libtorrent's pace: the unique-upload policy, not rotation,
  // decides which hosts it serves (2 s rotation was measured on hosts only).
  swarm::SwarmOptions swarm{.upload_slots = 8, .allowed_fast = false, .optimistic_unchoke_interval = std::chrono::seconds{30}};
  std::chrono::milliseconds poll_interval{2000};
  // Upload only pieces no connected host has or is receiving (unique_upload.hpp); false: plain
  // BitTorrent, whatever is asked.
  bool serve_unique = true;
  // With serve_unique: hot-set pieces under way from the origin at once (unique_upload.hpp; 4
  // measured better than 2 and than no limit); 0: no limit.
  int hot_set_window = 4;
};

// Runs until `stop` becomes true. Throws UserError when the repository cannot be read at start.
void run_seeder(const SeederOptions& options, const std::atomic<bool>& stop);

}  // namespace rookery::origin
