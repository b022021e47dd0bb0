// The mount daemon's swarm engine: one libtorrent session for every release the mount has joined.
//
// A read never blocks a FUSE thread: read() registers a completion in the release's piece gate
// and returns. The demand policy (demand.hpp) puts the pieces a read needs first in line and holds
// background fetching back meanwhile; in `lazy` mode nothing but what is read (plus readahead) is
// fetched, in `background` mode every other piece follows, so the host ends as a full seed.
//
// Threads:
//  - the alert thread turns libtorrent's alerts into piece-gate transitions (a piece passed its hash
//    check -> `downloaded`) and logs errors with the release's name (engine_alerts.cpp); once a
//    second it runs the tick (engine_tick.cpp): expire timed-out reads, recheck damaged caches,
//    recover from storage errors, catch up on lost alerts and re-announce for reads without a peer,
//    publish the status snapshot, let the demand policy hold or release, save resume data;
//  - the verifier thread (verifier.hpp) re-hashes downloaded pieces and opens them to readers;
//  - FUSE threads call read() and join() (a first lookup); the control socket's thread calls
//    join() and fetch_all(); the housekeeping thread calls remove() (garbage collection), so any
//    release's handle can go invalid under the alert thread, which skips what libtorrent then throws.
//
// Locks: the demand policy's lock is taken before a piece gate's; `releases_mutex_` (the one set
// of releases; held across add_torrent so that alerts for a new handle always find it) and
// `status_mutex_` (the snapshot) and `listener_mutex_` are leaves, held only to read or change what they guard.
#pragma once
#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_status.hpp>
#include <optional>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/demand.hpp"
#include "rookery/swarm/local_copies.hpp"
#include "rookery/swarm/options.hpp"
#include "rookery/swarm/piece_map.hpp"
#include "rookery/swarm/release.hpp"
#include "rookery/swarm/release_status.hpp"
#include "rookery/swarm/settings.hpp"
#include "rookery/swarm/verifier.hpp"

namespace rookery::swarm {

class Engine {
 public:
  // error 0 and the open cache file, or an errno and null.
  using ReadDone = std::function<void(int error, std::shared_ptr<const FileDescriptor> file)>;

  Engine(store::CacheDir& cache, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Adds the release to the session (resuming from the cache when it was joined before). Throws
  // UserError with one line naming the release when the torrent cannot be used. The pieces of
  // `hot` (the release's hot set, catalog/hot_set.hpp) are fetched from the join in lazy mode,
  // and first in background mode; reads still come first (their deadlines; demand.hpp).
  std::shared_ptr<Release> join(const std::string& version, std::shared_ptr<const lt::torrent_info> info,
                                const std::vector<FileRange>& hot = {});
  std::shared_ptr<Release> find(const std::string& version) const;

  // Runs `done` (on some thread, possibly this one) once bytes [offset, offset + length) of `file`
  // are verified, or with an errno; bytes [ahead_offset, + ahead_length) are asked for too, with
  // later deadlines, but not waited for.
  void read(const std::shared_ptr<Release>& release, int file, std::int64_t offset, std::int64_t length,
            std::int64_t ahead_offset, std::int64_t ahead_length, ReadDone done);

  // The file ranges this host has read of the release, in the order of their first read, one piece
  // at a time (Release::read_order).
  static std::vector<FileRange> read_trace(const Release& release);

  // Fetch every piece of the release (prefetch), whatever the mount's fetch mode.
  void fetch_all(const std::shared_ptr<Release>& release);

  // Leaves the release's swarm and deletes its cache directory (garbage collection). Pending reads
  // fail with EIO.
  void remove(const std::shared_ptr<Release>& release);

  // The latest per-release status (refreshed every second; releases joined since are taken now)
  // with the verified pieces counted now:
  // what the control socket and the metrics file report (a prefetch ends the moment the last piece
  // is verified, not at the next tick). status.json holds the tick's snapshot.
  std::vector<ReleaseStatus> status() const;
  // One release's status taken now, also for a release joined since the last snapshot.
  std::optional<ReleaseStatus> status(const std::string& version) const;

  // Called on the verifier's thread each time a piece has been opened to readers, so that whoever
  // waits for a release to land (the control socket's put-off waits) looks again at once. Replace
  // or clear ({}) at any time; once cleared, the old listener is never called again.
  void set_progress_listener(std::function<void()> listener);

  // Saves resume data for every release and waits for it (bounded), while reads go on: before the
  // process hands its mount over to another (an upgrade).
  void checkpoint();

  // Saves resume data, fails every pending read with EIO, stops the threads. Idempotent.
  void stop();

 private:
  using Clock = std::chrono::steady_clock;
  std::vector<std::shared_ptr<Release>> releases() const;
  std::shared_ptr<Release> find(const lt::torrent_handle& handle) const;
  void mark_downloaded_pieces(const std::shared_ptr<Release>& release, const lt::typed_bitfield<lt::piece_index_t>& have);
  void request_recheck(Release& release);
  void open_verified_copies(Release& release, const LocalCopies& local);
  void save_resume_data(bool wait);
  void set_download_limit(int bytes_per_second);

  // engine_alerts.cpp: the alert thread's dispatch, one handler per alert type.
  void alert_loop();
  void handle_alerts();
  void handle_alert(lt::alert* a);
  void on_piece_finished(const lt::piece_finished_alert& alert);
  void on_torrent_checked(const lt::torrent_checked_alert& alert);
  void on_resume_data(const lt::save_resume_data_alert& alert);
  void on_file_error(const lt::file_error_alert& alert);

  // engine_tick.cpp: the once-a-second steps.
  void tick();
  void expire_timed_out_reads(Release& release, Clock::time_point now);
  void report_stall(Release& release, const lt::torrent_status& status, Clock::time_point now);
  void recover_from_storage_error(Release& release, const lt::torrent_status& status, Clock::time_point now);
  void serve_waiting_reads(const std::shared_ptr<Release>& release, const lt::torrent_status& status,
                           Clock::time_point now);
  void publish_status(std::vector<ReleaseStatus> list);
  static ReleaseStatus status_of(Release& release, const lt::torrent_status& status);
  static void refresh_progress(ReleaseStatus& status, const Release& release);

  store::CacheDir& cache_;
  EngineOptions options_;
  lt::session session_;
  DemandPolicy demand_;
  std::mutex listener_mutex_;  // a leaf: guards progress_listener_, held while calling it
  std::function<void()> progress_listener_;
  Verifier verifier_;

  mutable std::mutex releases_mutex_;
  std::unordered_map<lt::torrent_handle, std::shared_ptr<Release>> releases_;

  mutable std::mutex status_mutex_;
  std::vector<ReleaseStatus> status_;

  std::atomic<bool> stopping_{false};
  std::atomic<int> resume_saves_pending_{0};
  Clock::time_point last_tick_{}, last_resume_save_{};  // the alert thread's
  std::thread alert_thread_;  // last: starts once everything above exists
};

}  // namespace rookery::swarm
