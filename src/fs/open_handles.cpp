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
  if (handle == 0) return;
  std::lock_guard lock(mutex_);
  std::size_t at = home(handle);
  for (std::size_t probe = 0; probe < capacity_; ++probe, at = (at + 1) % capacity_) {
    std::uint64_t seen = slots_[at].handle.load();
    if (seen == handle) return;  // recorded already (an adopted handle)
    if (seen != 0) continue;
    slots_[at].release.store(release);  // labelled before it counts
    slots_[at].handle.store(handle);
    return;
  }
  full_->store(1);
}

void OpenHandles::released(std::uint64_t handle) {
  if (handle == 0) return;
  std::lock_guard lock(mutex_);
  std::size_t hole = home(handle);
  std::size_t probe = 0;
  for (; probe < capacity_; ++probe, hole = (hole + 1) % capacity_) {
    std::uint64_t seen = slots_[hole].handle.load();
    if (seen == 0) return;  // never recorded (or recorded when the table was full)
    if (seen == handle) break;
  }
  if (probe == capacity_) return;
  // Backward shift: an entry later in the chain that may live in the hole moves into it, so every
  // handle stays reachable from its home without passing an empty slot.
  for (std::size_t next = (hole + 1) % capacity_;; next = (next + 1) % capacity_) {
    std::uint64_t moving = slots_[next].handle.load();
    if (moving == 0 || next == hole) break;
    std::size_t want = home(moving);
    bool reachable_from_hole = hole <= next ? (want <= hole || want > next) : (want <= hole && want > next);
    if (!reachable_from_hole) continue;
    slots_[hole].release.store(slots_[next].release.load());
    slots_[hole].handle.store(moving);  // copied first, cleared after: a kill here counts it twice
    hole = next;
  }
  slots_[hole].handle.store(0);
}

int OpenHandles::open_in(std::uint32_t release) {
  if (full_->load()) return 1;
  std::lock_guard lock(mutex_);
  int open = 0;
  for (std::size_t i = 0; i < capacity_; ++i)
    if (slots_[i].handle.load() != 0 && slots_[i].release.load() == release) ++open;
  return open;
}

}  // namespace rookery::fs
