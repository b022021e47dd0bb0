#include <gtest/gtest.h>

#include "rookery/fs/readahead.hpp"

using rookery::fs::ReadaheadConfig;
using rookery::fs::ReadaheadWindow;

namespace {
constexpr std::int64_t KiB = 1024, MiB = 1024 * 1024;
ReadaheadConfig config(std::int64_t ramp_after = 0) {
  return {.initial = 1 * MiB, .max = 8 * MiB, .backward_tolerance = 1 * MiB, .forward_tolerance = 16 * MiB,
          .ramp_after = ramp_after};
}
}  // namespace

TEST(Readahead, SequentialScanStartsSmallAndDoubles) {
  ReadaheadWindow w(config());
  auto first = w.on_read(0, 128 * KiB);
  EXPECT_EQ(first.offset, 128 * KiB);
  EXPECT_EQ(first.length, 1 * MiB);
  // Still well inside the requested window: nothing new to ask for.
  EXPECT_EQ(w.on_read(128 * KiB, 128 * KiB).length, 0);
  // Half of the window consumed: it doubles and only the new tail is requested.
  auto grown = w.on_read(256 * KiB, 512 * KiB);
  EXPECT_EQ(w.window(), 2 * MiB);
  EXPECT_EQ(grown.offset, 128 * KiB + 1 * MiB);
  EXPECT_EQ(grown.offset + grown.length, 768 * KiB + 2 * MiB);
}

TEST(Readahead, WindowIsCappedAtMax) {
  ReadaheadWindow w(config());
  std::int64_t off = 0;
  for (int i = 0; i < 200; ++i, off += 512 * KiB) w.on_read(off, 512 * KiB);
  EXPECT_EQ(w.window(), 8 * MiB);
}

TEST(Readahead, SeekResetsWindow) {
  ReadaheadWindow w(config());
  for (std::int64_t off = 0; off < 8 * MiB; off += 512 * KiB) w.on_read(off, 512 * KiB);
  EXPECT_GT(w.window(), 1 * MiB);
  auto after_seek = w.on_read(500 * MiB, 4 * KiB);
  EXPECT_EQ(after_seek.length, 0);
  EXPECT_EQ(w.window(), 0);
  // Reading on from the new position is a scan again: the window restarts small.
  auto resumed = w.on_read(500 * MiB + 4 * KiB, 128 * KiB);
  EXPECT_EQ(w.window(), 1 * MiB);
  EXPECT_EQ(resumed.offset, 500 * MiB + 132 * KiB);
}

TEST(Readahead, KernelReorderingWithinToleranceIsNotASeek) {
  ReadaheadWindow w(config());
  w.on_read(0, 1 * MiB);
  w.on_read(1 * MiB, 1 * MiB);
  auto before = w.window();
  w.on_read(2 * MiB - 256 * KiB, 128 * KiB);  // out-of-order readahead, 256 KiB back
  w.on_read(2 * MiB + 512 * KiB, 128 * KiB);  // and 512 KiB ahead
  EXPECT_GE(w.window(), before);
}

TEST(Readahead, RandomFirstReadFetchesNothingAhead) {
  ReadaheadWindow w(config());
  EXPECT_EQ(w.on_read(77 * MiB, 4 * KiB).length, 0);
  EXPECT_EQ(w.on_read(3 * MiB, 4 * KiB).length, 0);
  EXPECT_EQ(w.window(), 0);
}

TEST(Readahead, WindowOpensOnlyAfterARunOfRampAfterBytes) {
  ReadaheadWindow w(config(4 * MiB));
  // A 2 MiB run read in 64 KiB pieces, as an application at start does: nothing fetched ahead.
  for (std::int64_t off = 10 * MiB; off < 12 * MiB; off += 64 * KiB) EXPECT_EQ(w.on_read(off, 64 * KiB).length, 0);
  // The next run starts after a seek; it opens the window once 4 MiB of it have been read.
  std::int64_t off = 100 * MiB;
  for (; off + 64 * KiB < 104 * MiB; off += 64 * KiB) EXPECT_EQ(w.on_read(off, 64 * KiB).length, 0);
  auto opened = w.on_read(off, 64 * KiB);
  EXPECT_EQ(opened.offset, 104 * MiB);
  EXPECT_EQ(opened.length, 1 * MiB);
}

TEST(Readahead, RampCountsBytesReadNotTheSpanJumpedOver) {
  ReadaheadWindow w(config(4 * MiB));
  // Forward jumps within the tolerance keep the run going, but only bytes read count towards it.
  EXPECT_EQ(w.on_read(0, 128 * KiB).length, 0);
  EXPECT_EQ(w.on_read(3 * MiB, 128 * KiB).length, 0);
  EXPECT_EQ(w.on_read(4 * MiB + 512 * KiB, 128 * KiB).length, 0);
  EXPECT_EQ(w.window(), 0);
}
