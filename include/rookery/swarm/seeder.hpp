// `rookery seed`: seeds every release published in a repository and picks up new ones while
// running (the index is polled). Torrents are added in seed mode: the repository's files are
// authoritative, so start-up does not re-hash every release; libtorrent still checks each piece the
// first time a peer asks for it, so a damaged file is never uploaded.
#pragma once
#include <atomic>
#include <chrono>
#include <filesystem>

#include "rookery/swarm/settings.hpp"

namespace rookery::swarm {

struct SeederOptions {
  std::filesystem::path repo;
  SwarmOptions swarm;
  std::chrono::milliseconds poll_interval{2000};
};

// Runs until `stop` becomes true. Throws UserError when the repository cannot be read at start.
void run_seeder(const SeederOptions& options, const std::atomic<bool>& stop);

}  // namespace rookery::swarm
