// The app server's view of a repository: a base URL (file:// or http(s)://) under which index.json
// and torrents/<version>.torrent live. Fetches are bounded (connect and total timeouts), because a
// FUSE lookup waits on them; errors name the URL and what to check.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "rookery/catalog/index.hpp"

namespace rookery::catalog {

// Reads a whole resource. Throws UserError (one line, naming the URL) on any failure.
std::string fetch_url(const std::string& url, std::chrono::seconds timeout);

class Catalog {
 public:
  explicit Catalog(std::string base_url, std::chrono::seconds timeout = std::chrono::seconds(20));

  const std::string& base_url() const { return base_url_; }
  // The index, refetched when older than max_age (over http(s), conditionally: an unchanged index
  // costs a 304 and no body). Throws UserError when it cannot be fetched and no copy is held; with
  // a held copy, the stale copy is returned and the failure logged.
  Index index(std::chrono::milliseconds max_age);
  // Why the last fetch of the index failed while a held copy was answered instead; empty once a
  // fetch succeeds (a catalog outage must show in status even though lookups go on).
  std::string index_failure();
  // The held index's record of `version`, however old; nothing (and no fetch) when none is held.
  std::optional<ReleaseRecord> held_record(const std::string& version);
  std::string fetch_torrent(const std::string& version);
  std::string fetch_signature(const std::string& version);

 private:
  std::string base_url_;
  std::chrono::seconds timeout_;
  // Lock order: fetch_mutex_ (one index fetch at a time, held across it) before mutex_ (the held
  // copy and its state below, held only to read or replace them).
  std::mutex fetch_mutex_;
  std::mutex mutex_;
  std::optional<Index> cached_;
  std::string etag_;  // the server's ETag for cached_ (http only), sent back as If-None-Match
  std::chrono::steady_clock::time_point fetched_at_{};    // last attempt: paces retries
  std::chrono::steady_clock::time_point succeeded_at_{};  // last success: how stale cached_ is
  std::string failure_;
};

}  // namespace rookery::catalog
