#include "rookery/swarm/piece_gate.hpp"

#include <algorithm>
#include <unordered_set>

namespace rookery::swarm {

PieceGate::PieceGate(int num_pieces) : states_(num_pieces, State::missing), prefetched_(num_pieces, false) {}

void PieceGate::finish_locked(const WaitPtr& w, int error, Finished& out) {
  if (w->finished) return;
  w->finished = true;
  --open_waits_;
  out.emplace_back(std::move(w->done), error);
}

static void run_completions(PieceGate::Finished& done, bool waited = true) {
  for (auto& [fn, error] : done) fn(error, waited);
}

PieceGate::Plan PieceGate::wait(int first, int last, Clock::time_point deadline, Completion done) {
  Plan plan;
  Finished finished;
  {
    std::lock_guard lock(mutex_);
    auto w = std::make_shared<Wait>();
    w->done = std::move(done);
    int failed_error = 0;
    for (int p = first; p <= last; ++p) {
      switch (states_[p]) {
        case State::readable: continue;
        case State::failed: failed_error = EIO; break;
        case State::missing: plan.missing.push_back(p); break;
        case State::downloaded: plan.unverified.push_back(p); break;
      }
      if (failed_error) break;
      ++w->remaining;
      waits_by_piece_[p].push_back(w);
    }
    ++open_waits_;
    if (failed_error || w->remaining == 0) {
      finish_locked(w, failed_error, finished);
      plan.complete = true;
      plan.missing.clear();
      plan.unverified.clear();
    } else if (deadline != Clock::time_point::max()) {
      deadlines_.emplace(deadline, w);
    }
  }
  run_completions(finished, false);
  return plan;
}

bool PieceGate::mark_downloaded(int piece, bool* urgent) {
  std::lock_guard lock(mutex_);
  if (urgent) *urgent = waits_by_piece_.count(piece) > 0;
  if (states_[piece] != State::missing) return false;
  states_[piece] = State::downloaded;
  return true;
}

void PieceGate::mark_readable(int piece) {
  Finished finished;
  {
    std::lock_guard lock(mutex_);
    states_[piece] = State::readable;
    auto it = waits_by_piece_.find(piece);
    if (it == waits_by_piece_.end()) return;
    for (auto& w : it->second)
      if (!w->finished && --w->remaining == 0) finish_locked(w, 0, finished);
    waits_by_piece_.erase(it);
  }
  run_completions(finished);
}

void PieceGate::mark_failed(int piece, int error) {
  Finished finished;
  {
    std::lock_guard lock(mutex_);
    states_[piece] = State::failed;
    auto it = waits_by_piece_.find(piece);
    if (it == waits_by_piece_.end()) return;
    for (auto& w : it->second) finish_locked(w, error, finished);
    waits_by_piece_.erase(it);
  }
  run_completions(finished);
}

void PieceGate::mark_missing(int piece) {
  std::lock_guard lock(mutex_);
  if (states_[piece] == State::failed || states_[piece] == State::downloaded) {
    states_[piece] = State::missing;
    prefetched_[piece] = false;
  }
}

int PieceGate::expire(Clock::time_point now, int error) {
  Finished finished;
  {
    std::lock_guard lock(mutex_);
    auto end = deadlines_.upper_bound(now);
    for (auto it = deadlines_.begin(); it != end; ++it)
      if (auto w = it->second.lock()) finish_locked(w, error, finished);
    deadlines_.erase(deadlines_.begin(), end);
    // Finished waits stay referenced from waits_by_piece_ until their pieces resolve; drop them now
    // so a piece that never arrives does not pin them.
    if (!finished.empty()) {
      for (auto it = waits_by_piece_.begin(); it != waits_by_piece_.end();) {
        auto& list = it->second;
        list.erase(std::remove_if(list.begin(), list.end(), [](const WaitPtr& w) { return w->finished; }), list.end());
        it = list.empty() ? waits_by_piece_.erase(it) : std::next(it);
      }
    }
  }
  run_completions(finished);
  return static_cast<int>(finished.size());
}

void PieceGate::cancel_all(int error) {
  Finished finished;
  {
    std::lock_guard lock(mutex_);
    for (auto& [piece, list] : waits_by_piece_)
      for (auto& w : list) finish_locked(w, error, finished);
    waits_by_piece_.clear();
    deadlines_.clear();
  }
  run_completions(finished);
}

PieceGate::State PieceGate::state(int piece) const {
  std::lock_guard lock(mutex_);
  return states_[piece];
}

int PieceGate::count(State s) const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(std::count(states_.begin(), states_.end(), s));
}

std::int64_t PieceGate::sum_readable(const std::vector<std::int32_t>& weights) const {
  std::lock_guard lock(mutex_);
  std::int64_t sum = 0;
  for (std::size_t p = 0; p < states_.size(); ++p)
    if (states_[p] == State::readable) sum += weights[p];
  return sum;
}

int PieceGate::waiting_reads() const {
  std::lock_guard lock(mutex_);
  return open_waits_;
}

bool PieceGate::claim_prefetch(int piece) {
  std::lock_guard lock(mutex_);
  if (prefetched_[piece] || states_[piece] != State::missing) return false;
  prefetched_[piece] = true;
  return true;
}

int PieceGate::waiting_reads_since(Clock::time_point since) const {
  std::lock_guard lock(mutex_);
  std::unordered_set<const Wait*> fresh;
  for (const auto& [piece, waits] : waits_by_piece_) {
    for (const auto& w : waits)
      if (!w->finished && w->started >= since) fresh.insert(w.get());
  }
  return static_cast<int>(fresh.size());
}

std::vector<bool> PieceGate::in_demand() const {
  std::lock_guard lock(mutex_);
  std::vector<bool> out(states_.size(), false);
  for (std::size_t p = 0; p < states_.size(); ++p) out[p] = states_[p] == State::missing && prefetched_[p];
  for (const auto& [piece, waits] : waits_by_piece_) {
    if (!waits.empty() && states_[piece] == State::missing) out[piece] = true;
  }
  return out;
}

}  // namespace rookery::swarm
