#include <gtest/gtest.h>

#include "rookery/swarm/piece_map.hpp"

using rookery::swarm::pieces_for;

namespace {
// v1 layout: files packed back to back, so pieces are shared between files.
lt::file_storage packed_files() {
  lt::file_storage fs;
  fs.set_piece_length(16384);
  fs.add_file("r/a", 10000);
  fs.add_file("r/b", 40000);  // starts inside piece 0, ends inside piece 3
  fs.add_file("r/c", 0);
  fs.add_file("r/d", 20000);
  fs.set_num_pieces(static_cast<int>((fs.total_size() + 16383) / 16384));
  return fs;
}
}  // namespace

TEST(PieceMap, RangeWithinOnePiece) {
  auto fs = packed_files();
  auto r = pieces_for(fs, lt::file_index_t(0), 0, 100);
  EXPECT_EQ(r.first, 0);
  EXPECT_EQ(r.last, 0);
}

TEST(PieceMap, RangeCrossingFileAndPieceBoundaries) {
  auto fs = packed_files();
  // b occupies torrent bytes [10000, 50000): its first byte is in piece 0, its last in piece 3.
  auto whole = pieces_for(fs, lt::file_index_t(1), 0, 40000);
  EXPECT_EQ(whole.first, 0);
  EXPECT_EQ(whole.last, 3);
  // Bytes [6384, 6385) of b are torrent byte 16384: exactly the start of piece 1.
  auto edge = pieces_for(fs, lt::file_index_t(1), 6384, 1);
  EXPECT_EQ(edge.first, 1);
  EXPECT_EQ(edge.last, 1);
  auto before_edge = pieces_for(fs, lt::file_index_t(1), 6383, 2);
  EXPECT_EQ(before_edge.first, 0);
  EXPECT_EQ(before_edge.last, 1);
}

TEST(PieceMap, ClampsToFileSizeAndEmptyRanges) {
  auto fs = packed_files();
  auto past_end = pieces_for(fs, lt::file_index_t(3), 19999, 1 << 20);
  EXPECT_EQ(past_end.first, past_end.last);
  EXPECT_EQ(past_end.last, static_cast<int>((50000 + 19999) / 16384));
  EXPECT_LT(pieces_for(fs, lt::file_index_t(3), 20000, 10).last, pieces_for(fs, lt::file_index_t(3), 20000, 10).first);
  EXPECT_LT(pieces_for(fs, lt::file_index_t(2), 0, 10).last, pieces_for(fs, lt::file_index_t(2), 0, 10).first);
  EXPECT_LT(pieces_for(fs, lt::file_index_t(0), 5, 0).last, 0);
}
