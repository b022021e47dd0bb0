#include "rookery/fs/readahead.hpp"

#include <algorithm>

namespace rookery::fs {

ByteRange ReadaheadWindow::on_read(std::int64_t offset, std::int64_t length) {
  if (config_.initial == 0) return {};
  std::int64_t end = offset + length;
  bool sequential = seen_ ? (offset >= next_expected_ - config_.backward_tolerance &&
                             offset <= next_expected_ + config_.forward_tolerance)
                          : offset == 0;  // a first read at the start of a file is the start of a scan
  if (!seen_ || !sequential) run_start_ = offset;
  seen_ = true;
  if (!sequential) {
    window_ = 0;
    next_expected_ = requested_until_ = end;
    return {};
  }
  next_expected_ = std::max(next_expected_, end);
  if (next_expected_ - run_start_ < config_.ramp_after) return {};
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
