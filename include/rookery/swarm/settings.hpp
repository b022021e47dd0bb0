// Every libtorrent knob rookery sets, in one place, each with the reason for its value. Both the
// seeder and the mount daemon build their sessions here, so the two ends of a swarm always agree.
#pragma once
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <string>

#include "rookery/swarm/options.hpp"

namespace rookery::swarm {

lt::settings_pack make_settings(const SwarmOptions& options);

// What a session needs beyond its settings pack, for the seeder and the mount alike:
//  - rate limits apply to every peer: libtorrent exempts peers on local networks by default, and a
//    fleet lives on a local network;
//  - the fleet plugin (fleet_plugin.hpp): TCP_NODELAY on peer sockets, every piece told to the origin.
void configure_session(lt::session& session);

// Logs an alert neither the seeder nor the engine handles specially: listen results at info/error,
// error-category alerts as warnings, everything else at trace.
void log_session_alert(const lt::alert* alert);

}  // namespace rookery::swarm
