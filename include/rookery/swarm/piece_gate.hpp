// The piece gate decides which bytes of a release may reach a reader, and parks reads until they may.
//
// libtorrent's piece_finished_alert means the piece passed its hash check, not that its bytes are in
// the cache file yet: with memory-mapped disk I/O the hash job reads the store buffer before the
// write job has copied it to the file (measured: 1 to 8 of 300 pieces still had a zero block at the
// alert). So a piece goes through three states:
//
//   missing --(libtorrent: hash passed)--> downloaded --(we re-hash the file's bytes)--> readable
//
// and only `readable` pieces are ever served. The re-hash (see Release::verify_piece) also catches
// a cache damaged on disk and resume data that claims more than was flushed.
//
// A read registers one wait for the pieces it covers; the wait completes (outside the gate's lock)
// when the last of them becomes readable, fails when one of them fails, or times out. The gate holds
// no libtorrent state, so it is tested on its own.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace rookery::swarm {

class PieceGate {
 public:
  using Clock = std::chrono::steady_clock;
  // error 0: every piece readable, else an errno; waited: false when it ran inside wait() itself.
  using Completion = std::function<void(int error, bool waited)>;
  using Finished = std::vector<std::pair<Completion, int>>;  // completions to run outside the lock
  enum class State : std::uint8_t { missing, downloaded, readable, failed };

  explicit PieceGate(int num_pieces);

  struct Plan {
    bool complete = false;            // the completion already ran (all readable, or failed)
    std::vector<int> missing;         // need downloading: the caller puts deadlines on them
    std::vector<int> unverified;      // downloaded but not yet checked: the caller verifies them
  };
  // Waits for pieces [first, last]. `deadline` = Clock::time_point::max() waits without bound.
  Plan wait(int first, int last, Clock::time_point deadline, Completion done);

  // libtorrent reports the piece passed its hash check. True when it was not known before (the
  // caller then schedules a verification); `urgent` tells whether a reader waits for it.
  bool mark_downloaded(int piece, bool* urgent = nullptr);
  void mark_readable(int piece);
  void mark_failed(int piece, int error);
  // A failed (damaged) or not yet verified piece is not there after all (a recheck dropped it, or
  // it came from disk and does not match): it is fetched again like any missing piece, and reads
  // waiting for it go on waiting. A readable piece stays readable.
  void mark_missing(int piece);
  // Fails every wait whose deadline has passed with `error`; returns how many.
  int expire(Clock::time_point now, int error);
  // Fails every open wait (shutdown).
  void cancel_all(int error);

  State state(int piece) const;
  int num_pieces() const { return static_cast<int>(states_.size()); }
  int count(State s) const;
  // Sum of weights[p] over readable pieces (e.g. the payload bytes of each piece).
  std::int64_t sum_readable(const std::vector<std::int32_t>& weights) const;
  int waiting_reads() const;
  // Open waits that began at or after `since` (reads still waiting on bandwidth, not on a source).
  int waiting_reads_since(Clock::time_point since) const;
  // Readahead bookkeeping: true the first time a piece is asked for, so deadlines are set once.
  bool claim_prefetch(int piece);
  // Pieces not yet downloaded that a read waits for or a readahead window asked for.
  std::vector<bool> in_demand() const;

 private:
  struct Wait {
    Clock::time_point started = Clock::now();
    int remaining = 0;
    bool finished = false;
    Completion done;
  };
  using WaitPtr = std::shared_ptr<Wait>;
  void finish_locked(const WaitPtr& w, int error, Finished& out);

  mutable std::mutex mutex_;
  std::vector<State> states_;
  std::vector<bool> prefetched_;
  std::unordered_map<int, std::vector<WaitPtr>> waits_by_piece_;
  std::multimap<Clock::time_point, std::weak_ptr<Wait>> deadlines_;
  int open_waits_ = 0;
};

}  // namespace rookery::swarm
