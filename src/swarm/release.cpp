#include "rookery/swarm/release.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <libtorrent/hasher.hpp>
#include <spdlog/spdlog.h>

namespace rookery::swarm {

Release::Release(std::string version, std::shared_ptr<const lt::torrent_info> info, std::filesystem::path data_dir,
                 lt::torrent_handle handle)
    : version_(std::move(version)),
      info_(std::move(info)),
      data_dir_(std::move(data_dir)),
      handle_(std::move(handle)),
      gate_(info_->num_pieces()),
      payload_per_piece_(static_cast<std::size_t>(info_->num_pieces()), 0),
      files_(static_cast<std::size_t>(info_->files().num_files())) {
  const auto& files = info_->files();
  for (auto f : files.file_range()) {
    if (files.pad_file_at(f) || files.file_size(f) == 0) continue;
    payload_total_ += files.file_size(f);
    // Spread the file's bytes over the pieces it covers.
    std::int64_t begin = files.file_offset(f), end = begin + files.file_size(f);
    for (std::int64_t p = begin / files.piece_length(); p * files.piece_length() < end; ++p) {
      std::int64_t lo = std::max(begin, p * files.piece_length());
      std::int64_t hi = std::min(end, (p + 1) * files.piece_length());
      payload_per_piece_[static_cast<std::size_t>(p)] += static_cast<std::int32_t>(hi - lo);
    }
  }
}

std::shared_ptr<const FileDescriptor> Release::cache_file(lt::file_index_t file) {
  std::lock_guard lock(files_mutex_);
  auto& slot = files_[static_cast<std::size_t>(static_cast<int>(file))];
  if (!slot) {
    std::string path = info_->files().file_path(file, data_dir_.string());
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return nullptr;
    slot = std::make_shared<const FileDescriptor>(std::move(fd));
  }
  return slot;
}

bool Release::verify_piece(lt::piece_index_t piece) {
  // One chunk buffer per verifier thread: hashing a 16 MiB piece must not cost 16 MiB of heap.
  constexpr std::int64_t kChunk = 1 << 20;
  thread_local std::vector<char> buffer(kChunk);
  const auto& files = info_->files();
  lt::hasher sha1;
  for (const auto& slice : files.map_block(piece, 0, files.piece_size(piece))) {
    if (files.pad_file_at(slice.file_index)) {
      std::fill(buffer.begin(), buffer.end(), 0);
      for (std::int64_t left = slice.size; left > 0; left -= kChunk)
        sha1.update(buffer.data(), static_cast<int>(std::min(left, kChunk)));
      continue;
    }
    auto fd = cache_file(slice.file_index);
    if (!fd) return false;
    for (std::int64_t done = 0; done < slice.size;) {
      auto want = static_cast<std::size_t>(std::min(slice.size - done, kChunk));
      ssize_t n = ::pread(fd->get(), buffer.data(), want, slice.offset + done);
      if (n <= 0) return false;  // short file: the bytes are not there (yet)
      sha1.update(buffer.data(), static_cast<int>(n));
      done += n;
    }
  }
  return sha1.final() == info_->hash_for_piece(piece);
}

void Release::note_read(int first, int last) {
  std::lock_guard lock(reads_mutex_);
  if (read_seen_.empty()) read_seen_.assign(static_cast<std::size_t>(num_pieces()), false);
  for (int p = std::max(first, 0); p <= last && p < num_pieces(); ++p) {
    if (read_seen_[static_cast<std::size_t>(p)]) continue;
    read_seen_[static_cast<std::size_t>(p)] = true;
    read_order_.push_back(p);
  }
}

std::vector<int> Release::read_order() const {
  std::lock_guard lock(reads_mutex_);
  return read_order_;
}

void Release::set_deadline(int piece, int milliseconds) {
  handle_.set_piece_deadline(lt::piece_index_t(piece), milliseconds);
}

void Release::set_max_peers(int peers) { handle_.set_max_connections(peers); }

void Release::set_priorities(const std::vector<Priority>& priorities) {
  std::vector<lt::download_priority_t> lt_priorities;
  lt_priorities.reserve(priorities.size());
  for (auto p : priorities) lt_priorities.emplace_back(static_cast<std::uint8_t>(p));
  try {
    handle_.prioritize_pieces(lt_priorities);
  } catch (const lt::system_error& e) {
    spdlog::debug("release {}: priorities not set: {}", version_, e.what());
  }
}

}  // namespace rookery::swarm
