#include "rookery/catalog/catalog.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"

namespace rookery::catalog {
namespace {

constexpr std::size_t kMaxCatalogObject = 64u << 20;  // a torrent of a huge release is a few MiB

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > kMaxCatalogObject) return 0;  // makes curl fail the transfer
  body->append(data, size * count);
  return size * count;
}

// Keeps the value of an ETag response header (the last one, should there be several responses).
std::size_t capture_etag(char* data, std::size_t size, std::size_t count, void* user) {
  std::string_view line(data, size * count);
  constexpr std::string_view name = "etag:";
  if (line.size() > name.size() && ::strncasecmp(line.data(), name.data(), name.size()) == 0) {
    line.remove_prefix(name.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.remove_suffix(1);
    *static_cast<std::string*>(user) = std::string(line);
  }
  return size * count;
}

bool is_http(const std::string& url) { return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0; }

// What an HTTP fetch returned. With an If-None-Match, a server whose copy is unchanged answers
// 304 Not Modified and no body.
struct HttpResponse {
  std::string body;
  std::string etag;  // the server's tag for this copy, "" when it sent none
  bool not_modified = false;
};

// A SYN the catalog server's full link drops is sent again by the kernel only after 1 s. In the lab
// a fleet's join hit that: at 64 hosts 8 of 128 catalog connects took 1.07-1.6 s, while the rest
// connected within 152 ms under the same load (the origin's link full of pieces for the hosts that
// had joined first); a host that joins a second late starts with nothing to give its peers. So a
// connect is given 400 ms, then 800 ms on a fresh socket, and only then the full 5 s.
constexpr long kConnectAttemptsMs[] = {400, 800, 5000};

HttpResponse fetch_http(const std::string& url, std::chrono::seconds timeout, const std::string& if_none_match = "") {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw UserError("cannot fetch " + url + ": curl initialisation failed");
  HttpResponse response;
  std::string& body = response.body;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, capture_etag);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &response.etag);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  if (!if_none_match.empty()) {
    headers.reset(curl_slist_append(nullptr, ("If-None-Match: " + if_none_match).c_str()));
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  }
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  // Every fetch on a connection of its own: a retry must not wait on a stuck socket, and a
  // connection kept open from an earlier fetch was slower (in the lab, during a fleet's join, a
  // 37 KB torrent took 250-340 ms on reused connections against at most 114 ms on fresh ones;
  // BENCHMARKS.md, "Fifteenth session" under Cross-release dedup).
  curl_easy_setopt(curl.get(), CURLOPT_FRESH_CONNECT, 1L);
  CURLcode rc = CURLE_OK;
  for (long connect_ms : kConnectAttemptsMs) {
    body.clear();
    response.etag.clear();
    error[0] = 0;
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    rc = curl_easy_perform(curl.get());
    double connected = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_CONNECT_TIME, &connected);
    if (rc != CURLE_OPERATION_TIMEDOUT || connected > 0) break;  // only a connect that timed out is tried again
    spdlog::debug("fetch {}: no connection within {} ms, trying a new one", url, connect_ms);
  }
  if (rc != CURLE_OK) {
    throw UserError("cannot fetch " + url + ": " + (error[0] ? error : curl_easy_strerror(rc)) +
                    ": check that the catalog server is reachable");
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    double connect = 0, first_byte = 0, total = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_CONNECT_TIME, &connect);
    curl_easy_getinfo(curl.get(), CURLINFO_STARTTRANSFER_TIME, &first_byte);
    curl_easy_getinfo(curl.get(), CURLINFO_TOTAL_TIME, &total);
    spdlog::debug("fetched {}: {} bytes, connected after {:.1f} ms, first byte {:.1f} ms, done {:.1f} ms", url,
                  body.size(), 1e3 * connect, 1e3 * first_byte, 1e3 * total);
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  response.not_modified = status == 304;
  return response;
}

}  // namespace

std::string fetch_url(const std::string& url, std::chrono::seconds timeout) {
  constexpr std::string_view file_scheme = "file://";
  if (url.rfind(file_scheme, 0) == 0) return read_file(url.substr(file_scheme.size()));
  if (is_http(url)) return fetch_http(url, timeout).body;
  throw UserError("unsupported catalog URL " + url + ": use file:///path/ or http(s)://host/path/");
}

Catalog::Catalog(std::string base_url, std::chrono::seconds timeout)
    : base_url_(std::move(base_url)), timeout_(timeout) {
  if (base_url_.empty() || base_url_.back() != '/') base_url_ += '/';
}

// Fetches run under `fetch_mutex_` only: a lookup that needs just the held copy (held_record)
// never waits behind a slow catalog.
Index Catalog::index(std::chrono::milliseconds max_age) {
  std::lock_guard fetching(fetch_mutex_);
  auto now = std::chrono::steady_clock::now();
  bool held = false;
  std::string etag;
  {
    std::lock_guard lock(mutex_);
    if (cached_ && now - fetched_at_ < max_age) return *cached_;
    held = cached_.has_value();
    etag = etag_;
  }
  std::optional<Index> fetched;
  std::string fetched_etag, failure;
  try {
    std::string url = base_url_ + "index.json";
    if (is_http(url)) {
      // Asked with the held copy's ETag, a server whose index is unchanged answers 304 and no
      // body: the catalog watch's polls (catalog_watch.hpp) then cost a few hundred bytes each.
      // nginx's ETag is the file's mtime and size; publish only ever adds to the index, so a
      // changed index does not carry the tag of the one before, even within the same second.
      auto response = fetch_http(url, timeout_, held ? etag : "");
      if (response.not_modified && !held) {
        throw UserError("cannot fetch " + url + ": the server answered 304 to a request without a tag");
      }
      if (!response.not_modified) {
        fetched = Index::parse(response.body, url);
        fetched_etag = response.etag;
      }
    } else {
      fetched = Index::parse(fetch_url(url, timeout_), url);
    }
  } catch (const UserError& e) {
    if (!held) throw;
    failure = e.what();
  }
  std::lock_guard lock(mutex_);
  fetched_at_ = now;  // after a failure too: do not hammer a catalog that is down, retry after max_age
  if (failure.empty()) {
    if (fetched) {
      cached_ = std::move(fetched);
      etag_ = std::move(fetched_etag);
    }
    succeeded_at_ = now;
    failure_.clear();
  } else {
    failure_ = failure;
    spdlog::warn("{} (using the catalog fetched {} s ago)", failure,
                 std::chrono::duration_cast<std::chrono::seconds>(now - succeeded_at_).count());
  }
  return *cached_;
}

std::string Catalog::index_failure() {
  std::lock_guard lock(mutex_);
  return failure_;
}

std::optional<ReleaseRecord> Catalog::held_record(const std::string& version) {
  std::lock_guard lock(mutex_);
  if (!cached_) return std::nullopt;
  auto* r = cached_->find(version);
  return r ? std::optional<ReleaseRecord>(*r) : std::nullopt;
}

std::string Catalog::fetch_torrent(const std::string& version) {
  return fetch_url(base_url_ + "torrents/" + version + ".torrent", timeout_);
}

std::string Catalog::fetch_signature(const std::string& version) {
  return fetch_url(base_url_ + "torrents/" + version + ".torrent.sig", timeout_);
}

}  // namespace rookery::catalog
