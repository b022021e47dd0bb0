#include "rookery/catalog/catalog_watch.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "rookery/catalog/admission.hpp"
#include "rookery/common/error.hpp"

namespace rookery::catalog {

std::vector<std::string> versions_to_prefetch(const std::vector<std::string>& versions, int newest,
                                              const std::function<bool(const std::string&)>& held) {
  std::vector<std::string> out;
  for (auto it = versions.rbegin(); it != versions.rend() && it - versions.rbegin() < newest; ++it) {
    if (!held(*it)) out.push_back(*it);
  }
  return out;
}

CatalogWatch::CatalogWatch(Admission& admission, WatchOptions options)
    : admission_(admission), options_(options) {
  if (options_.newest > 0) status_.interval_seconds = options_.interval.count();
  if (options_.interval.count() > 0 && options_.newest > 0) thread_ = std::thread([this] { run(); });
}

CatalogWatch::~CatalogWatch() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CatalogWatch::warn_once(const std::string& key, const std::string& message) {
  bool first;
  {
    std::lock_guard lock(mutex_);
    first = warned_.insert(key).second;
  }
  if (first) {
    spdlog::warn("{}", message);
  } else {
    spdlog::debug("{}", message);
  }
}

WatchStatus CatalogWatch::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void CatalogWatch::end_round(std::string error, std::string newest_ready) {
  std::lock_guard lock(mutex_);
  ++status_.rounds;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  status_.last_round_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  status_.last_error = std::move(error);
  status_.newest_ready = std::move(newest_ready);
}

std::vector<std::string> CatalogWatch::poll() {
  std::vector<std::string> admitted;
  std::vector<std::string> versions;
  try {
    versions = admission_.versions();
  } catch (const std::exception& e) {
    std::string error = e.what();
    warn_once("index", "catalog watch: " + error + " (the watch tries again next round)");
    end_round(error, status().newest_ready);
    return admitted;
  }
  // A held copy answered: the watch goes on with it, and its status says the catalog is failing.
  std::string error = admission_.catalog_failure();
  for (const auto& version :
       versions_to_prefetch(versions, options_.newest, [this](const std::string& v) { return admission_.holds(v); })) {
    try {
      if (!admission_.admit(version)) continue;  // unpublished since the index was read
      admitted.push_back(version);
      spdlog::info("release {}: metadata kept ready (catalog watch): a lookup joins without the catalog", version);
    } catch (const NotTrusted& e) {
      error = "release " + version + " refused: " + e.what() +
              ": publish it signed with the trusted key (rookery publish --sign)";
      warn_once(version, "catalog watch: " + error + "; tried again next round");
    } catch (const std::exception& e) {
      error = "release " + version + ": cannot keep its metadata ready: " + e.what();
      warn_once(version, "catalog watch: " + error +
                             " (the watch tries again next round; a lookup still tries on its own)");
    }
  }
  auto ready =
      std::find_if(versions.rbegin(), versions.rend(), [this](const std::string& v) { return admission_.holds(v); });
  end_round(std::move(error), ready == versions.rend() ? std::string() : *ready);
  return admitted;
}

void CatalogWatch::run() {
  std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    poll();
    lock.lock();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(options_.interval * jitter(random));
    stop_cv_.wait_for(lock, wait, [this] { return stopping_; });
  }
}

}  // namespace rookery::catalog
