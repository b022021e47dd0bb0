#include "rookery/fs/open_handles.hpp"

namespace rookery::fs {

OpenHandles::OpenHandles(std::size_t capacity)
    : owned_(new Slot[capacity]()),
      owned_full_(std::make_unique<std::atomic<std::uint32_t>>(0)),
      slots_(owned_.get()),
      capacity_(capacity),
      full_(owned_full_.get()) {}

OpenHandles::OpenHandles(Slot* slots, std::size_t capacity, std::atomic<std::uint32_t>* full)
    : slots_(slots), capacity_(capacity), full_(full) {}

std::size_t OpenHandles::home(std::uint64_t handle) const {
  // Handles are (random instance << 32) | serial: mix both halves.
  return static_cast<std::size_t>((handle * 0x9E3779B97F4A7C15ull) >> 17) % capacity_;
}

void OpenHandles::opened(std::uint64_t handle, std::uint32_t release) {
  if (handle == 0 || handle == kTombstone) return;
  while (true) {
    // The handle's chain ends at the first empty slot: it is recorded there or not at all.
    std::size_t at = home(handle), free_at = capacity_;
    std::uint64_t free_seen = 0;
    for (std::size_t probe = 0; probe < capacity_; ++probe, at = (at + 1) % capacity_) {
      std::uint64_t seen = slots_[at].handle.load();
      if (seen == handle) return;  // recorded already (an adopted handle)
      if ((seen == 0 || seen == kTombstone) && free_at == capacity_) {
        free_at = at;
        free_seen = seen;
      }
      if (seen == 0) break;
    }
    if (free_at == capacity_) {
      full_->store(1);
      return;
    }
    if (!slots_[free_at].handle.compare_exchange_strong(free_seen, handle)) continue;  // taken meanwhile
    // Claimed first, then labelled: a scan in between counts a stale release for a moment, and
    // the open that recorded this checks afterwards that its release was not evicted meanwhile.
    slots_[free_at].release.store(release);
    return;
  }
}

void OpenHandles::released(std::uint64_t handle) {
  if (handle == 0 || handle == kTombstone) return;
  std::size_t at = home(handle);
  for (std::size_t probe = 0; probe < capacity_; ++probe, at = (at + 1) % capacity_) {
    std::uint64_t seen = slots_[at].handle.load();
    if (seen == 0) return;  // never recorded (or recorded when the table was full)
    if (seen == handle) {
      slots_[at].handle.store(kTombstone);
      return;
    }
  }
}

int OpenHandles::open_in(std::uint32_t release) const {
  if (full_->load()) return 1;
  int open = 0;
  for (std::size_t i = 0; i < capacity_; ++i) {
    std::uint64_t h = slots_[i].handle.load();
    if (h != 0 && h != kTombstone && slots_[i].release.load() == release) ++open;
  }
  return open;
}

}  // namespace rookery::fs
