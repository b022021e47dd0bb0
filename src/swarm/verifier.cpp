#include "rookery/swarm/verifier.hpp"

#include <cerrno>
#include <spdlog/spdlog.h>

namespace rookery::swarm {

Verifier::Verifier(std::chrono::seconds give_up, OnDamaged on_damaged, OnReadable on_readable)
    : give_up_(give_up),
      on_damaged_(std::move(on_damaged)),
      on_readable_(std::move(on_readable)),
      thread_([this] { run(); }) {}

Verifier::~Verifier() { stop(); }

void Verifier::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Verifier::enqueue(const std::shared_ptr<Release>& release, int piece, bool urgent) {
  {
    std::lock_guard lock(mutex_);
    (urgent ? urgent_ : background_).push_back(Job{release, piece, 0, Clock::now()});
  }
  cv_.notify_one();
}

void Verifier::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    Job job;
    auto now = Clock::now();
    if (!retries_.empty() && retries_.begin()->first <= now) {
      job = std::move(retries_.begin()->second);
      retries_.erase(retries_.begin());
    } else if (!urgent_.empty()) {
      job = std::move(urgent_.front());
      urgent_.pop_front();
    } else if (!background_.empty()) {
      job = std::move(background_.front());
      background_.pop_front();
    } else {
      if (retries_.empty()) cv_.wait(lock);
      else cv_.wait_until(lock, retries_.begin()->first);
      continue;
    }
    lock.unlock();
    verify(job);
    lock.lock();
    if (job.release) {
      // Still in the write-behind window: libtorrent's write job has not reached the file yet.
      auto delay = std::chrono::milliseconds(1 << std::min(job.attempt, 8));
      ++job.attempt;
      retries_.emplace(Clock::now() + delay, std::move(job));
    }
  }
}

// Leaves job.release set when the piece should be tried again.
void Verifier::verify(Job& job) {
  // `give_up` counts from the first hash attempt, not from the queue: a piece that waited behind
  // others (a recheck on a slow disk) still gets its retries.
  if (job.attempt == 0) job.first_try = Clock::now();
  auto& gate = job.release->gate();
  bool pending = gate.state(job.piece) == PieceGate::State::downloaded;
  bool ok = pending && job.release->verify_piece(lt::piece_index_t(job.piece));
  if (ok) {
    if (job.attempt > 0)
      spdlog::debug("release {}: piece {} readable after {} re-hash attempts", job.release->version(), job.piece,
                    job.attempt + 1);
    gate.mark_readable(job.piece);
    on_readable_();
  } else if (pending && job.release->take_linked(job.piece)) {
    // Linked from another release's complete file: no write of ours can be racing the hash, so the
    // shared bytes on disk are damaged. Fetched again (the same bytes, for both releases); the
    // reads waiting for it keep waiting.
    spdlog::warn("release {}: piece {} in the cache ({}) does not match its hash: fetching it again",
                 job.release->version(), job.piece, job.release->data_dir().string());
    gate.mark_missing(job.piece);
    on_damaged_(*job.release);
  } else if (pending && Clock::now() - job.first_try > give_up_) {
    spdlog::error("release {}: piece {} passed the swarm's hash check but its bytes in the cache ({}) still do "
                  "not match after {} s: reads of it fail with EIO; check the cache disk",
                  job.release->version(), job.piece, job.release->data_dir().string(), give_up_.count());
    gate.mark_failed(job.piece, EIO);
    on_damaged_(*job.release);
  }
  if (!(pending && !ok && gate.state(job.piece) == PieceGate::State::downloaded)) job.release.reset();
}

}  // namespace rookery::swarm
