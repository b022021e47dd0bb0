// The session plugin every rookery session (mount daemon and seeder) carries. Two duties, both on
// the exported plugin API of Debian's libtorrent 2.0.8:
//  - TCP_NODELAY on every peer socket. libtorrent 2.0 leaves Nagle's algorithm on, and a 17-byte
//    block request sent behind unacknowledged data then waits for the peer's delayed ACK (40 ms on
//    Linux). Measured on loopback: an on-demand 1 MiB piece took ~45 ms with Nagle, a few without.
//  - Every piece gained is told to the origin. The sessions do not send a HAVE to a peer that
//    holds the piece (`send_redundant_have` off, settings.cpp), and a rookery origin that steers
//    hosts advertises pieces selectively, so to a host it can look like such a peer. Its
//    unique-upload policy needs every HAVE (who holds what, who starves), so a host sends the
//    HAVE libtorrent left out, raw, to each peer whose extension handshake carries
//    wire::kOriginHandshakeKey.
// Everything here runs on libtorrent's network thread; no locks.
#pragma once
#include <libtorrent/extensions.hpp>
#include <memory>

namespace rookery::swarm {

std::shared_ptr<lt::plugin> make_fleet_plugin();

}  // namespace rookery::swarm
