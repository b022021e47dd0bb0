// Byte ranges of a file -> the pieces that hold them. In hybrid torrents files are piece-aligned,
// but v1-only torrents pack files back to back, so a range may start in a piece shared with the
// previous file; the mapping goes through the file's offset in the torrent and handles both.
#pragma once
#include <cstdint>
#include <libtorrent/file_storage.hpp>

namespace rookery::swarm {

struct PieceRange {
  int first = 0;
  int last = -1;  // empty when last < first
};

// Pieces covering [offset, offset + length) of `file`, clamped to the file's size; empty when the
// clamped range is empty.
PieceRange pieces_for(const lt::file_storage& files, lt::file_index_t file, std::int64_t offset, std::int64_t length);

}  // namespace rookery::swarm
