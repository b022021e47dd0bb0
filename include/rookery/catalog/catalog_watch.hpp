// The catalog watch: a mount daemon keeps the newest releases' metadata in its cache before anyone
// asks for them. Every interval (jittered by +-25%, so that a fleet's daemons spread their
// requests) it fetches the index and admits the newest few versions it has not cached yet: their
// torrent (and signature) are fetched, checked and kept exactly as a lookup would (admission.hpp),
// but no swarm is joined and no piece is fetched.
//
// Why: without it, the first lookup of a new version fetches the torrent at that moment. When a
// whole fleet flips to the version at once, every host fetches it in the same second from the
// catalog, which is often the seeder's own host: measured at 64 hosts, ~0.6 MB of catalog on the
// seeder's link while every host waits for the first pieces through that same link (BENCHMARKS.md,
// "Herd"). With the watch, those fetches happen within an interval of the publish, spread out,
// and a deploy's lookups join from the cache. The cost: one index request per host per interval
// (conditional: a 304 without a body while the index is unchanged, catalog.hpp), and the torrents
// of the newest `newest` versions on hosts that may never read them.
//
// A first round runs when the watch starts. Failures (catalog down, release not yet signed) are
// logged and the version is tried again next round; a lookup still admits on its own as before.
// Thread: the watch owns one thread, which sleeps on stop_cv_ between rounds; mutex_ guards
// stopping_, warned_ and status_. Admission is thread-safe (Catalog locks its index; cache writes are atomic
// renames), so a lookup admitting the same version meanwhile is harmless.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace rookery::catalog {

class Admission;

struct WatchOptions {
  // Seconds between rounds; 0 = no watch (metadata is fetched at the first lookup only).
  // 60 s: a deploy that follows its publish by a minute or more finds the metadata in place, and
  // 10,000 hosts ask the catalog for its index ~170 times a second.
  std::chrono::seconds interval{60};
  // How many of the newest versions to keep ready: the next deploy is almost always the newest.
  int newest = 1;
};

// What `rookery status` shows of the watch: whether it runs, when it last asked, and what went wrong.
struct WatchStatus {
  std::int64_t interval_seconds = 0;  // 0: no watch
  std::uint64_t rounds = 0;
  std::int64_t last_round_ms = 0;  // Unix time the last round ended; 0 before the first
  std::string last_error;          // of the last round; empty when it kept every version it tried
  std::string newest_ready;        // the newest version the last round found with its metadata cached
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(WatchStatus, interval_seconds, rounds, last_round_ms, last_error,
                                                newest_ready)

// The versions a round admits: of the newest `newest` (versions are oldest first, as in the
// index), those not held yet, newest first.
std::vector<std::string> versions_to_prefetch(const std::vector<std::string>& versions, int newest,
                                              const std::function<bool(const std::string&)>& held);

class CatalogWatch {
 public:
  // Starts the thread (and with it the first round) unless options.interval is 0.
  CatalogWatch(Admission& admission, WatchOptions options);
  ~CatalogWatch();
  CatalogWatch(const CatalogWatch&) = delete;
  CatalogWatch& operator=(const CatalogWatch&) = delete;

  // One round, on the caller's thread: the versions admitted. Never throws; logs why not.
  std::vector<std::string> poll();
  WatchStatus status() const;

 private:
  void run();
  void warn_once(const std::string& key, const std::string& message);
  void end_round(std::string error, std::string newest_ready);

  Admission& admission_;
  WatchOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::set<std::string> warned_;  // what was logged at warn level already; later repeats go to debug
  WatchStatus status_;
  std::thread thread_;            // last: it runs as soon as it exists
};

}  // namespace rookery::catalog
