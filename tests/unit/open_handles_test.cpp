// fs::OpenHandles: the table of open files that garbage collection consults.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "rookery/fs/open_handles.hpp"

using rookery::fs::OpenHandles;

TEST(OpenHandles, CountsOpenFilesPerRelease) {
  OpenHandles table(64);
  table.opened(101, 1);
  table.opened(102, 1);
  table.opened(201, 2);
  EXPECT_EQ(table.open_in(1), 2);
  EXPECT_EQ(table.open_in(2), 1);
  EXPECT_EQ(table.open_in(3), 0);
  table.released(101);
  EXPECT_EQ(table.open_in(1), 1);
}

TEST(OpenHandles, RecordingAndRemovingAreIdempotent) {
  OpenHandles table(64);
  table.opened(7, 1);
  table.opened(7, 1);  // adopted by a successor that recorded it again
  EXPECT_EQ(table.open_in(1), 1);
  table.opened(8, 1);
  table.released(7);
  table.released(7);  // a RELEASE answered twice
  EXPECT_EQ(table.open_in(1), 1);
  table.released(99);  // never recorded
  EXPECT_EQ(table.open_in(1), 1);
}

TEST(OpenHandles, ReusesRemovedSlotsAndFindsHandlesPastThem) {
  OpenHandles table(8);
  for (int round = 0; round < 100; ++round) {  // far more opens than slots, never more than 8 at once
    for (std::uint64_t h = 1; h <= 6; ++h) table.opened(round * 10 + h, 1);
    for (std::uint64_t h = 1; h <= 6; h += 2) table.released(round * 10 + h);
    EXPECT_EQ(table.open_in(1), 3) << "round " << round;
    for (std::uint64_t h = 2; h <= 6; h += 2) table.released(round * 10 + h);
    EXPECT_EQ(table.open_in(1), 0) << "round " << round;
  }
}

TEST(OpenHandles, AFullTableKeepsEveryReleaseFromEviction) {
  OpenHandles table(4);
  for (std::uint64_t h = 1; h <= 4; ++h) table.opened(h, 1);
  EXPECT_EQ(table.open_in(2), 0);
  table.opened(5, 1);  // no slot left: unrecorded
  EXPECT_EQ(table.open_in(2), 1);
  for (std::uint64_t h = 1; h <= 5; ++h) table.released(h);
  EXPECT_EQ(table.open_in(2), 1) << "an unrecorded open might still be held";
}

TEST(OpenHandles, ThreadsRecordAndRemoveConcurrently) {
  OpenHandles table(16384);
  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&table, t] {
      for (std::uint64_t i = 1; i <= 2000; ++i) table.opened((std::uint64_t{t + 1} << 32) | i, t + 1);
      for (std::uint64_t i = 1; i <= 2000; i += 2) table.released((std::uint64_t{t + 1} << 32) | i);
    });
  }
  for (auto& t : threads) t.join();
  for (std::uint32_t r = 1; r <= 4; ++r) EXPECT_EQ(table.open_in(r), 1000);
}

// Against a model, in a small table where chains collide and wrap: every handle recorded and not
// yet removed is counted, every removed one is gone, whatever the order.
TEST(OpenHandles, MatchesAModelThroughRandomOpensAndReleases) {
  OpenHandles table(16);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> open;
  std::uint64_t next_handle = 1;
  std::uint32_t seed = 12345;
  auto random = [&seed] { return seed = seed * 1103515245 + 12345, (seed >> 16) & 0x7fff; };
  for (int step = 0; step < 20000; ++step) {
    if (open.size() < 12 && (open.empty() || random() % 2)) {
      std::uint64_t h = (std::uint64_t{random()} << 32) | next_handle++;
      std::uint32_t r = 1 + random() % 3;
      table.opened(h, r);
      open.emplace_back(h, r);
    } else {
      auto at = random() % open.size();
      table.released(open[at].first);
      table.released(open[at].first);  // twice: idempotent
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(at));
    }
    for (std::uint32_t r = 1; r <= 3; ++r) {
      int want = 0;
      for (auto& [h, rel] : open) want += rel == r;
      ASSERT_EQ(table.open_in(r), want) << "step " << step << ", release " << r;
    }
  }
}
