#include "rookery/swarm/demand.hpp"

#include <algorithm>

namespace rookery::swarm {

DemandPolicy::DemandPolicy(DemandOptions options, SetDownloadLimit set_download_limit)
    : options_(options), set_download_limit_(std::move(set_download_limit)) {}

DemandPolicy::Member* DemandPolicy::find_locked(const DemandTarget& target) {
  auto it = std::find_if(members_.begin(), members_.end(), [&](const Member& m) { return m.target.get() == &target; });
  return it == members_.end() ? nullptr : &*it;
}

void DemandPolicy::add(std::shared_ptr<DemandTarget> target, bool fetch_everything, std::vector<bool> hot) {
  std::lock_guard lock(mutex_);
  if (fetch_everything) bound_peers_locked(*target);
  members_.push_back({std::move(target), fetch_everything, false, std::move(hot)});
}

void DemandPolicy::bound_peers_locked(DemandTarget& target) {
  if (options_.whole_fetch_peers > 0) target.set_max_peers(options_.whole_fetch_peers);
}

void DemandPolicy::remove(const DemandTarget& target) {
  std::lock_guard lock(mutex_);
  std::erase_if(members_, [&](const Member& m) { return m.target.get() == &target; });
}

void DemandPolicy::hold_locked(Member& m) {
  auto demand = m.target->in_demand();
  std::vector<Priority> priorities(demand.size(), Priority::skip);
  for (std::size_t p = 0; p < demand.size(); ++p)
    if (demand[p]) priorities[p] = Priority::top;
  m.target->set_priorities(priorities);
  m.held = true;
}

void DemandPolicy::hold_all_locked() {
  holding_ = true;
  for (auto& m : members_)
    if (m.fetch_everything && !m.held) hold_locked(m);
}

void DemandPolicy::fetch_normally_locked(Member& m) {
  std::vector<Priority> priorities(static_cast<std::size_t>(m.target->num_pieces()), Priority::normal);
  for (std::size_t p = 0; p < priorities.size() && p < m.hot.size(); ++p)
    if (m.hot[p]) priorities[p] = Priority::top;
  m.target->set_priorities(priorities);
  m.held = false;
}

void DemandPolicy::fetch_all(const DemandTarget& target) {
  std::lock_guard lock(mutex_);
  Member* m = find_locked(target);
  if (!m) return;  // evicted meanwhile
  if (!m->fetch_everything) bound_peers_locked(*m->target);
  m->fetch_everything = true;
  if (holding_) hold_locked(*m);
  else fetch_normally_locked(*m);
}

void DemandPolicy::demand(DemandTarget& target, const std::vector<int>& missing, const std::vector<int>& ahead,
                          Clock::time_point now) {
  if (missing.empty() && ahead.empty()) return;
  std::lock_guard lock(mutex_);
  if (!missing.empty()) {
    if (options_.max_download_rate > 0 && !limit_lifted_) {
      limit_lifted_ = true;
      set_download_limit_(0);
    }
    last_wait_ = now;
    hold_all_locked();
    for (int p : missing) target.set_deadline(p, 0);
  }
  for (std::size_t i = 0; i < ahead.size(); ++i)
    target.set_deadline(ahead[i], options_.readahead_first_ms + options_.readahead_step_ms * static_cast<int>(i));
}

void DemandPolicy::tick(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  bool waiting = std::any_of(members_.begin(), members_.end(), [&](const Member& m) {
    return m.target->waiting_reads_since(now - options_.stuck_read) > 0;
  });
  if (waiting) {
    last_wait_ = now;
    hold_all_locked();
  }
  if (now - last_wait_ <= options_.hold_after_last_wait) return;
  if (limit_lifted_) {
    limit_lifted_ = false;
    set_download_limit_(options_.max_download_rate);
  }
  if (!holding_) return;
  holding_ = false;
  for (auto& m : members_)
    if (m.held) fetch_normally_locked(m);
}

bool DemandPolicy::holding() const {
  std::lock_guard lock(mutex_);
  return holding_;
}

}  // namespace rookery::swarm
