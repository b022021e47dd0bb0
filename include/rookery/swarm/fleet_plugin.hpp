// The session plugin every rookery session (mount daemon and seeder) carries. Three duties, all on
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
//  - The optimistic unchoke slot goes to the neediest peer. libtorrent gives it to the peer that
//    has waited longest for one and asks session plugins to order the peers that waited equally
//    long (at the start of a deploy, all of them): the fewest pieces first, within a random
//    eighth of the release so that near-equal peers take turns. A peer's pieces are those it told
//    us of: with `send_redundant_have` off it does not announce pieces we already held, which
//    only makes peers that trail us rank needier. No effect while every interested
//    peer is unchoked (`upload_slots` 0).
// Everything here runs on libtorrent's network thread; no locks.
#pragma once
#include <libtorrent/extensions.hpp>
#include <cstdint>
#include <memory>

namespace rookery::swarm {

std::shared_ptr<lt::plugin> make_fleet_plugin();

// The order in which interested, choked peers get the optimistic unchoke slot, lowest first (for
// peers equally long without one): fewest pieces held, give or take a random eighth of the
// release, so that near-equal peers take turns. In eighths of a piece.
std::uint64_t optimistic_unchoke_rank(int pieces_held, int pieces_total, std::uint32_t random);

}  // namespace rookery::swarm
