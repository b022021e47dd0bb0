// The hosts' upload-slot rule: the peers that lack what is rare here are served, at once.
#include <gtest/gtest.h>

#include "rookery/swarm/relay_choker.hpp"

using rookery::swarm::RelayChoker;
using Ids = std::vector<RelayChoker::PeerId>;

namespace {

// Four pieces; this host has 0 and 1. Peers 1-3: piece 0 held by peers 1 and 2, piece 1 by peer 3.
RelayChoker three_peers() {
  RelayChoker c(4, {true, true, false, false});
  for (RelayChoker::PeerId p : {1, 2, 3}) c.add_peer(p);
  c.peer_has(1, 0);
  c.peer_has(2, 0);
  c.peer_has(3, 1);
  return c;
}

}  // namespace

TEST(RelayChoker, NeedIsTheAvailabilityOfTheRarestPieceHereThePeerLacks) {
  auto c = three_peers();
  EXPECT_EQ(c.need(1), 1);  // lacks piece 1, which one peer holds
  EXPECT_EQ(c.need(2), 1);
  EXPECT_EQ(c.need(3), 2);  // lacks piece 0, which two peers hold
  c.peer_has(3, 0);
  EXPECT_EQ(c.need(3), RelayChoker::kNoNeed);  // lacks nothing this host has
  c.peer_lost(3, 0);
  EXPECT_EQ(c.need(3), 2);
  c.remove_peer(3);  // piece 1 now held by nobody else
  EXPECT_EQ(c.need(1), 0);
  c.have(2);  // a new piece here nobody holds
  c.peer_has_all(2);
  EXPECT_EQ(c.need(2), RelayChoker::kNoNeed);
  EXPECT_EQ(c.need(1), 1);  // pieces 1 and 2 are now held by peer 2
}

TEST(RelayChoker, FreeSlotsGoToTheNeediestAndHeldSlotsStayBetweenRounds) {
  auto c = three_peers();
  // One slot free of two: the neediest waiting peer gets it (1 and 2 tie on need 1: fewest
  // pieces, then lowest id).
  auto m = c.choose({{1, false}, {2, false}, {3, true}}, 1, 2, false);
  EXPECT_EQ(m.unchoke, Ids{1});
  EXPECT_TRUE(m.choke.empty());
  // No slot free: nothing moves until the round, even for a needier peer.
  m = c.choose({{1, false}, {2, true}, {3, true}}, 2, 2, false);
  EXPECT_TRUE(m.unchoke.empty());
  EXPECT_TRUE(m.choke.empty());
}

TEST(RelayChoker, TheRoundReplacesAHolderOnlyForStrictlyGreaterNeed) {
  auto c = three_peers();
  // Peer 3 (need 2) holds the only slot; peer 1 (need 1) waits: replaced.
  auto m = c.choose({{1, false}, {3, true}}, 1, 1, true);
  EXPECT_EQ(m.choke, Ids{3});
  EXPECT_EQ(m.unchoke, Ids{1});
  // Peer 2 holds it with the same need as peer 1: it keeps it.
  m = c.choose({{1, false}, {2, true}}, 1, 1, true);
  EXPECT_TRUE(m.choke.empty());
  EXPECT_TRUE(m.unchoke.empty());
}

TEST(RelayChoker, AHolderThatLacksNothingHereGivesItsSlotUp) {
  auto c = three_peers();
  c.peer_has(3, 0);  // peer 3 now has both of this host's pieces
  auto m = c.choose({{1, false}, {3, true}}, 1, 1, true);
  EXPECT_EQ(m.choke, Ids{3});
  EXPECT_EQ(m.unchoke, Ids{1});
  // Between rounds it keeps the slot (it will say it is not interested).
  m = c.choose({{1, false}, {3, true}}, 1, 1, false);
  EXPECT_TRUE(m.choke.empty());
  EXPECT_TRUE(m.unchoke.empty());
  // A waiting peer that lacks nothing here is never unchoked.
  m = c.choose({{3, false}}, 0, 1, true);
  EXPECT_TRUE(m.unchoke.empty());
}

TEST(RelayChoker, SlotsHeldByPeersThatLostInterestAreNotGivenTwice) {
  auto c = three_peers();
  // Two slots; one held by a peer no longer interested (libtorrent chokes it at its message):
  // the round keeps one slot for the interested.
  auto m = c.choose({{1, false}, {2, false}}, 1, 2, true);
  EXPECT_EQ(m.unchoke, Ids{1});
  EXPECT_TRUE(m.choke.empty());
}

TEST(RelayChoker, PiecesOutsideTheTorrentAreIgnored) {
  RelayChoker c(2, {true, true, true});  // a longer start bitfield is cut to the torrent
  c.add_peer(1);
  c.peer_has(1, 7);
  c.peer_has(9, 0);  // an unknown peer
  c.have(5);
  EXPECT_EQ(c.need(1), 0);
  c.peer_has(1, 0);
  c.peer_has(1, 1);
  EXPECT_EQ(c.need(1), RelayChoker::kNoNeed);
}
