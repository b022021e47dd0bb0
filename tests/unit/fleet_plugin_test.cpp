// The order of the optimistic unchoke slot: needy peers first, near-equal ones in turn.
#include "rookery/swarm/fleet_plugin.hpp"

#include <gtest/gtest.h>

#include <set>

namespace rookery::swarm {
namespace {

TEST(OptimisticUnchokeRank, APeerHoldingFewerPiecesBeyondTheJitterAlwaysGoesFirst) {
  // 128 pieces: the jitter spans 16 pieces, so 17 fewer wins against any draw.
  for (std::uint32_t a : {0u, 1u, 127u, 4000000000u}) {
    for (std::uint32_t b : {0u, 1u, 127u, 4000000000u}) {
      EXPECT_LT(optimistic_unchoke_rank(10, 128, a), optimistic_unchoke_rank(27, 128, b)) << a << " " << b;
    }
  }
}

TEST(OptimisticUnchokeRank, NearEqualPeersTakeTurns) {
  // 3 pieces apart out of 128: either may go first, depending on the draw.
  EXPECT_LT(optimistic_unchoke_rank(13, 128, 0), optimistic_unchoke_rank(10, 128, 127));
  EXPECT_GT(optimistic_unchoke_rank(13, 128, 127), optimistic_unchoke_rank(10, 128, 0));
}

TEST(OptimisticUnchokeRank, TheJitterIsAnEighthOfTheRelease) {
  std::set<std::uint64_t> ranks;
  for (std::uint32_t draw = 0; draw < 1000; ++draw) ranks.insert(optimistic_unchoke_rank(5, 64, draw));
  EXPECT_EQ(*ranks.begin(), 5u * 8);
  EXPECT_EQ(*ranks.rbegin(), 5u * 8 + 63);  // 63 eighths: just under 8 pieces of 64
  EXPECT_EQ(ranks.size(), 64u);
}

TEST(OptimisticUnchokeRank, APeerWithoutMetadataRanksWithoutDividingByZero) {
  EXPECT_EQ(optimistic_unchoke_rank(0, 0, 12345), 0u);
  EXPECT_EQ(optimistic_unchoke_rank(-1, 0, 7), 0u);
}

}  // namespace
}  // namespace rookery::swarm
