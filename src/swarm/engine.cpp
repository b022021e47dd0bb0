#include "rookery/swarm/engine.hpp"

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"

namespace rookery::swarm {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTickInterval = std::chrono::seconds(1);
// Resume data is what lets a restart (even after kill -9) skip re-downloading verified pieces;
// pieces that finished after the last save are downloaded again, so save often (only releases that
// changed are written) and at once when a release completes.
constexpr auto kResumeSaveInterval = std::chrono::seconds(5);
// A read that waits while the release has no peer re-announces at most this often: opentracker's
// own interval is ~28 minutes, far too long to wait for a peer that joined later.
constexpr auto kReannounceInterval = std::chrono::seconds(5);
constexpr auto kStorageRetryInterval = std::chrono::seconds(5);
// On-demand reads hold background fetching back while they wait (see engine.hpp), but not one that
// has waited this long: a piece takes milliseconds on a LAN, so such a read waits for a source.
constexpr auto kStuckRead = std::chrono::seconds(5);
// ... and released this long after the last wait.
constexpr auto kHoldAfterLastWait = std::chrono::seconds(1);
// A damaged cache (a piece libtorrent has whose bytes never match) triggers a full recheck, which
// reads the whole release: at most this often per release.
// Damaged pieces found after a recheck started wait for the next one, so keep this short.
constexpr auto kRecheckInterval = std::chrono::seconds(15);
// Readahead pieces are fetched after the pieces a read blocks on: deadline kPrefetchBase plus
// kPrefetchStep per piece, so the nearest come first.
constexpr int kPrefetchBaseMs = 200;
constexpr int kPrefetchStepMs = 50;

lt::session_params make_session_params(const SwarmOptions& options) {
  lt::session_params params(make_settings(options));
  return params;
}

}  // namespace

Engine::Engine(store::CacheDir& cache, EngineOptions options)
    : cache_(cache), options_(std::move(options)), session_(make_session_params(options_.swarm)) {
  configure_session(session_);
  alert_thread_ = std::thread([this] { alert_loop(); });
  verifier_thread_ = std::thread([this] { verifier_loop(); });
}

Engine::~Engine() { stop(); }

std::shared_ptr<Release> Engine::join(const std::string& version, std::shared_ptr<const lt::torrent_info> info) {
  if (!info->info_hashes().has_v1()) {
    throw UserError("release " + version + ": v2-only torrents are not supported (no v1 piece hashes to verify "
                    "the cache against): republish with rookery publish");
  }
  auto data_dir = cache_.data_dir(version);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw UserError("release " + version + ": cannot create " + data_dir.string() + ": " + ec.message());

  lt::add_torrent_params atp;
  auto resume = cache_.resume_path(version);
  if (std::filesystem::exists(resume)) {
    lt::error_code rec;
    std::string bytes = read_file(resume);
    atp = lt::read_resume_data({bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())}, rec);
    if (rec) {
      spdlog::warn("release {}: ignoring unreadable resume data {} ({}): pieces will be rechecked", version,
                   resume.string(), rec.message());
      atp = lt::add_torrent_params{};
    }
  }
  atp.ti = std::make_shared<lt::torrent_info>(*info);
  atp.save_path = data_dir.string();
  atp.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused | lt::torrent_flags::seed_mode);
  // Trust the resume data's piece list without libtorrent's file size/mtime check: that check
  // rejects every release holding a symlink (it compares the link's target size) and falls back to
  // re-hashing the whole cache. Our own gate re-hashes each piece before serving it and rechecks a
  // release whose cache turns out damaged.
  atp.flags |= lt::torrent_flags::update_subscribe | lt::torrent_flags::no_verify_files;
  if (options_.fetch == FetchMode::lazy) {
    atp.piece_priorities.assign(static_cast<std::size_t>(info->num_pieces()), lt::dont_download);
  } else {
    atp.piece_priorities.clear();
  }
  atp.file_priorities.clear();  // file priority 0 would send pieces to a .parts file: never used

  auto release = std::make_shared<Release>(version, info, data_dir);
  release->fetch_everything = options_.fetch == FetchMode::background;
  lt::error_code add_error;
  {
    // Hold the map lock across add_torrent so that alerts for the new handle always find it.
    std::lock_guard lock(releases_mutex_);
    release->handle = session_.add_torrent(std::move(atp), add_error);
    if (add_error) {
      throw UserError("release " + version + ": cannot join its swarm: " + add_error.message());
    }
    releases_.push_back(release);
    by_handle_[release->handle] = release;
  }
  spdlog::info("release {}: joined swarm ({} files, {} pieces of {} KiB, fetch {})", version,
               info->num_files(), info->num_pieces(), info->piece_length() / 1024,
               options_.fetch == FetchMode::lazy ? "lazy" : "background");
  return release;
}

void Engine::await(const std::shared_ptr<Release>& release, PieceRange need, PieceRange prefetch,
                   PieceGate::Completion done) {
  auto& gate = release->gate();
  std::vector<int> ahead;  // readahead pieces asked for the first time
  for (int p = prefetch.first; p <= prefetch.last; ++p)
    if (gate.claim_prefetch(p)) ahead.push_back(p);
  auto deadline = options_.read_timeout.count() > 0 ? Clock::now() + options_.read_timeout
                                                    : Clock::time_point::max();
  auto started = Clock::now();
  auto timed = [release, need, started, done = std::move(done)](int error, bool waited) {
    if (waited) {
      auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      release->waits.record(took);
      spdlog::trace("release {}: read of pieces {}-{} waited {:.1f} ms", release->version(), need.first,
                    need.last, took.count() / 1000.0);
    }
    done(error, waited);
  };
  auto plan = gate.wait(need.first, need.last, deadline, std::move(timed));
  const bool fetch_now = !plan.complete && !plan.missing.empty();
  if (fetch_now && options_.swarm.max_download_rate > 0 && !limit_lifted_.exchange(true)) {
    lt::settings_pack unlimited;
    unlimited.set_int(lt::settings_pack::download_rate_limit, 0);
    session_.apply_settings(std::move(unlimited));
  }
  if (!plan.complete && release->storage_trouble) {  // the pieces could not be stored: fail now rather than hang
    gate.cancel_all(EIO);
    return;
  }
  if (fetch_now || !ahead.empty()) {
    // Deadlines and holds under one lock: a hold computed without this read's pieces would set them
    // to priority 0 after their deadlines, and priority 0 cancels a deadline.
    std::lock_guard lock(demand_mutex_);
    if (fetch_now) {
      last_wait_seen_ = Clock::now().time_since_epoch().count();
      hold_background();
      for (int p : plan.missing) release->handle.set_piece_deadline(lt::piece_index_t(p), 0);
    }
    for (std::size_t i = 0; i < ahead.size(); ++i) {
      release->handle.set_piece_deadline(lt::piece_index_t(ahead[i]),
                                         kPrefetchBaseMs + kPrefetchStepMs * static_cast<int>(i));
    }
  }
  for (int p : plan.unverified) enqueue_verification(release, p, true);
}

void Engine::fetch_all(const std::shared_ptr<Release>& release) {
  std::lock_guard lock(demand_mutex_);
  release->fetch_everything = true;
  if (holding_) {
    hold(*release);
  } else {
    prioritize(*release, std::vector<lt::download_priority_t>(static_cast<std::size_t>(release->info().num_pieces()),
                                                             lt::default_priority));
  }
}

// A release evicted by the garbage collector meanwhile has an invalid handle: nothing to do then.
void Engine::prioritize(Release& release, const std::vector<lt::download_priority_t>& priorities) {
  try {
    release.handle.prioritize_pieces(priorities);
  } catch (const lt::system_error& e) {
    spdlog::debug("release {}: priorities not set: {}", release.version(), e.what());
  }
}

void Engine::hold(Release& release) {
  // Pieces reads wait for keep a priority above 0 (priority 0 would cancel their deadlines).
  auto demand = release.gate().in_demand();
  std::vector<lt::download_priority_t> priorities(demand.size(), lt::dont_download);
  for (std::size_t p = 0; p < demand.size(); ++p)
    if (demand[p]) priorities[p] = lt::top_priority;
  prioritize(release, priorities);
  release.background_held = true;
}

void Engine::hold_background() {
  std::vector<std::shared_ptr<Release>> releases;
  {
    std::lock_guard lock(releases_mutex_);
    releases = releases_;
  }
  holding_ = true;
  for (auto& r : releases)
    if (r->fetch_everything && !r->background_held) hold(*r);
}

void Engine::release_background(Clock::time_point now) {
  std::vector<std::shared_ptr<Release>> releases;
  {
    std::lock_guard lock(releases_mutex_);
    releases = releases_;
  }
  std::lock_guard lock(demand_mutex_);
  // Checked again under the lock: a read may have started waiting since the caller looked.
  if (!holding_ || now - Clock::time_point(Clock::duration(last_wait_seen_.load())) <= kHoldAfterLastWait) return;
  holding_ = false;
  for (auto& r : releases) {
    if (!r->background_held) continue;
    prioritize(*r, std::vector<lt::download_priority_t>(static_cast<std::size_t>(r->info().num_pieces()),
                                                       lt::default_priority));
    r->background_held = false;
  }
}

void Engine::remove(const std::shared_ptr<Release>& release) {
  {
    std::lock_guard lock(releases_mutex_);
    releases_.erase(std::remove(releases_.begin(), releases_.end(), release), releases_.end());
    by_handle_.erase(release->handle);
  }
  release->gate().cancel_all(EIO);
  session_.remove_torrent(release->handle, lt::session::delete_files);
  // Removal is asynchronous; wait (bounded) so the files are closed before the directory goes.
  for (int i = 0; i < 100 && release->handle.is_valid(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::error_code ec;
  std::filesystem::remove_all(cache_.release_dir(release->version()), ec);
  if (ec) spdlog::warn("release {}: cannot remove {}: {}", release->version(), cache_.release_dir(release->version()).string(), ec.message());
  else spdlog::info("release {}: removed from the cache", release->version());
}

nlohmann::json Engine::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void Engine::enqueue_verification(const std::shared_ptr<Release>& release, int piece, bool urgent) {
  {
    std::lock_guard lock(verify_mutex_);
    Verification v{release, piece, 0, Clock::now()};
    (urgent ? urgent_ : background_).push_back(std::move(v));
  }
  verify_cv_.notify_one();
}

void Engine::verifier_loop() {
  std::unique_lock lock(verify_mutex_);
  while (!stopping_) {
    Verification job;
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
      if (retries_.empty()) verify_cv_.wait(lock);
      else verify_cv_.wait_until(lock, retries_.begin()->first);
      continue;
    }
    lock.unlock();
    auto& gate = job.release->gate();
    bool pending = gate.state(job.piece) == PieceGate::State::downloaded;
    bool ok = pending && job.release->verify_piece(lt::piece_index_t(job.piece));
    if (ok) {
      if (job.attempt > 0)
        spdlog::debug("release {}: piece {} readable after {} re-hash attempts", job.release->version(), job.piece,
                      job.attempt + 1);
      gate.mark_readable(job.piece);
    } else if (pending && Clock::now() - job.first_try > options_.verify_give_up) {
      spdlog::error("release {}: piece {} passed the swarm's hash check but its bytes in the cache ({}) still do "
                    "not match after {} s: reads of it fail with EIO; check the cache disk",
                    job.release->version(), job.piece, job.release->data_dir().string(),
                    options_.verify_give_up.count());
      gate.mark_failed(job.piece, EIO);
      request_recheck(*job.release);
    }
    lock.lock();
    if (pending && !ok && gate.state(job.piece) == PieceGate::State::downloaded) {
      // The write-behind window: libtorrent's write job has not reached the file yet. Back off
      // from 1 ms doubling to 256 ms.
      auto delay = std::chrono::milliseconds(1 << std::min(job.attempt, 8));
      ++job.attempt;
      retries_.emplace(Clock::now() + delay, std::move(job));
    }
  }
}

void Engine::request_recheck(Release& release) {
  std::lock_guard lock(release.mutex);
  auto now = Clock::now();
  if (now - release.last_recheck < kRecheckInterval) return;
  release.last_recheck = now;
  spdlog::warn("release {}: rechecking the whole cache to find and fetch again the damaged pieces", release.version());
  release.handle.force_recheck();
}

std::shared_ptr<Release> Engine::find(const lt::torrent_handle& handle) {
  std::lock_guard lock(releases_mutex_);
  auto it = by_handle_.find(handle);
  return it == by_handle_.end() ? nullptr : it->second;
}

void Engine::mark_downloaded_pieces(const std::shared_ptr<Release>& release,
                                    const lt::typed_bitfield<lt::piece_index_t>& have) {
  for (auto p : have.range()) {
    bool urgent = false;
    if (have[p] && release->gate().mark_downloaded(static_cast<int>(p), &urgent))
      enqueue_verification(release, static_cast<int>(p), urgent);
  }
}

void Engine::alert_loop() {
  while (!stopping_) {
    session_.wait_for_alert(std::chrono::milliseconds(250));
    handle_alerts();
    if (Clock::now() - last_tick_ >= kTickInterval) tick();
  }
}

void Engine::handle_alerts() {
  std::vector<lt::alert*> alerts;
  session_.pop_alerts(&alerts);
  for (lt::alert* a : alerts) {
    if (auto* pf = lt::alert_cast<lt::piece_finished_alert>(a)) {
      if (auto release = find(pf->handle)) {
        if (release->storage_trouble.exchange(false))
          spdlog::info("release {}: the cache is writable again", release->version());
        bool urgent = false;
        int piece = static_cast<int>(pf->piece_index);
        if (release->gate().mark_downloaded(piece, &urgent)) enqueue_verification(release, piece, urgent);
      }
    } else if (auto* tc = lt::alert_cast<lt::torrent_checked_alert>(a)) {
      if (auto release = find(tc->handle)) {
        auto status = tc->handle.status(lt::torrent_handle::query_pieces);
        // After a recheck every failed piece starts over: fetched again if the recheck dropped it,
        // verified again if the file holds it after all.
        for (auto p : status.pieces.range()) release->gate().mark_missing(static_cast<int>(p));
        mark_downloaded_pieces(release, status.pieces);
        spdlog::info("release {}: {} of {} pieces already in the cache", release->version(), status.num_pieces,
                     release->info().num_pieces());
      }
    } else if (auto* tf = lt::alert_cast<lt::torrent_finished_alert>(a)) {
      ++resume_saves_pending_;
      tf->handle.save_resume_data(lt::torrent_handle::only_if_modified);
    } else if (auto* sr = lt::alert_cast<lt::save_resume_data_alert>(a)) {
      if (auto release = find(sr->handle)) {
        try {
          auto buf = lt::write_resume_data_buf(sr->params);
          write_file_atomically(cache_.resume_path(release->version()), {buf.data(), buf.size()}, 0600);
        } catch (const UserError& e) {
          if (release->storage_trouble) spdlog::debug("release {}: cannot save resume data: {}", release->version(), e.what());
          else spdlog::warn("release {}: cannot save resume data: {}", release->version(), e.what());
        }
      }
      --resume_saves_pending_;
    } else if (lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
      --resume_saves_pending_;
    } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
      auto release = find(fe->handle);
      if (release && !release->storage_trouble.exchange(true)) {
        spdlog::error("release {}: cannot write the cache ({} {}: {}): reads of missing pieces fail with EIO "
                      "until it can; free space on the cache disk or check that it is writable",
                      release->version(), lt::operation_name(fe->op), fe->filename(), fe->error.message());
      }
      if (release) release->gate().cancel_all(EIO);
    } else if (auto* hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
      auto release = find(hf->handle);
      spdlog::warn("release {}: piece {} from the swarm failed its hash check: discarded, fetching it again",
                   release ? release->version() : "?", static_cast<int>(hf->piece_index));
    } else if (auto* ban = lt::alert_cast<lt::peer_ban_alert>(a)) {
      auto release = find(ban->handle);
      spdlog::warn("release {}: banned peer {} for sending corrupt data", release ? release->version() : "?",
                   ban->endpoint.address().to_string());
    } else if (auto* te = lt::alert_cast<lt::tracker_error_alert>(a)) {
      auto release = find(te->handle);
      spdlog::warn("release {}: tracker {}: {} {}", release ? release->version() : "?", te->tracker_url(),
                   te->error.message(), te->failure_reason());
    } else {
      log_session_alert(a);
    }
  }
}

void Engine::tick() {
  auto now = Clock::now();
  last_tick_ = now;
  std::vector<std::shared_ptr<Release>> releases;
  {
    std::lock_guard lock(releases_mutex_);
    releases = releases_;
  }
  nlohmann::json list = nlohmann::json::array();
  for (auto& release : releases) {
    auto& gate = release->gate();
    if (int expired = gate.expire(now, EIO)) {
      spdlog::error("release {}: {} reads failed with EIO: pieces did not arrive within --read-timeout {} s "
                    "(no peer has them? check the seeder and tracker)",
                    release->version(), expired, options_.read_timeout.count());
    }
    // Damaged pieces found while a recheck was already under way need the next one.
    if (gate.count(PieceGate::State::failed) > 0) request_recheck(*release);
    auto status = release->handle.status(lt::torrent_handle::query_pieces);
    // libtorrent answers a full disk by switching the torrent to upload mode (for
    // optimistic_disk_retry, 10 minutes by default) and other write errors by pausing it.
    bool stuck = status.errc || (status.flags & lt::torrent_flags::upload_mode);
    if (stuck || release->storage_trouble) recover_from_storage_error(*release, status, now);
    if (gate.waiting_reads() > 0) {
      // Readers are waiting: catch up on any piece whose alert was lost, and find peers now if we
      // have none rather than at the tracker's next interval.
      mark_downloaded_pieces(release, status.pieces);
      if (status.num_peers == 0 && now - release->last_reannounce > kReannounceInterval) {
        release->last_reannounce = now;
        spdlog::info("release {}: reads are waiting and no peer is connected: re-announcing", release->version());
        release->handle.force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval);
      }
    }
    list.push_back(status_json(*release, status));
  }
  {
    std::lock_guard lock(status_mutex_);
    status_ = list;
  }
  try {
    write_file_atomically(cache_.status_path(), nlohmann::json{{"releases", list}}.dump(2) + "\n", 0600);
  } catch (const UserError& e) {
    spdlog::debug("{}", e.what());
  }
  // A read waiting longer than kStuckRead waits on a missing source, not on bandwidth: it must not
  // keep background fetching held (or the download limit lifted) for ever.
  bool waiting = std::any_of(releases.begin(), releases.end(),
                             [&](auto& r) { return r->gate().waiting_reads_since(now - kStuckRead) > 0; });
  if (waiting) {
    // Also holds releases that began fetching everything during the hold (a join, a prefetch).
    std::lock_guard lock(demand_mutex_);
    last_wait_seen_ = now.time_since_epoch().count();
    hold_background();
  }
  auto last_wait = Clock::time_point(Clock::duration(last_wait_seen_.load()));
  if (now - last_wait > kHoldAfterLastWait) {
    if (limit_lifted_.exchange(false)) {
      lt::settings_pack limited;
      limited.set_int(lt::settings_pack::download_rate_limit, options_.swarm.max_download_rate);
      session_.apply_settings(std::move(limited));
    }
    release_background(now);
  }
  if (now - last_resume_save_ > kResumeSaveInterval) {
    last_resume_save_ = now;
    save_resume_data(false);
  }
}

// libtorrent pauses a torrent whose files cannot be written (a full or read-only cache disk). Until a
// piece is stored again, reads that need missing pieces fail with EIO at once instead of hanging;
// every few seconds the error is cleared and the torrent resumed, so the release completes once
// space is freed.
void Engine::recover_from_storage_error(Release& release, const lt::torrent_status& status, Clock::time_point now) {
  release.gate().cancel_all(EIO);
  if (now - release.last_error_retry < kStorageRetryInterval) return;
  release.last_error_retry = now;
  spdlog::debug("release {}: storage error ({}): clearing it and resuming", release.version(),
                status.errc ? status.errc.message() : "write failed");
  release.handle.clear_error();
  release.handle.unset_flags(lt::torrent_flags::upload_mode);
  release.handle.resume();
}

nlohmann::json Engine::status_json(Release& release, const lt::torrent_status& st) {
  auto& gate = release.gate();
  int readable = gate.count(PieceGate::State::readable);
  int total = gate.num_pieces();
  // joining: added, checking the cache or still without any peer or verified piece; the catalog
  // fetch before it ("resolving") happens inside the first lookup and is never seen here.
  bool joining = st.state == lt::torrent_status::checking_files ||
                 st.state == lt::torrent_status::checking_resume_data || (readable == 0 && st.num_peers == 0);
  std::string state = st.errc || release.storage_trouble ? "error"
                      : joining && readable < total      ? "joining"
                      : readable < total                 ? "partial"
                      : st.num_peers > 0                 ? "seeding"
                                                         : "landed";
  return {{"version", release.version()},
          {"state", state},
          {"pieces_verified", readable},
          {"pieces_downloaded", st.num_pieces},
          {"pieces_total", total},
          {"bytes_total", release.payload_bytes()},
          {"bytes_verified", release.verified_payload_bytes()},
          {"bytes_downloaded_session", st.total_payload_download},
          {"bytes_uploaded_session", st.total_payload_upload},
          {"peers", st.num_peers},
          {"download_rate", st.download_payload_rate},
          {"upload_rate", st.upload_payload_rate},
          {"reads_waited", release.waits.count()},
          {"read_wait_p50_seconds", release.waits.quantile(0.5)},
          {"read_wait_p99_seconds", release.waits.quantile(0.99)},
          {"reads_waiting", gate.waiting_reads()},
          {"error", st.errc ? st.errc.message() : ""}};
}

void Engine::save_resume_data(bool wait) {
  std::vector<std::shared_ptr<Release>> releases;
  {
    std::lock_guard lock(releases_mutex_);
    releases = releases_;
  }
  for (auto& release : releases) {
    ++resume_saves_pending_;
    release->handle.save_resume_data(lt::torrent_handle::only_if_modified);
  }
  if (!wait) return;
  // save_resume_data answers asynchronously, one alert per torrent: wait for them (bounded) before
  // the session goes away, or a restart would download verified pieces again.
  auto until = Clock::now() + std::chrono::seconds(10);
  while (resume_saves_pending_ > 0 && Clock::now() < until) {
    session_.wait_for_alert(std::chrono::milliseconds(100));
    handle_alerts();
  }
}

void Engine::stop() {
  if (stopping_.exchange(true)) return;
  verify_cv_.notify_all();
  if (alert_thread_.joinable()) alert_thread_.join();
  if (verifier_thread_.joinable()) verifier_thread_.join();
  save_resume_data(true);
  std::lock_guard lock(releases_mutex_);
  for (auto& release : releases_) release->gate().cancel_all(EIO);
}

}  // namespace rookery::swarm
