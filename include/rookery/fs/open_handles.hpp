// The files the kernel holds open, by handle and release: what keeps a release from garbage
// collection. A program can hold a file open, or mapped, for weeks without reading it; after a
// takeover, the new serving process hears of such a handle only when a read or its RELEASE comes.
// So the table lives in memory that outlives serving processes (the takeover state lends it,
// fuse/takeover_state.hpp) and a successor counts the files its predecessors opened.
//
// Open addressing with linear probing and backward-shift deletion (no tombstones, so probe chains
// stay as short as the table's load, however many files a mount opens in its life). One serving
// process writes the table at a time; `mutex_` orders its threads (opens and releases are one
// short probe each). Recording is idempotent and so is removal: a handle adopted by a successor
// is not counted twice, and a RELEASE answered twice across a takeover (the journal replays at
// least once) does not uncount another file. Killed midway, a process leaves at worst a handle
// recorded twice (a shift copies before it clears) or an open the kernel never got (killed before
// replying): that release then counts as open until the mount ends, kept, never lost. When the
// table is full, an open goes unrecorded and every release counts as open from then on: garbage
// collection stops rather than evict a file a program holds.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace rookery::fs {

class OpenHandles {
 public:
  struct Slot {
    std::atomic<std::uint64_t> handle;  // 0: empty
    std::atomic<std::uint32_t> release;
    std::uint32_t unused;
  };
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "slots live in memory shared between processes");

  // A table of its own (one process; tests).
  explicit OpenHandles(std::size_t capacity);
  // A table in memory another object owns, zeroed when new: `capacity` slots and the full flag.
  OpenHandles(Slot* slots, std::size_t capacity, std::atomic<std::uint32_t>* full);

  void opened(std::uint64_t handle, std::uint32_t release);
  void released(std::uint64_t handle);
  // Files of the release open now (a scan: for garbage collection, not the hot path).
  int open_in(std::uint32_t release);

 private:
  std::size_t home(std::uint64_t handle) const;

  std::unique_ptr<Slot[]> owned_;
  std::unique_ptr<std::atomic<std::uint32_t>> owned_full_;
  Slot* slots_;
  std::size_t capacity_;
  std::atomic<std::uint32_t>* full_;
  std::mutex mutex_;  // guards the slots (this process's threads)
};

}  // namespace rookery::fs
