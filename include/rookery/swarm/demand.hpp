// Demand: on-demand reads come first, background fetching yields to them.
//
// While any read waits for a missing piece, every release that fetches everything (`--fetch
// background`, or a prefetch) is held: its missing pieces go to priority 0, except the pieces
// reads wait for or readahead asked for, which keep top priority (priority 0 would cancel their
// deadlines). The hold is released a second after the last wait. Deadlines alone do not do it:
// libtorrent fills each peer's request queue with background blocks, and a deadline piece waits
// behind them (lab, 1 GiB lazy start at 200 Mbit/s in background mode: 31.8 s without the hold,
// 3.8 s with it). A read that has waited over `stuck_read` waits for a source, not for bandwidth,
// and no longer holds anything back. Pieces a read blocks on get deadline 0 (libtorrent's
// time-critical picker fetches them first, from any peer); readahead pieces get later deadlines,
// nearest first. `max_download_rate` limits background fetching only: it is lifted while a read
// waits and restored with the hold's release. A release's hot set (catalog/hot_set.hpp) is
// fetched first: whenever a release fetches normally its hot pieces are at top priority, the rest
// at normal; a hold holds them like any background piece. (A lazy release fetches its hot set
// from the join, at normal priority, and is never held.)
//
// A release fetched whole keeps at most `whole_fetch_peers` peers. Each piece a host gains is a
// HAVE message to every connected peer that lacks it, so in a fleet-wide fan-out a host connected
// to all 64 others spends its CPU telling them; past about sixteen peers one more tells a host of
// a new piece no sooner (64 hosts, 64 KiB pieces: 16 peers were faster than 24, 32 or 40). A
// lazily read release keeps every peer: it gains few pieces, and a read waits on whoever holds the
// piece (bounded from the join, some late joiners of a fleet-wide lazy start found the others full
// and waited).
//
// The policy acts on releases through DemandTarget (deadlines, priorities, the read waits of its
// piece gate), so its rules are unit-tested with fakes, without a session. One mutex guards all
// of it, and orders priority changes against deadlines: a hold computed without a new read's
// pieces would otherwise set them to priority 0 after their deadlines were set. Lock order:
// policy -> the targets' own locks (piece gates). The one callback made with the lock held is
// `set_download_limit`, which must not block or call back (the engine's posts a settings change).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace rookery::swarm {

// Piece priorities, as libtorrent numbers them.
enum class Priority : std::uint8_t { skip = 0, normal = 4, top = 7 };

class DemandTarget {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~DemandTarget() = default;
  virtual int num_pieces() const = 0;
  // Pieces not yet downloaded that a read waits for or a readahead window asked for.
  virtual std::vector<bool> in_demand() const = 0;
  // Reads waiting now that began at or after `since`.
  virtual int waiting_reads_since(Clock::time_point since) const = 0;
  virtual void set_deadline(int piece, int milliseconds) = 0;
  virtual void set_priorities(const std::vector<Priority>& priorities) = 0;
  // At most `peers` connections for this release from now on.
  virtual void set_max_peers(int peers) = 0;
};

struct DemandOptions {
  int max_download_rate = 0;  // bytes/s for background fetching; 0 = unlimited
  // A piece takes milliseconds on a LAN: a read waiting this long waits for a source.
  std::chrono::milliseconds stuck_read{5000};
  std::chrono::milliseconds hold_after_last_wait{1000};
  // Readahead piece i (0 = nearest) gets deadline readahead_first_ms + i * readahead_step_ms.
  int readahead_first_ms = 200;
  int readahead_step_ms = 50;
  int whole_fetch_peers = 0;  // peers of a release fetched whole; 0 = libtorrent's bounds only
};

class DemandPolicy {
 public:
  using Clock = DemandTarget::Clock;
  using SetDownloadLimit = std::function<void(int bytes_per_second)>;  // 0 = unlimited
  DemandPolicy(DemandOptions options, SetDownloadLimit set_download_limit);

  // A joined release; `fetch_everything` in background mode; `hot`: its hot pieces (may be empty).
  // Held at the next tick if reads wait. Its peers are bounded if it fetches everything.
  void add(std::shared_ptr<DemandTarget> target, bool fetch_everything, std::vector<bool> hot = {});
  void remove(const DemandTarget& target);
  // Fetch every piece of the target from now on (prefetch), held at once if reads wait; its peers
  // are bounded from now on.
  void fetch_all(const DemandTarget& target);
  // A read waits for `missing` pieces (deadline now, holds background fetching) and its
  // readahead asks for `ahead` pieces (later deadlines, nearest first).
  void demand(DemandTarget& target, const std::vector<int>& missing, const std::vector<int>& ahead,
              Clock::time_point now);
  // About once a second: holds again while reads wait (also releases that began fetching everything
  // since), releases the hold and restores the download limit once none has waited for a while.
  void tick(Clock::time_point now);
  bool holding() const;

 private:
  struct Member {
    std::shared_ptr<DemandTarget> target;
    bool fetch_everything = false;
    bool held = false;
    std::vector<bool> hot;
  };
  Member* find_locked(const DemandTarget& target);
  void hold_locked(Member& member);
  void hold_all_locked();
  void fetch_normally_locked(Member& member);
  void bound_peers_locked(DemandTarget& target);

  DemandOptions options_;
  SetDownloadLimit set_download_limit_;
  mutable std::mutex mutex_;
  std::vector<Member> members_;
  bool holding_ = false;
  bool limit_lifted_ = false;
  Clock::time_point last_wait_{};
};

}  // namespace rookery::swarm
