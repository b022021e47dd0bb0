// One joined release: its torrent metadata, its libtorrent handle, its piece gate and the cache
// files reads are served from. As a DemandTarget it takes the demand policy's deadlines and
// priorities. What the engine keeps about it (storage trouble, re-announce, recheck and retry
// times) is private to the engine.
#pragma once
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rookery/common/files.hpp"
#include "rookery/swarm/demand.hpp"
#include "rookery/swarm/piece_gate.hpp"
#include "rookery/swarm/wait_stats.hpp"

namespace rookery::swarm {

class Release final : public DemandTarget {
 public:
  Release(std::string version, std::shared_ptr<const lt::torrent_info> info, std::filesystem::path data_dir,
          lt::torrent_handle handle);

  const std::string& version() const { return version_; }
  const lt::torrent_info& info() const { return *info_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  const lt::torrent_handle& handle() const { return handle_; }
  // Bytes of the release's files (pad files excluded), all of them and those readable now.
  std::int64_t payload_bytes() const { return payload_total_; }
  std::int64_t verified_payload_bytes() const { return gate_.sum_readable(payload_per_piece_); }
  bool landed() const { return verified_payload_bytes() >= payload_bytes(); }
  // Every piece of the release's hot set (catalog/hot_set.hpp) verified; true when it has none.
  bool hot_set_landed() const { return num_hot_ == 0 || gate_.sum_readable(hot_pieces_) >= num_hot_; }
  PieceGate& gate() { return gate_; }
  const PieceGate& gate() const { return gate_; }
  // True once per piece of a file linked from another release at the join (local_copies.hpp): its
  // bytes were never in flight here, so a mismatch is damage, not libtorrent's write racing its
  // hash check. (Pieces from resume data keep the patient path: they may have been written just
  // before a crash.) Called by the verifier thread only.
  bool take_linked(int piece) {
    if (piece < 0 || static_cast<std::size_t>(piece) >= linked_.size() || !linked_[piece]) return false;
    linked_[piece] = false;
    return true;
  }
  // Payload bytes taken from other cached releases instead of the network (local_copies.hpp).
  std::int64_t bytes_from_local() const { return bytes_from_local_; }
  WaitStats& waits() { return waits_; }  // reads that had to wait for pieces
  // The pieces reads have asked for, each once, in the order of its first read: what
  // `rookery trace` turns into a hot set (catalog/hot_set.hpp). Called by FUSE threads.
  void note_read(int first, int last);
  std::vector<int> read_order() const;

  // The cache file holding torrent file `file`, opened once and shared by every reader; null when it
  // cannot be opened (errno tells why).
  std::shared_ptr<const FileDescriptor> cache_file(lt::file_index_t file);

  // Re-reads piece `piece` from the cache files and checks it against the torrent's v1 hash.
  bool verify_piece(lt::piece_index_t piece);

  // DemandTarget. A release evicted meanwhile has an invalid handle: priorities are then not set.
  int num_pieces() const override { return gate_.num_pieces(); }
  std::vector<bool> in_demand() const override { return gate_.in_demand(); }
  int waiting_reads_since(Clock::time_point since) const override { return gate_.waiting_reads_since(since); }
  void set_deadline(int piece, int milliseconds) override;
  void set_priorities(const std::vector<Priority>& priorities) override;
  void set_max_peers(int peers) override;

 private:
  friend class Engine;
  std::string version_;
  std::shared_ptr<const lt::torrent_info> info_;
  std::filesystem::path data_dir_;
  lt::torrent_handle handle_;
  PieceGate gate_;
  WaitStats waits_;
  std::vector<std::int32_t> payload_per_piece_;
  std::int64_t payload_total_ = 0;
  std::int64_t bytes_from_local_ = 0;  // set by the engine before the release is shared
  std::vector<std::int32_t> hot_pieces_;  // 1 for a piece of the hot set; set likewise
  std::int64_t num_hot_ = 0;
  std::vector<bool> linked_;           // set by the engine before the release is shared; then the verifier's
  std::mutex files_mutex_;  // guards files_
  mutable std::mutex reads_mutex_;  // guards read_seen_, read_order_
  std::vector<bool> read_seen_;
  std::vector<int> read_order_;
  std::vector<std::shared_ptr<const FileDescriptor>> files_;

  // Engine bookkeeping. storage_trouble: libtorrent could not write a piece to the cache (disk full,
  // read-only), cleared when a piece is stored again; read by FUSE threads. The time points belong
  // to the alert thread, except last_recheck_, which the verifier thread sets too.
  std::atomic<bool> storage_trouble_{false};
  std::chrono::steady_clock::time_point last_reannounce_{}, last_error_retry_{};
  // Stall reports: the downloaded-piece count at the last gain, when it was, and the last report.
  int pieces_at_last_gain_ = -1;
  std::chrono::steady_clock::time_point last_gain_{}, last_stall_report_{};
  std::atomic<std::chrono::steady_clock::rep> last_recheck_{0};
};

}  // namespace rookery::swarm
