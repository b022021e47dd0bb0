// The demand policy's rules, against fake releases: who is held, with which priorities and
// deadlines, when the hold is released, and the download limit.
#include <gtest/gtest.h>

#include "rookery/swarm/demand.hpp"

using namespace rookery::swarm;
using namespace std::chrono_literals;
using Clock = DemandTarget::Clock;

namespace {

class FakeTarget final : public DemandTarget {
 public:
  explicit FakeTarget(int pieces) : demand(static_cast<std::size_t>(pieces), false), pieces_(pieces) {}
  int num_pieces() const override { return pieces_; }
  std::vector<bool> in_demand() const override { return demand; }
  int waiting_reads_since(Clock::time_point since) const override {
    return waiting_since && *waiting_since >= since ? 1 : 0;
  }
  void set_deadline(int piece, int ms) override { deadlines.emplace_back(piece, ms); }
  void set_priorities(const std::vector<Priority>& p) override { priorities.push_back(p); }
  void set_max_peers(int peers) override { max_peers.push_back(peers); }

  std::vector<bool> demand;
  std::optional<Clock::time_point> waiting_since;  // a read waits, since then
  std::vector<std::pair<int, int>> deadlines;
  std::vector<std::vector<Priority>> priorities;  // every call, in order
  std::vector<int> max_peers;                      // every call, in order

 private:
  int pieces_;
};

std::vector<Priority> all(Priority p, int n = 4) { return std::vector<Priority>(static_cast<std::size_t>(n), p); }

struct Policy {
  explicit Policy(int max_rate = 0) : policy(DemandOptions{.max_download_rate = max_rate}, [this](int l) { limits.push_back(l); }) {}
  std::vector<int> limits;
  DemandPolicy policy;
};

const Clock::time_point t0 = Clock::time_point(100s);

}  // namespace

TEST(DemandPolicy, AWaitingReadHoldsBackgroundFetchingButKeepsDemandedPieces) {
  Policy p;
  auto background = std::make_shared<FakeTarget>(4), lazy = std::make_shared<FakeTarget>(4);
  p.policy.add(background, true);
  p.policy.add(lazy, false);
  background->demand = {false, true, false, false};  // a readahead window asked for piece 1
  lazy->demand = {true, false, false, false};
  p.policy.demand(*lazy, {0}, {2, 3}, t0);
  EXPECT_TRUE(p.policy.holding());
  ASSERT_EQ(background->priorities.size(), 1u);
  EXPECT_EQ(background->priorities[0], (std::vector<Priority>{Priority::skip, Priority::top, Priority::skip, Priority::skip}));
  EXPECT_TRUE(lazy->priorities.empty());  // fetches only what is read anyway
  // The piece read now first, then readahead, nearest first.
  EXPECT_EQ(lazy->deadlines, (std::vector<std::pair<int, int>>{{0, 0}, {2, 200}, {3, 250}}));
  EXPECT_TRUE(p.limits.empty());  // no download limit configured
}

TEST(DemandPolicy, ReadaheadAloneHoldsNothing) {
  Policy p;
  auto background = std::make_shared<FakeTarget>(4);
  p.policy.add(background, true);
  p.policy.demand(*background, {}, {1}, t0);
  EXPECT_FALSE(p.policy.holding());
  EXPECT_TRUE(background->priorities.empty());
  EXPECT_EQ(background->deadlines, (std::vector<std::pair<int, int>>{{1, 200}}));
}

TEST(DemandPolicy, HoldIsReleasedASecondAfterTheLastWait) {
  Policy p(1000);
  auto background = std::make_shared<FakeTarget>(4);
  p.policy.add(background, true);
  p.policy.demand(*background, {0}, {}, t0);
  EXPECT_EQ(p.limits, std::vector<int>{0});  // lifted while a read waits
  p.policy.demand(*background, {1}, {}, t0 + 100ms);
  EXPECT_EQ(p.limits, std::vector<int>{0});  // once
  p.policy.tick(t0 + 1000ms);  // 0.9 s after the last wait
  EXPECT_TRUE(p.policy.holding());
  EXPECT_EQ(background->priorities.size(), 1u);
  p.policy.tick(t0 + 1200ms);
  EXPECT_FALSE(p.policy.holding());
  ASSERT_EQ(background->priorities.size(), 2u);
  EXPECT_EQ(background->priorities[1], all(Priority::normal));
  EXPECT_EQ(p.limits, (std::vector<int>{0, 1000}));  // restored
}

TEST(DemandPolicy, ReadsStillWaitingKeepTheHoldAndHoldLateJoiners) {
  Policy p;
  auto reader = std::make_shared<FakeTarget>(4), background = std::make_shared<FakeTarget>(4);
  p.policy.add(reader, false);
  p.policy.demand(*reader, {0}, {}, t0);
  reader->waiting_since = t0;
  p.policy.add(background, true);  // joined during the hold
  EXPECT_TRUE(background->priorities.empty());
  p.policy.tick(t0 + 3s);  // the read waits on: 3 s is bandwidth, not a missing source
  EXPECT_TRUE(p.policy.holding());
  ASSERT_EQ(background->priorities.size(), 1u);
  EXPECT_EQ(background->priorities[0], all(Priority::skip));
}

TEST(DemandPolicy, AStuckReadHoldsNothingBack) {
  Policy p;
  auto reader = std::make_shared<FakeTarget>(4), background = std::make_shared<FakeTarget>(4);
  p.policy.add(reader, false);
  p.policy.add(background, true);
  p.policy.demand(*reader, {0}, {}, t0);
  reader->waiting_since = t0;
  p.policy.tick(t0 + 6s);  // waiting over 5 s: for a source, not for bandwidth
  EXPECT_FALSE(p.policy.holding());
  ASSERT_EQ(background->priorities.size(), 2u);
  EXPECT_EQ(background->priorities[1], all(Priority::normal));
}

TEST(DemandPolicy, PrefetchDuringAHoldIsHeldAtOnce) {
  Policy p;
  auto reader = std::make_shared<FakeTarget>(4), prefetched = std::make_shared<FakeTarget>(4);
  p.policy.add(reader, false);
  p.policy.add(prefetched, false);
  p.policy.fetch_all(*prefetched);  // no hold: every piece at normal priority
  ASSERT_EQ(prefetched->priorities.size(), 1u);
  EXPECT_EQ(prefetched->priorities[0], all(Priority::normal));
  p.policy.demand(*reader, {0}, {}, t0);
  ASSERT_EQ(prefetched->priorities.size(), 2u);
  EXPECT_EQ(prefetched->priorities[1], all(Priority::skip));
  auto late = std::make_shared<FakeTarget>(4);
  p.policy.add(late, false);
  p.policy.fetch_all(*late);  // during the hold
  ASSERT_EQ(late->priorities.size(), 1u);
  EXPECT_EQ(late->priorities[0], all(Priority::skip));
}

TEST(DemandPolicy, AHotSetComesFirstWheneverTheReleaseFetchesNormally) {
  Policy p;
  auto background = std::make_shared<FakeTarget>(4), lazy = std::make_shared<FakeTarget>(4);
  p.policy.add(background, true, {false, false, true, false});
  p.policy.add(lazy, false, {true, false, false, false});
  background->demand = {true, false, false, false};
  p.policy.demand(*background, {0}, {}, t0);
  // Held like any background piece while a read waits...
  EXPECT_EQ(background->priorities.back(), (std::vector<Priority>{Priority::top, Priority::skip, Priority::skip, Priority::skip}));
  background->demand = std::vector<bool>(4, false);
  p.policy.tick(t0 + 2s);
  // ...and first again once the hold is released.
  EXPECT_EQ(background->priorities.back(), (std::vector<Priority>{Priority::normal, Priority::normal, Priority::top, Priority::normal}));
  EXPECT_TRUE(lazy->priorities.empty());  // lazy: the engine asked for its hot set at the join
  p.policy.fetch_all(*lazy);              // a prefetch of a lazy release: hot pieces first
  EXPECT_EQ(lazy->priorities.back(), (std::vector<Priority>{Priority::top, Priority::normal, Priority::normal, Priority::normal}));
}

TEST(DemandPolicy, RemovedTargetsAreLeftAlone) {
  Policy p;
  auto reader = std::make_shared<FakeTarget>(4), gone = std::make_shared<FakeTarget>(4);
  p.policy.add(reader, false);
  p.policy.add(gone, true);
  p.policy.remove(*gone);
  p.policy.demand(*reader, {0}, {}, t0);
  p.policy.fetch_all(*gone);
  p.policy.tick(t0 + 5s);
  EXPECT_TRUE(gone->priorities.empty());
}

TEST(DemandPolicy, OnlyAReleaseFetchedWholeHasItsPeersBounded) {
  std::vector<int> limits;
  DemandPolicy policy(DemandOptions{.whole_fetch_peers = 40}, [&](int l) { limits.push_back(l); });
  auto background = std::make_shared<FakeTarget>(4), lazy = std::make_shared<FakeTarget>(4);
  policy.add(background, true);
  policy.add(lazy, false);
  EXPECT_EQ(background->max_peers, std::vector<int>{40});
  EXPECT_TRUE(lazy->max_peers.empty());  // reads wait on whoever holds the piece
  policy.demand(*lazy, {0}, {}, t0);
  policy.tick(t0 + 5s);
  EXPECT_TRUE(lazy->max_peers.empty());
  policy.fetch_all(*lazy);  // a prefetch: fetched whole from now on
  policy.fetch_all(*lazy);
  policy.fetch_all(*background);
  EXPECT_EQ(lazy->max_peers, std::vector<int>{40});
  EXPECT_EQ(background->max_peers, std::vector<int>{40});
}

TEST(DemandPolicy, NoPeerBoundUnlessOneIsSet) {
  Policy p;
  auto background = std::make_shared<FakeTarget>(4), lazy = std::make_shared<FakeTarget>(4);
  p.policy.add(background, true);
  p.policy.add(lazy, false);
  p.policy.fetch_all(*lazy);
  EXPECT_TRUE(background->max_peers.empty());
  EXPECT_TRUE(lazy->max_peers.empty());
}
