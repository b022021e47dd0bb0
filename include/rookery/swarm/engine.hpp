// The mount daemon's swarm engine: one libtorrent session for every release the mount has joined.
//
// Threads:
//  - the alert thread turns libtorrent's alerts into piece-gate transitions (a piece passed its hash
//    check -> `downloaded`), logs errors with the release's name, and once a second expires timed-out
//    reads, reconciles lost alerts, re-announces for reads that have no peer, and writes status.json;
//  - the verifier thread re-hashes downloaded pieces from the cache files and opens them to readers
//    (`readable`). Pieces a reader waits for jump the queue; the rest are verified in the background
//    so later reads find them open.
//
// Background fetching (`--fetch background`, or a prefetch) yields to on-demand reads: while any
// read waits for a missing piece, every other missing piece is held at priority 0, and released a
// second after the last wait. Deadlines alone do not do it: libtorrent fills each peer's request
// queue with background blocks, and a deadline piece waits behind them (lab, 1 GiB lazy start at
// 200 Mbit/s in background mode: 31.8 s without the hold, 3.8 s with it). A read that has waited
// over 5 s waits for a source, not for bandwidth, and no longer holds anything back.
// `--max-download-rate` applies to background fetching only: on-demand reads lift it while they wait.
//
// A read never blocks a FUSE thread: await() registers a completion and returns. Pieces a read
// needs get deadline 0 (libtorrent's time-critical picker fetches them first, from any peer); the
// read's readahead window gets later deadlines. In `lazy` mode nothing else is fetched; in
// `background` mode every other piece follows at normal priority, so the host ends as a full seed.
#pragma once
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_status.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/release.hpp"
#include "rookery/swarm/settings.hpp"

namespace rookery::swarm {

enum class FetchMode { background, lazy };

struct EngineOptions {
  SwarmOptions swarm;
  FetchMode fetch = FetchMode::background;
  std::chrono::seconds read_timeout{0};  // 0: reads wait as long as it takes (like an NFS hard mount)
  // How long a downloaded piece may keep failing our re-hash before reads of it fail with EIO. The
  // measured write-behind window is a few milliseconds; 10 s covers a loaded disk with margin.
  std::chrono::seconds verify_give_up{10};
};

struct PieceRange {
  int first = 0;
  int last = -1;  // empty when last < first
};

class Engine {
 public:
  Engine(store::CacheDir& cache, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Adds the release to the session (resuming from the cache when it was joined before). Throws
  // UserError with one line naming the release when the torrent cannot be used.
  std::shared_ptr<Release> join(const std::string& version, std::shared_ptr<const lt::torrent_info> info);

  // Runs `done` (on some thread, possibly this one) once pieces `need` are readable, or with an errno.
  // `prefetch` pieces are requested too, with later deadlines, but not waited for.
  void await(const std::shared_ptr<Release>& release, PieceRange need, PieceRange prefetch,
             PieceGate::Completion done);

  // Fetch every piece of the release (prefetch), whatever the mount's fetch mode.
  void fetch_all(const std::shared_ptr<Release>& release);

  // Leaves the release's swarm and deletes its cache directory (garbage collection). Pending reads
  // fail with EIO.
  void remove(const std::shared_ptr<Release>& release);

  // The latest per-release status (refreshed every second): what status.json, the metrics file and
  // the control socket all report.
  nlohmann::json status() const;

  // Saves resume data, fails every pending read with EIO, stops the threads. Idempotent.
  void stop();

 private:
  struct Verification {
    std::shared_ptr<Release> release;
    int piece;
    int attempt = 0;
    std::chrono::steady_clock::time_point first_try{};
  };

  void alert_loop();
  void verifier_loop();
  void handle_alerts();
  void tick();
  void recover_from_storage_error(Release& release, const lt::torrent_status& status,
                                  std::chrono::steady_clock::time_point now);
  void request_recheck(Release& release);
  static nlohmann::json status_json(Release& release, const lt::torrent_status& status);
  void save_resume_data(bool wait);
  void enqueue_verification(const std::shared_ptr<Release>& release, int piece, bool urgent);
  void mark_downloaded_pieces(const std::shared_ptr<Release>& release, const lt::typed_bitfield<lt::piece_index_t>& have);
  std::shared_ptr<Release> find(const lt::torrent_handle& handle);

  store::CacheDir& cache_;
  EngineOptions options_;
  lt::session session_;

  std::mutex releases_mutex_;
  std::vector<std::shared_ptr<Release>> releases_;
  std::unordered_map<lt::torrent_handle, std::shared_ptr<Release>> by_handle_;

  std::mutex verify_mutex_;
  std::condition_variable verify_cv_;
  std::deque<Verification> urgent_, background_;
  std::multimap<std::chrono::steady_clock::time_point, Verification> retries_;

  mutable std::mutex status_mutex_;
  nlohmann::json status_ = nlohmann::json::array();
  // --max-download-rate limits background fetching only: while a read waits for pieces, the limit
  // is lifted, and restored once no read has waited for a second.
  std::atomic<bool> limit_lifted_{false};
  // Orders priority changes against deadlines: holding background fetching sets priority 0, which
  // would drop a deadline set concurrently by another read.
  std::mutex demand_mutex_;
  bool holding_ = false;  // under demand_mutex_: reads are waiting, background fetching is held
  void hold_background();  // with demand_mutex_ held
  void hold(Release& release);  // with demand_mutex_ held
  void release_background(std::chrono::steady_clock::time_point now);
  void prioritize(Release& release, const std::vector<lt::download_priority_t>& priorities);
  std::atomic<std::chrono::steady_clock::rep> last_wait_seen_{0};  // written by FUSE threads too

  std::atomic<bool> stopping_{false};
  std::atomic<int> resume_saves_pending_{0};
  std::chrono::steady_clock::time_point last_tick_{}, last_resume_save_{};
  std::thread alert_thread_, verifier_thread_;
};

}  // namespace rookery::swarm
