// The origin's serve-unique rule: which requests it serves and what it tells the hosts.
#include <gtest/gtest.h>

#include "rookery/origin/unique_upload.hpp"

using rookery::origin::UniqueUploadPolicy;
using namespace std::chrono_literals;
using Clock = UniqueUploadPolicy::Clock;
using Messages = UniqueUploadPolicy::Messages;
using Sent = std::vector<std::pair<UniqueUploadPolicy::PeerId, int>>;

namespace {

const Clock::time_point t0 = Clock::time_point(1000s);
constexpr int kBlock = 16384, kPiece = 4 * kBlock;

struct Origin {
  explicit Origin(int pieces = 4) : policy(pieces, 5s, 4s) {}
  Messages ready(UniqueUploadPolicy::PeerId peer, bool steerable = true) {
    Messages m;
    policy.peer_ready(peer, steerable, t0, m);
    return m;
  }
  bool request(UniqueUploadPolicy::PeerId peer, int piece, Clock::time_point at = t0) {
    last = {};
    return policy.allow_request(peer, piece, at, last);
  }
  Messages have(UniqueUploadPolicy::PeerId peer, int piece) {
    Messages m;
    policy.peer_has(peer, piece, t0, m);
    return m;
  }
  UniqueUploadPolicy policy;
  Messages last;
};

}  // namespace

TEST(UniqueUpload, APieceGoesToOneHostAndTheOthersAreToldTheOriginLacksIt) {
  Origin o;
  EXPECT_TRUE(o.ready(1).dont_have.empty());  // nothing is covered yet
  o.ready(2);
  o.ready(3);
  EXPECT_TRUE(o.request(1, 0));
  EXPECT_TRUE(o.policy.covered(0));
  EXPECT_EQ(o.last.dont_have, (Sent{{2, 0}, {3, 0}}));  // before they ask
  EXPECT_TRUE(o.request(1, 0));  // the next block of the same piece
  EXPECT_FALSE(o.request(2, 0));  // host 1 is receiving it
  EXPECT_TRUE(o.last.dont_have.empty());  // already told
  EXPECT_TRUE(o.request(2, 1));
}

TEST(UniqueUpload, AHostThatHasAPieceCoversItForEveryoneElse) {
  Origin o;
  o.ready(1);
  o.ready(2);
  auto m = o.have(1, 3);  // host 1 got piece 3 from somewhere
  EXPECT_EQ(m.dont_have, (Sent{{2, 3}}));
  EXPECT_FALSE(o.request(2, 3));
  auto late = o.ready(4);  // a host joining later learns at once
  EXPECT_EQ(late.dont_have, (Sent{{4, 3}}));
}

TEST(UniqueUpload, APieceWhoseHoldersLeaveIsAdvertisedAgain) {
  Origin o;
  o.ready(1);
  o.ready(2);
  o.request(1, 0);
  o.have(1, 0);
  Messages m;
  o.policy.remove_peer(1, m);
  EXPECT_EQ(m.have, (Sent{{2, 0}}));
  EXPECT_FALSE(o.policy.covered(0));
  EXPECT_TRUE(o.request(2, 0));
}

TEST(UniqueUpload, AStalledOrChokedReceiverFreesItsPiece) {
  Origin o;
  o.ready(1);
  o.ready(2);
  o.request(1, 0, t0);
  o.request(1, 1, t0);
  Messages m;
  o.policy.peer_has(2, 3, t0 + 3s, m);  // both gain pieces elsewhere: neither is starving
  o.policy.peer_has(1, 2, t0 + 3s, m);
  m = {};
  o.policy.sent(1, 0, kBlock, kPiece, t0 + 4s, o.last);  // piece 0 is still flowing
  o.policy.tick(t0 + 6s, m);
  EXPECT_EQ(m.have, (Sent{{2, 1}}));  // piece 1 silent for 6 s: offered again
  EXPECT_TRUE(o.policy.covered(0));
  m = {};
  o.policy.choked(1, m);
  EXPECT_EQ(m.have, (Sent{{2, 0}}));
  EXPECT_TRUE(o.request(2, 0));
}

TEST(UniqueUpload, APieceSentToASecondHostIsCountedOnce) {
  Origin o;
  o.ready(1);
  o.ready(2);
  ASSERT_TRUE(o.request(1, 0));
  EXPECT_TRUE(o.policy.sent(1, 0, kBlock, kPiece, t0, o.last));   // its first block to host 1
  EXPECT_FALSE(o.policy.sent(1, 0, kBlock, kPiece, t0, o.last));  // more blocks of it
  EXPECT_EQ(o.policy.copies_sent(0), 1);
  Messages m;
  o.policy.choked(1, m);  // mid-piece: the piece is offered to the others
  ASSERT_TRUE(o.request(2, 0));
  EXPECT_TRUE(o.policy.sent(2, 0, kBlock, kPiece, t0, o.last));
  EXPECT_EQ(o.policy.copies_sent(0), 2);
  EXPECT_EQ(o.policy.pieces_sent_twice(), 1);
  EXPECT_FALSE(o.policy.sent(1, 0, kBlock, kPiece, t0, o.last));  // host 1 unchoked again, finishing it: no new copy
  EXPECT_EQ(o.policy.pieces_sent_twice(), 1);
  EXPECT_EQ(o.policy.copies_sent(1), 0);
}

TEST(UniqueUpload, HostsThatCannotBeSteeredAreServedAsPlainBitTorrent) {
  Origin o;
  o.ready(1);
  o.ready(9, false);  // no lt_donthave: cannot be told, so never refused
  o.request(1, 0);
  EXPECT_TRUE(o.last.dont_have.empty());  // nothing is sent to host 9
  EXPECT_TRUE(o.request(9, 0));
  auto m = o.have(9, 2);
  EXPECT_EQ(m.dont_have, (Sent{{1, 2}}));  // but what it has still counts
}

TEST(UniqueUpload, EventsBeforeAHostIsReadyAreRemembered) {
  Origin o;
  o.ready(1);
  o.have(2, 1);  // host 2's bitfield arrives before its extension handshake
  EXPECT_FALSE(o.request(1, 1));
  auto m = o.ready(2);
  EXPECT_TRUE(m.dont_have.empty());  // it has piece 1 itself; nothing else is covered
  EXPECT_TRUE(o.request(2, 0));
}

TEST(UniqueUpload, AStarvingHostIsServedAsPlainBitTorrent) {
  Origin o;
  o.ready(1);
  o.ready(2);
  o.request(1, 0);
  o.have(1, 1);
  EXPECT_FALSE(o.request(2, 0));  // refused: host 1 has or receives pieces 0 and 1
  Messages m;
  o.policy.tick(t0 + 3s, m);
  EXPECT_TRUE(m.have.empty());  // 3 s without a piece: still steered
  o.policy.tick(t0 + 5s, m);
  EXPECT_EQ(m.have, (Sent{{2, 0}, {2, 1}}));  // host 2 may never reach host 1: everything again
  EXPECT_TRUE(o.request(2, 0));
  o.policy.sent(2, 0, kBlock, kPiece, t0 + 5s, o.last);
  m = {};
  o.policy.peer_has(1, 2, t0 + 5s, m);
  EXPECT_TRUE(m.dont_have.empty());  // no longer steered
  m = {};
  o.policy.peer_has(2, 0, t0 + 6s, m);  // the piece the origin sent it: still starved
  EXPECT_EQ(m.dont_have, (Sent{{1, 0}}));  // (host 1 learns that host 2 covers piece 0)
  EXPECT_TRUE(o.request(2, 1));
}

// A starved host that gains a piece from a peer is reachable again: the origin steers it again,
// withdrawing what others cover, and no longer serves it a covered piece.
TEST(UniqueUpload, AStarvedHostIsSteeredAgainOnceAPeerServesIt) {
  Origin o(5);
  o.ready(1);
  o.ready(2);
  Messages ignored;
  o.policy.peer_has(1, 0, t0, ignored);
  o.policy.peer_has(1, 1, t0, ignored);
  o.policy.tick(t0 + 5s, ignored);  // host 2: refused pieces 0 and 1, nothing for 5 s
  EXPECT_TRUE(o.request(2, 1));     // served plainly
  Messages m;
  o.policy.peer_has(2, 0, t0 + 6s, m);  // from host 1, not from the origin
  EXPECT_EQ(m.dont_have, (Sent{{2, 1}}));  // piece 1 is host 1's (and being sent to host 2)
  EXPECT_FALSE(o.request(2, 1));
  EXPECT_TRUE(o.request(2, 2));  // nobody covers piece 2
  m = {};
  o.policy.peer_has(1, 3, t0 + 7s, m);
  EXPECT_EQ(m.dont_have, (Sent{{2, 3}}));  // steered: told at once
}

TEST(UniqueUpload, AHostGainingPiecesIsNotStarving) {
  Origin o;
  o.ready(1);
  o.ready(2);
  Messages ignored;
  o.policy.peer_has_all(1, t0, ignored);  // a complete host: host 2 is told the origin lacks all
  Messages m;
  o.policy.peer_has(2, 3, t0 + 3s, m);  // but it gains pieces from its peers
  o.policy.tick(t0 + 5s, m);
  EXPECT_TRUE(m.have.empty());
  m = {};
  o.policy.tick(t0 + 7100ms, m);  // 4.1 s since its last piece: now it is
  EXPECT_EQ(m.have, (Sent{{2, 0}, {2, 1}, {2, 2}}));  // everything it lacks
}

// A host re-evaluates its interest only when it gains a piece, so one whose every missing piece
// was withdrawn would stay "interested" in the origin and hold its upload slots for nothing.
TEST(UniqueUpload, AHostLeftWithNothingToAskIsToldTheOriginHasNothingForIt) {
  Origin o(3);
  o.ready(1);
  o.ready(2);
  o.have(2, 0);                    // host 2 already holds piece 0
  EXPECT_TRUE(o.request(1, 1));    // host 1 receives piece 1
  EXPECT_TRUE(o.last.have_none.empty());
  EXPECT_EQ(o.last.dont_have, (Sent{{2, 1}}));
  auto m = o.have(1, 2);           // host 1 got piece 2 elsewhere: host 2 now lacks only covered pieces
  EXPECT_EQ(m.dont_have, (Sent{{2, 2}}));
  EXPECT_EQ(m.have_none, (std::vector<UniqueUploadPolicy::PeerId>{2}));
  Messages gone;
  o.policy.remove_peer(1, gone);   // its pieces are offered again, after the HAVE_NONE
  EXPECT_EQ(gone.have, (Sent{{2, 1}, {2, 2}}));
  EXPECT_TRUE(gone.have_none.empty());
  EXPECT_TRUE(o.request(2, 1));
}

TEST(UniqueUpload, AHostThatGainsItsLastPieceNeedsNoHaveNone) {
  Origin o(2);
  o.ready(1);
  EXPECT_TRUE(o.request(1, 0));
  EXPECT_TRUE(o.have(1, 0).have_none.empty());
  EXPECT_TRUE(o.request(1, 1));
  EXPECT_TRUE(o.have(1, 1).have_none.empty());  // its own gain updates its interest
}

TEST(UniqueUpload, AHostJoiningWhenEverythingItLacksIsCoveredIsToldAtOnce) {
  Origin o(2);
  o.ready(1);
  o.have(1, 0);
  o.have(1, 1);
  auto late = o.ready(2);
  EXPECT_EQ(late.dont_have, (Sent{{2, 0}, {2, 1}}));
  EXPECT_EQ(late.have_none, (std::vector<UniqueUploadPolicy::PeerId>{2}));
}

TEST(UniqueUpload, AHotSetLeavesTheOriginAFewPiecesAtATime) {
  UniqueUploadPolicy policy(6, 5s, 4s, {true, true, true, true, false, false}, 2);
  Messages m;
  for (UniqueUploadPolicy::PeerId host : {1u, 2u, 3u}) policy.peer_ready(host, true, t0, m);
  EXPECT_TRUE(policy.allow_request(1, 0, t0, m));
  EXPECT_TRUE(policy.allow_request(2, 1, t0, m));
  EXPECT_EQ(policy.hot_in_flight(), 2);
  m = {};
  EXPECT_FALSE(policy.allow_request(3, 2, t0, m));  // the window is full
  EXPECT_EQ(m.dont_have, (Sent{{3, 2}}));
  EXPECT_FALSE(policy.covered(2));
  EXPECT_TRUE(policy.allow_request(3, 4, t0, m));  // outside the hot set: not paced
  m = {};
  for (int block = 0; block < 3; ++block) policy.sent(1, 0, kBlock, kPiece, t0, m);
  EXPECT_TRUE(m.have.empty());  // a block of piece 0 is still to go
  policy.sent(1, 0, kBlock, kPiece, t0, m);  // its last: the place frees, the piece stays covered
  EXPECT_EQ(m.have, (Sent{{3, 2}}));
  EXPECT_TRUE(policy.covered(0));
  EXPECT_EQ(policy.hot_in_flight(), 1);
  EXPECT_TRUE(policy.allow_request(3, 2, t0, m));
  m = {};
  policy.peer_has(1, 0, t0, m);  // the HAVE of a piece sent whole frees nothing more
  EXPECT_EQ(policy.hot_in_flight(), 2);
  EXPECT_FALSE(policy.allow_request(1, 3, t0, m));
  m = {};
  policy.peer_has(2, 1, t0, m);  // host 2 has piece 1 before it was sent whole (from a peer)
  EXPECT_EQ(m.have, (Sent{{1, 3}}));
  EXPECT_EQ(policy.hot_in_flight(), 1);
}

TEST(UniqueUpload, AHotPieceWhoseReceiverIsChokedFreesItsPlace) {
  UniqueUploadPolicy policy(4, 5s, 4s, {true, true, true, true}, 1);
  Messages m;
  for (UniqueUploadPolicy::PeerId host : {1u, 2u}) policy.peer_ready(host, true, t0, m);
  EXPECT_TRUE(policy.allow_request(1, 0, t0, m));
  EXPECT_FALSE(policy.allow_request(2, 1, t0, m));
  m = {};
  policy.choked(1, m);
  EXPECT_EQ(m.have, (Sent{{2, 0}, {2, 1}}));  // the piece host 1 lost, and the one host 2 waited for
  EXPECT_EQ(policy.hot_in_flight(), 0);
  EXPECT_TRUE(policy.allow_request(2, 1, t0, m));
}

TEST(UniqueUpload, AHotSetWithoutAWindowIsNotPaced) {
  UniqueUploadPolicy policy(3, 5s, 4s, {true, true, true}, 0);
  Messages m;
  for (UniqueUploadPolicy::PeerId host : {1u, 2u, 3u}) policy.peer_ready(host, true, t0, m);
  for (int piece = 0; piece < 3; ++piece)
    EXPECT_TRUE(policy.allow_request(static_cast<UniqueUploadPolicy::PeerId>(piece + 1), piece, t0, m));
}
