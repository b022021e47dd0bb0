// Which peers a host uploads to: the ones that lack what is rare here ("rarest need").
//
// A host uploads to a few peers at a time (its slots): a link split n ways completes each piece n
// times later, and a piece can be passed on only once it is complete. libtorrent's choker picks
// those few by what they sent us (tit-for-tat) and re-decides every round (seconds); a slot whose
// peer lost interest stays empty until the next round. In a fleet nobody has to be paid back, and
// while the origin is still sending, pieces arrive every fraction of a second: measured at 64
// hosts, the hosts' uploads fell to a few percent of their links for seconds at a time while the
// origin sent (BENCHMARKS "Fleet scale"). The rule here instead:
//  - a peer's need is the availability (how many of this host's peers hold it) of the rarest piece
//    this host has and the peer lacks; the lower, the sooner the peer should be served;
//  - a slot that frees up (its peer lost interest, left, or was choked) goes at once to the
//    interested peer in most need;
//  - once a second the slots are re-decided: a slot holder is replaced only by a peer with a
//    strictly lower need (on a tie it keeps the slot: its requests are queued here, and choking
//    would throw them away), and a holder that lacks nothing this host has gives its slot up.
// Among equal needs the peer that holds fewer pieces goes first.
//
// This class is the rule alone, peers as numbers (unit-tested without a session);
// relay_choker_plugin.cpp feeds it libtorrent's events and carries out its moves. Not thread-safe:
// libtorrent calls its plugins on its network thread only.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <vector>

namespace rookery::swarm {

class RelayChoker {
 public:
  using PeerId = std::uint32_t;
  static constexpr int kNoNeed = std::numeric_limits<int>::max();  // lacks nothing this host has

  // `have`: the pieces this host holds at the start (may be shorter than num_pieces: none beyond).
  RelayChoker(int num_pieces, const std::vector<bool>& have);

  void add_peer(PeerId peer);
  void remove_peer(PeerId peer);
  void peer_has(PeerId peer, int piece);
  void peer_has_all(PeerId peer);
  void peer_lost(PeerId peer, int piece);  // BEP 54 lt_donthave
  void have(int piece);                    // this host verified a piece

  int need(PeerId peer) const;

  // A peer as libtorrent sees it now. Peers not interested in this host are left out by the
  // caller, except that every unchoked peer counts towards `unchoked`.
  struct Interested {
    PeerId peer;
    bool unchoked;
  };
  struct Moves {
    std::vector<PeerId> choke, unchoke;  // carried out in this order
  };
  // `unchoked`: peers holding a slot now, interested or not. `rotate`: re-decide held slots too
  // (the once-a-second round); otherwise only free slots are filled.
  Moves choose(const std::vector<Interested>& interested, int unchoked, int slots, bool rotate) const;

 private:
  struct Peer {
    std::vector<bool> has;
    int count = 0;
  };
  void set_has(Peer& peer, int piece);

  std::vector<bool> have_;
  std::vector<int> availability_;  // connected peers holding each piece
  std::map<PeerId, Peer> peers_;
};

}  // namespace rookery::swarm
