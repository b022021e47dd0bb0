// The swarm options (--listen and rate limits) that `seed` and `mount` both take.
#pragma once
#include <CLI/CLI.hpp>

#include "rookery/swarm/options.hpp"

namespace rookery::cli {

void add_swarm_options(CLI::App* cmd, swarm::SwarmOptions& o);

}  // namespace rookery::cli
