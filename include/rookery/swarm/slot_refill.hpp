// A freed upload slot is given again at once, not at the next choke round.
//
// libtorrent chokes a peer that says it is no longer interested (it has everything this host
// offers) and leaves the slot empty until its choker's next round, up to a second later
// (`unchoke_interval` 1 s, libtorrent's shortest). In a fleet that is most of a piece's time on
// the link: when a release is joined everywhere at once, pieces become relayable a few hundred
// milliseconds apart and the slots turn over just as fast. This session plugin watches every
// torrent's chokes and disconnects and, right after one, offers the free slot to the interested
// peers that have waited longest since they were last unchoked (maybe_unchoke_this_peer, which
// respects libtorrent's slot count). Who keeps a slot across rounds stays libtorrent's choice:
// a rule that picked holders itself (the rarest-need choker, BENCHMARKS "Fleet scale") measured
// worse at 64 hosts.
#pragma once
#include <libtorrent/extensions.hpp>

#include <memory>

namespace rookery::swarm {

std::shared_ptr<lt::plugin> slot_refill_plugin();

}  // namespace rookery::swarm
