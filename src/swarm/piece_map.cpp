#include "rookery/swarm/piece_map.hpp"

#include <algorithm>

namespace rookery::swarm {

PieceRange pieces_for(const lt::file_storage& files, lt::file_index_t file, std::int64_t offset,
                             std::int64_t length) {
  std::int64_t size = files.file_size(file);
  std::int64_t begin = std::clamp<std::int64_t>(offset, 0, size);
  std::int64_t end = std::clamp<std::int64_t>(offset + std::max<std::int64_t>(length, 0), begin, size);
  if (end == begin) return {};
  std::int64_t base = files.file_offset(file);
  std::int64_t piece_length = files.piece_length();
  return {static_cast<int>((base + begin) / piece_length), static_cast<int>((base + end - 1) / piece_length)};
}

std::vector<bool> pieces_of(const lt::file_storage& files, const std::vector<FileRange>& ranges) {
  std::vector<bool> out(static_cast<std::size_t>(files.num_pieces()), false);
  for (const auto& range : ranges) {
    if (range.file < 0 || range.file >= files.num_files()) continue;
    auto file = lt::file_index_t(range.file);
    auto pieces = pieces_for(files, file, range.offset, range.length < 0 ? files.file_size(file) : range.length);
    for (int p = pieces.first; p <= pieces.last; ++p) out[static_cast<std::size_t>(p)] = true;
  }
  return out;
}

std::vector<FileRange> file_ranges_of(const lt::file_storage& files, const std::vector<int>& pieces) {
  std::vector<FileRange> out;
  for (int piece : pieces) {
    for (const auto& slice : files.map_block(lt::piece_index_t(piece), 0, files.piece_size(lt::piece_index_t(piece)))) {
      if (files.pad_file_at(slice.file_index) || slice.size <= 0) continue;
      int file = static_cast<int>(slice.file_index);
      if (!out.empty() && out.back().file == file && out.back().offset + out.back().length == slice.offset) {
        out.back().length += slice.size;
      } else {
        out.push_back({file, slice.offset, slice.size});
      }
    }
  }
  return out;
}

}  // namespace rookery::swarm
