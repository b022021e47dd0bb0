// Readahead per open file handle (never one global cursor, the btfs mistake: two readers of two
// files would reset each other).
//
// A read that continues where the previous one ended (within tolerance) is sequential. Once a
// sequential run is `ramp_after` long, the window opens: it requests `initial` bytes ahead; each time the reader has consumed half of what was
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
  // The window opens only once this many bytes of one sequential run have been read. Applications at start read many
  // runs of a few MiB; beyond the kernel's own readahead, fetching ahead of those is pure
  // over-fetch (lab, lazy start of 1 GiB at 200 Mbit/s with 2 MiB runs: window from the first read
  // 9.9 s, no window 4.8 s), while a sequential scan of a large file reads a cold piece per piece
  // time either way on a LAN (measured equal with and without). The window pays off when a link's
  // round trip is long against a piece's transfer time: it then keeps more than one piece in flight.
  std::int64_t ramp_after = 4 << 20;
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
  std::int64_t run_bytes_ = 0;  // bytes read in the current sequential run
  std::int64_t next_expected_ = 0;  // end of the furthest sequential read so far
  std::int64_t requested_until_ = 0;  // end of what the window has asked for
  std::int64_t window_ = 0;
  bool seen_ = false;
};

}  // namespace rookery::fs
