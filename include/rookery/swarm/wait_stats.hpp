// Wait times of on-demand reads, as a log-scale histogram: 4 buckets per doubling from 1 us to
// ~18 minutes (120 buckets). Constant memory and lock-free recording from any thread; a quantile is
// the upper bound of the bucket that holds it, so it is at most 2^(1/4) = 19% above the true value.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace rookery::swarm {

class WaitStats {
 public:
  void record(std::chrono::microseconds waited);
  // Upper bound of the bucket holding quantile q (0..1), in seconds; 0 when nothing was recorded.
  double quantile(double q) const;
  std::uint64_t count() const;

 private:
  static constexpr int kBuckets = 120;
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
};

}  // namespace rookery::swarm
