// Readahead per open file handle (never one global cursor, the btfs mistake: two readers of two
// files would reset each other).
//
// A read that continues where the previous one ended (within tolerance) is sequential. The first
// sequential read requests `initial` bytes ahead; each time the reader has consumed half of what was
// requested, the window doubles (up to `max`) and only the new tail is requested, so a scan keeps a
// growing lead with few requests. A seek resets it: random readers only fetch what they read. The tolerance matters because the kernel's own readahead
// arrives out of order, up to 256 KiB backwards and 512 KiB forwards on Linux: such jitter must not
// count as a seek (mountpoint-s3 sizes its seek window for the same reason).
#pragma once
#include <cstdint>

namespace rookery::fs {

struct ReadaheadConfig {
  // First step. Small on purpose: applications at start read many short runs (a few hundred KiB
  // of each file), and every byte fetched ahead competes with bytes a reader is waiting for
  // (measured in the lab: a 1 MiB first step over-fetched ~6x for 512 KiB runs).
  std::int64_t initial = 256 << 10;
  std::int64_t max = 64 << 20;               // a few seconds of a fast link: enough to stay ahead
  std::int64_t backward_tolerance = 1 << 20; // kernel readahead reorders up to 256 KiB back
  std::int64_t forward_tolerance = 16 << 20; // and skips ahead; larger forward jumps are seeks
};

struct ByteRange {
  std::int64_t offset = 0;
  std::int64_t length = 0;
};

class ReadaheadWindow {
 public:
  explicit ReadaheadWindow(ReadaheadConfig config = {}) : config_(config) {}
  // Records a read and returns the new range to fetch ahead of it (empty when nothing new is due).
  ByteRange on_read(std::int64_t offset, std::int64_t length);
  std::int64_t window() const { return window_; }

 private:
  ReadaheadConfig config_;
  std::int64_t next_expected_ = 0;  // end of the furthest sequential read so far
  std::int64_t requested_until_ = 0;  // end of what the window has asked for
  std::int64_t window_ = 0;
  bool seen_ = false;
};

}  // namespace rookery::fs
