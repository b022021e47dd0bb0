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

}  // namespace rookery::swarm
