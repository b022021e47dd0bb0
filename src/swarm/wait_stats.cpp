#include "rookery/swarm/wait_stats.hpp"

#include <algorithm>
#include <cmath>

namespace rookery::swarm {

void WaitStats::record(std::chrono::microseconds waited) {
  double us = std::max<double>(1.0, static_cast<double>(waited.count()));
  int bucket = std::min(kBuckets - 1, static_cast<int>(std::log2(us) * 4));
  buckets_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t WaitStats::count() const {
  std::uint64_t n = 0;
  for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
  return n;
}

double WaitStats::quantile(double q) const {
  std::uint64_t total = count();
  if (total == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::exp2((i + 1) / 4.0) / 1e6;
  }
  return std::exp2(kBuckets / 4.0) / 1e6;
}

}  // namespace rookery::swarm
