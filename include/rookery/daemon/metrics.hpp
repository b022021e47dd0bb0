// Prometheus text exposition (format 0.0.4) of the engine's status snapshot: one gauge or counter
// per ReleaseStatus figure, labelled by version, the read-wait quantiles, and a state gauge that
// is 1 for the release's current state. Written by the daemon for node_exporter's textfile
// collector, so the metrics and `rookery status` never disagree. The serving process adds its start
// time, the mount's takeovers and the requests successors answered again.
#pragma once
#include <string>
#include <vector>

#include "rookery/daemon/server_status.hpp"
#include "rookery/swarm/release_status.hpp"

namespace rookery::daemon {

std::string prometheus_text(const std::vector<swarm::ReleaseStatus>& releases, const ServerStatus& server);

}  // namespace rookery::daemon
