// Upload slots are for peers that use them: a slot whose peer asks for nothing is taken back, and
// a freed slot is given again at once, not at the next choke round.
//
// libtorrent unchokes a few peers (the slots) and keeps them until its next round (1 s here,
// its shortest), among interested peers. Interested is not the same as asking: measured with a
// per-peer trace at 64 hosts, a host held 4 unchoked interested peers and had 0-4 requests from
// them while 50-60 others waited. An interested peer asks nothing when every block of what it
// lacks here is already requested from another peer (libtorrent requests a block from one peer at
// a time), which is the rule while a release is spreading: the few pieces a host holds are the
// ones everybody is already fetching. Its slot then idles for the rest of the round, and so did
// most hosts' links at once while the origin was still sending (BENCHMARKS "Fleet scale").
// This session plugin, for every torrent:
//  - takes back a slot (choke) whose peer has sent no request and received no byte for
//    kIdleSlot, and
//  - right after any choke or the disconnect of an unchoked peer, offers the free slot to the
//    interested peers that have waited longest since they were last unchoked
//    (maybe_unchoke_this_peer, which respects libtorrent's slot count).
// Which peers hold slots across rounds otherwise stays libtorrent's choice: a rule that picked
// holders itself (rarest need first) measured worse at 64 hosts (BENCHMARKS "Fleet scale").
#pragma once
#include <libtorrent/extensions.hpp>

#include <chrono>
#include <memory>

namespace rookery::swarm {

// Long enough for an unchoked peer to answer with requests across a loaded fleet link (a
// request round trip is milliseconds, a full 100 ms tbf queue in the lab included), short against
// a piece's time on a link split between slots (0.8 s for 256 KiB at 10 Mbit/s over 4 slots).
inline constexpr auto kIdleSlot = std::chrono::milliseconds(300);

std::shared_ptr<lt::plugin> upload_slots_plugin();

}  // namespace rookery::swarm
