#include "rookery/fs/readahead.hpp"

#include <algorithm>

namespace rookery::fs {

ByteRange ReadaheadWindow::on_read(std::int64_t offset, std::int64_t length) {
  std::int64_t end = offset + length;
  bool sequential = seen_ ? (offset >= next_expected_ - config_.backward_tolerance &&
                             offset <= next_expected_ + config_.forward_tolerance)
                          : offset == 0;  // a first read at the start of a file is the start of a scan
  if (!seen_) run_bytes_ = 0;
  seen_ = true;
  if (!sequential) {
    run_bytes_ = length;  // a seek starts a new run
    window_ = 0;
    next_expected_ = requested_until_ = end;
    return {};
  }
  next_expected_ = std::max(next_expected_, end);
  run_bytes_ += length;  // bytes actually read: jumps within the tolerance do not count
  if (run_bytes_ < config_.ramp_after) return {};
  if (window_ == 0) {
    window_ = config_.initial;
  } else if (next_expected_ + window_ / 2 >= requested_until_) {
    window_ = std::min(window_ * 2, config_.max);
  } else {
    return {};  // still well inside what was requested
  }
  std::int64_t from = std::max(requested_until_, next_expected_);
  requested_until_ = next_expected_ + window_;
  return {from, requested_until_ - from};
}

}  // namespace rookery::fs
