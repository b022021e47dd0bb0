// The verifier thread: re-hashes downloaded pieces from the cache files and opens them to readers
// (piece gate: downloaded -> readable). libtorrent's "piece finished" comes before its write job
// has reached the file (see piece_gate.hpp), so a piece whose bytes do not match yet is tried again
// with back-off, from 1 ms doubling to 256 ms; one that still fails after `give_up` is damaged
// (its reads fail with EIO and `on_damaged` asks for a recheck). Pieces a reader waits for jump
// the queue; the rest are verified in the background so later reads find them open.
//
// One mutex guards the three queues; it is never held while hashing or calling out.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "rookery/swarm/release.hpp"

namespace rookery::swarm {

class Verifier {
 public:
  using OnDamaged = std::function<void(Release& release)>;
  using OnReadable = std::function<void()>;  // after a piece was opened to readers
  Verifier(std::chrono::seconds give_up, OnDamaged on_damaged, OnReadable on_readable);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  void enqueue(const std::shared_ptr<Release>& release, int piece, bool urgent);
  void stop();  // idempotent

 private:
  using Clock = std::chrono::steady_clock;
  struct Job {
    std::shared_ptr<Release> release;
    int piece = 0;
    int attempt = 0;
    Clock::time_point first_try{};
  };
  void run();
  void verify(Job& job);

  std::chrono::seconds give_up_;
  OnDamaged on_damaged_;
  OnReadable on_readable_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<Job> urgent_, background_;
  std::multimap<Clock::time_point, Job> retries_;
  std::thread thread_;  // last: starts once the queues exist
};

}  // namespace rookery::swarm
