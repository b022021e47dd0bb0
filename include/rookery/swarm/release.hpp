// One joined release: its torrent metadata, its libtorrent handle, its piece gate and the cache files
// reads are served from. The engine owns the swarm side; the filesystem only asks for pieces and
// opens cache files through here.
#pragma once
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rookery/common/files.hpp"
#include "rookery/swarm/piece_gate.hpp"

namespace rookery::swarm {

// Wait times of on-demand reads, as a log-scale histogram (4 buckets per doubling, from 1 us to
// ~18 minutes): constant memory, quantiles within 19% of the true value, lock-free recording.
class WaitStats {
 public:
  void record(std::chrono::microseconds waited);
  // Upper bound of the bucket holding quantile q (0..1), in seconds; 0 when nothing was recorded.
  double quantile(double q) const;
  std::uint64_t count() const;

 private:
  static constexpr int kBuckets = 120;
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
};

class Release {
 public:
  Release(std::string version, std::shared_ptr<const lt::torrent_info> info, std::filesystem::path data_dir);

  const std::string& version() const { return version_; }
  const lt::torrent_info& info() const { return *info_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // Bytes of the release's files (pad files excluded), all of them and those readable now.
  std::int64_t payload_bytes() const { return payload_total_; }
  std::int64_t verified_payload_bytes() const { return gate_.sum_readable(payload_per_piece_); }
  PieceGate& gate() { return gate_; }

  // The cache file holding torrent file `file`, opened once and shared by every reader; null when it
  // cannot be opened (errno tells why).
  std::shared_ptr<const FileDescriptor> cache_file(lt::file_index_t file);

  // Re-reads piece `piece` from the cache files and checks it against the torrent's v1 hash.
  bool verify_piece(lt::piece_index_t piece);

  lt::torrent_handle handle;  // set once by the engine, before the release is published to readers
  WaitStats waits;  // reads that had to wait for pieces
  // Set when libtorrent could not write a piece to the cache (disk full, read-only); cleared when
  // a piece is stored again.
  std::atomic<bool> storage_trouble{false};
  // Engine bookkeeping under its demand lock: every piece is wanted (background mode, or a
  // prefetch), and whether that background fetching is held back for waiting reads right now.
  bool fetch_everything = false;
  bool background_held = false;
  // Engine bookkeeping: the alert thread owns the first two, `mutex` guards the recheck time.
  std::chrono::steady_clock::time_point last_reannounce{}, last_error_retry{};
  std::mutex mutex;
  std::chrono::steady_clock::time_point last_recheck{};

 private:
  std::string version_;
  std::shared_ptr<const lt::torrent_info> info_;
  std::filesystem::path data_dir_;
  PieceGate gate_;
  std::vector<std::int32_t> payload_per_piece_;
  std::int64_t payload_total_ = 0;
  std::mutex files_mutex_;
  std::vector<std::shared_ptr<const FileDescriptor>> files_;
};

}  // namespace rookery::swarm
