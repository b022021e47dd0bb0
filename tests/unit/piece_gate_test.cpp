#include <gtest/gtest.h>

#include "rookery/swarm/piece_gate.hpp"

using rookery::swarm::PieceGate;
using State = PieceGate::State;
constexpr auto kForever = PieceGate::Clock::time_point::max();

TEST(PieceGate, ReadOfReadablePiecesCompletesAtOnce) {
  PieceGate gate(4);
  gate.mark_downloaded(1);
  gate.mark_readable(1);
  int result = -1;
  bool waited = true;
  auto plan = gate.wait(1, 1, kForever, [&](int e, bool w) { result = e, waited = w; });
  EXPECT_TRUE(plan.complete);
  EXPECT_EQ(result, 0);
  EXPECT_FALSE(waited);
}

TEST(PieceGate, DownloadedIsNotReadableUntilVerified) {
  PieceGate gate(4);
  EXPECT_TRUE(gate.mark_downloaded(2));
  EXPECT_FALSE(gate.mark_downloaded(2));  // a second alert for the same piece schedules nothing
  int result = -1;
  auto plan = gate.wait(0, 3, kForever, [&](int e, bool) { result = e; });
  EXPECT_FALSE(plan.complete);
  EXPECT_EQ(plan.missing, (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(plan.unverified, (std::vector<int>{2}));
  for (int p : {0, 1, 2}) {
    gate.mark_readable(p);
    EXPECT_EQ(result, -1) << "completed before piece 3 was readable";
  }
  gate.mark_readable(3);
  EXPECT_EQ(result, 0);
  EXPECT_EQ(gate.waiting_reads(), 0);
}

TEST(PieceGate, UrgentTellsWhetherAReaderWaits) {
  PieceGate gate(3);
  gate.wait(1, 1, kForever, [](int, bool) {});
  bool urgent = false;
  gate.mark_downloaded(0, &urgent);
  EXPECT_FALSE(urgent);
  gate.mark_downloaded(1, &urgent);
  EXPECT_TRUE(urgent);
}

TEST(PieceGate, FailedPieceFailsItsReadersOnly) {
  PieceGate gate(3);
  int a = -1, b = -1;
  gate.wait(0, 1, kForever, [&](int e, bool) { a = e; });
  gate.wait(2, 2, kForever, [&](int e, bool) { b = e; });
  gate.mark_failed(1, EIO);
  EXPECT_EQ(a, EIO);
  EXPECT_EQ(b, -1);
  gate.mark_readable(0);  // the failed wait must not complete a second time
  EXPECT_EQ(a, EIO);
  gate.mark_readable(2);
  EXPECT_EQ(b, 0);
  int c = -1;
  EXPECT_TRUE(gate.wait(1, 2, kForever, [&](int e, bool) { c = e; }).complete);
  EXPECT_EQ(c, EIO);
}

TEST(PieceGate, ExpiredWaitsFailOnceAndLateArrivalIsHarmless) {
  PieceGate gate(2);
  auto now = PieceGate::Clock::now();
  int calls = 0, result = -1;
  gate.wait(0, 1, now + std::chrono::seconds(1), [&](int e, bool) { ++calls, result = e; });
  EXPECT_EQ(gate.expire(now, EIO), 0);
  EXPECT_EQ(gate.expire(now + std::chrono::seconds(2), EIO), 1);
  EXPECT_EQ(result, EIO);
  gate.mark_readable(0);
  gate.mark_readable(1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(gate.waiting_reads(), 0);
}

TEST(PieceGate, CancelAllAnswersEveryWait) {
  PieceGate gate(2);
  int a = -1, b = -1;
  gate.wait(0, 0, kForever, [&](int e, bool) { a = e; });
  gate.wait(0, 1, kForever, [&](int e, bool) { b = e; });
  gate.cancel_all(EIO);
  EXPECT_EQ(a, EIO);
  EXPECT_EQ(b, EIO);
  EXPECT_EQ(gate.waiting_reads(), 0);
}

TEST(PieceGate, PrefetchIsClaimedOnceAndOnlyForMissingPieces) {
  PieceGate gate(3);
  gate.mark_downloaded(2);
  EXPECT_TRUE(gate.claim_prefetch(0));
  EXPECT_FALSE(gate.claim_prefetch(0));
  EXPECT_FALSE(gate.claim_prefetch(2));
  EXPECT_EQ(gate.count(State::missing), 2);
}

TEST(PieceGate, InDemandIsMissingPiecesThatAreWaitedForOrPrefetched) {
  PieceGate gate(6);
  gate.wait(1, 2, kForever, [](int, bool) {});
  gate.claim_prefetch(4);
  gate.mark_downloaded(2);  // downloaded: no longer needs fetching, though its reader still waits
  EXPECT_EQ(gate.in_demand(), (std::vector<bool>{false, true, false, false, true, false}));
  gate.mark_downloaded(1);
  gate.mark_readable(1);
  gate.mark_readable(2);  // the read completes
  gate.mark_downloaded(4);
  EXPECT_EQ(gate.in_demand(), (std::vector<bool>(6, false)));
}

TEST(PieceGate, WaitingReadsSinceCountsOnlyOpenWaitsThatBeganThen) {
  PieceGate gate(4);
  gate.wait(0, 1, kForever, [](int, bool) {});  // one wait over two pieces counts once
  auto between = PieceGate::Clock::now();
  EXPECT_EQ(gate.waiting_reads_since(PieceGate::Clock::time_point::min()), 1);
  EXPECT_EQ(gate.waiting_reads_since(between + std::chrono::hours(1)), 0);
  gate.wait(2, 2, kForever, [](int, bool) {});
  EXPECT_EQ(gate.waiting_reads_since(between), 1);
  gate.mark_downloaded(2);
  gate.mark_readable(2);
  EXPECT_EQ(gate.waiting_reads_since(between), 0);
  EXPECT_EQ(gate.waiting_reads_since(PieceGate::Clock::time_point::min()), 1);
}
