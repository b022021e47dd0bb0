// Byte ranges of a file -> the pieces that hold them. In hybrid torrents files are piece-aligned,
// but v1-only torrents pack files back to back, so a range may start in a piece shared with the
// previous file; the mapping goes through the file's offset in the torrent and handles both.
#pragma once
#include <cstdint>
#include <libtorrent/file_storage.hpp>
#include <vector>

namespace rookery::swarm {

struct PieceRange {
  int first = 0;
  int last = -1;  // empty when last < first
};

// Pieces covering [offset, offset + length) of `file`, clamped to the file's size; empty when the
// clamped range is empty.
PieceRange pieces_for(const lt::file_storage& files, lt::file_index_t file, std::int64_t offset, std::int64_t length);

// Bytes [offset, offset + length) of torrent file `file` (length -1: to the end of the file).
struct FileRange {
  int file = -1;
  std::int64_t offset = 0;
  std::int64_t length = -1;
  bool operator==(const FileRange&) const = default;
};

// Which pieces hold some byte of `ranges` (a range naming no file of `files` is left out).
std::vector<bool> pieces_of(const lt::file_storage& files, const std::vector<FileRange>& ranges);

// The pieces' bytes as ranges of the files they hold, in the pieces' order, pad files left out and
// a range that continues the one before merged into it.
std::vector<FileRange> file_ranges_of(const lt::file_storage& files, const std::vector<int>& pieces);

}  // namespace rookery::swarm
