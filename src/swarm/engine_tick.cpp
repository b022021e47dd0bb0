// The alert thread's once-a-second tick, as named steps per release and then for the engine.
#include <libtorrent/peer_info.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/swarm/engine.hpp"

namespace rookery::swarm {
namespace {

// Resume data is what lets a restart (even after kill -9) skip re-downloading verified pieces;
// pieces that finished after the last save are downloaded again, so save often (only releases that
// changed are written) and at once when a release completes.
constexpr auto kResumeSaveInterval = std::chrono::seconds(5);
// A read that waits while the release has no peer re-announces at most this often: opentracker's
// own interval is ~28 minutes, far too long to wait for a peer that joined later.
constexpr auto kReannounceInterval = std::chrono::seconds(5);
constexpr auto kStorageRetryInterval = std::chrono::seconds(5);
// A release that wants pieces and has gained none for this long is reported (and again as long as
// it lasts): in a fleet a healthy transfer gains a piece every few hundred milliseconds.
constexpr auto kStallReport = std::chrono::seconds(3);

}  // namespace

void Engine::tick() {
  auto now = Clock::now();
  last_tick_ = now;
  std::vector<ReleaseStatus> list;
  for (auto& release : releases()) {
    // Garbage collection removes releases on its own thread: a handle can go invalid between the
    // snapshot above and any call below (libtorrent then throws). Such a release is simply skipped.
    try {
      expire_timed_out_reads(*release, now);
      // Damaged pieces found while a recheck was already under way need the next one.
      if (release->gate().count(PieceGate::State::failed) > 0) request_recheck(*release);
      auto status = release->handle().status(lt::torrent_handle::query_pieces);
      // libtorrent answers a full disk by switching the torrent to upload mode (for
      // optimistic_disk_retry, 10 minutes by default) and other write errors by pausing it.
      bool stuck = status.errc || (status.flags & lt::torrent_flags::upload_mode);
      if (stuck || release->storage_trouble_) recover_from_storage_error(*release, status, now);
      if (release->gate().waiting_reads() > 0) serve_waiting_reads(release, status, now);
      report_stall(*release, status, now);
      list.push_back(status_of(*release, status));
    } catch (const lt::system_error& e) {
      spdlog::debug("release {}: skipped this tick: {} (removed meanwhile)", release->version(), e.what());
    }
  }
  publish_status(std::move(list));
  demand_.tick(now);
  if (now - last_resume_save_ > kResumeSaveInterval) {
    last_resume_save_ = now;
    save_resume_data(false);
  }
}

void Engine::expire_timed_out_reads(Release& release, Clock::time_point now) {
  if (int expired = release.gate().expire(now, EIO)) {
    spdlog::error("release {}: {} reads failed with EIO: pieces did not arrive within --read-timeout {} s "
                  "(no peer has them? check the seeder and tracker)",
                  release.version(), expired, options_.read_timeout.count());
  }
}

// Says why a release that wants pieces gains none: how many peers have pieces it lacks, how many
// of those let it ask (unchoke it), and how many requests are out. The first report of a stall is
// at info, repeats at debug; the end of a stall is logged where it was reported.
void Engine::report_stall(Release& release, const lt::torrent_status& status, Clock::time_point now) {
  const bool wants = !status.is_finished && !(status.flags & lt::torrent_flags::paused);
  if (!wants || status.num_pieces != release.pieces_at_last_gain_) {
    if (release.last_stall_report_ > release.last_gain_) {
      spdlog::info("release {}: gaining pieces again after {:.1f} s ({} of {})", release.version(),
                   std::chrono::duration<double>(now - release.last_gain_).count(), status.num_pieces,
                   status.pieces.size());
    }
    release.pieces_at_last_gain_ = status.num_pieces;
    release.last_gain_ = now;
    return;
  }
  if (now - release.last_gain_ < kStallReport || now - release.last_stall_report_ < kStallReport) return;
  const bool first = release.last_stall_report_ < release.last_gain_;
  release.last_stall_report_ = now;
  std::vector<lt::peer_info> peers;
  release.handle().get_peer_info(peers);
  int have_wanted = 0, unchoke_us = 0, requests = 0;
  for (const auto& p : peers) {
    if (!(p.flags & lt::peer_info::interesting)) continue;
    ++have_wanted;
    if (!(p.flags & lt::peer_info::remote_choked)) ++unchoke_us;
    requests += p.download_queue_length;
  }
  spdlog::log(first ? spdlog::level::info : spdlog::level::debug,
              "release {}: no piece gained for {:.0f} s ({} of {} held): {} peers, {} have pieces it wants, "
              "{} of those unchoke it, {} requests out",
              release.version(), std::chrono::duration<double>(now - release.last_gain_).count(), status.num_pieces,
              status.pieces.size(), peers.size(), have_wanted, unchoke_us, requests);
}

// libtorrent pauses a torrent whose files cannot be written (a full or read-only cache disk). Until a
// piece is stored again, reads that need missing pieces fail with EIO at once instead of hanging;
// every few seconds the error is cleared and the torrent resumed, so the release completes once
// space is freed.
void Engine::recover_from_storage_error(Release& release, const lt::torrent_status& status, Clock::time_point now) {
  release.gate().cancel_all(EIO);
  if (now - release.last_error_retry_ < kStorageRetryInterval) return;
  release.last_error_retry_ = now;
  spdlog::debug("release {}: storage error ({}): clearing it and resuming", release.version(),
                status.errc ? status.errc.message() : "write failed");
  release.handle().clear_error();
  release.handle().unset_flags(lt::torrent_flags::upload_mode);
  release.handle().resume();
}

// Readers are waiting: catch up on any piece whose alert was lost, and find peers now if we have
// none rather than at the tracker's next interval.
void Engine::serve_waiting_reads(const std::shared_ptr<Release>& release, const lt::torrent_status& status,
                                 Clock::time_point now) {
  mark_downloaded_pieces(release, status.pieces);
  if (status.num_peers == 0 && now - release->last_reannounce_ > kReannounceInterval) {
    release->last_reannounce_ = now;
    spdlog::info("release {}: reads are waiting and no peer is connected: re-announcing", release->version());
    release->handle().force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval);
  }
}

void Engine::publish_status(std::vector<ReleaseStatus> list) {
  nlohmann::json file = {{"releases", list}};
  {
    std::lock_guard lock(status_mutex_);
    status_ = std::move(list);
  }
  try {
    rewrite_snapshot_file(cache_.status_path(), file.dump(2) + "\n", 0600);
  } catch (const UserError& e) {
    spdlog::debug("{}", e.what());
  }
}

ReleaseStatus Engine::status_of(Release& release, const lt::torrent_status& st) {
  auto& gate = release.gate();
  ReleaseStatus s;
  s.version = release.version();
  s.pieces_verified = gate.count(PieceGate::State::readable);
  s.pieces_total = gate.num_pieces();
  bool joining = st.state == lt::torrent_status::checking_files ||
                 st.state == lt::torrent_status::checking_resume_data || (s.pieces_verified == 0 && st.num_peers == 0);
  bool partial = s.pieces_verified < s.pieces_total;
  s.state = st.errc || release.storage_trouble_ ? ReleaseState::error
            : joining && partial                 ? ReleaseState::joining
            : partial                            ? ReleaseState::partial
            : st.num_peers > 0                   ? ReleaseState::seeding
                                                 : ReleaseState::landed;
  s.pieces_downloaded = st.num_pieces;
  s.bytes_total = release.payload_bytes();
  s.bytes_downloaded_session = st.total_payload_download;
  s.bytes_from_local = release.bytes_from_local();
  s.bytes_uploaded_session = st.total_payload_upload;
  s.bytes_redundant_session = st.total_redundant_bytes;
  s.peers = st.num_peers;
  s.download_rate = st.download_payload_rate;
  s.upload_rate = st.upload_payload_rate;
  s.reads_waited = release.waits().count();
  s.read_wait_p50_seconds = release.waits().quantile(0.5);
  s.read_wait_p99_seconds = release.waits().quantile(0.99);
  s.reads_waiting = gate.waiting_reads();
  s.error = st.errc ? st.errc.message() : "";
  refresh_progress(s, release);
  return s;
}

// The verified counts as of now; a release that completed since `s` was taken is landed or seeding.
void Engine::refresh_progress(ReleaseStatus& s, const Release& release) {
  s.pieces_verified = release.gate().count(PieceGate::State::readable);
  s.bytes_verified = release.verified_payload_bytes();
  bool partial = s.state == ReleaseState::joining || s.state == ReleaseState::partial;
  if (partial && s.pieces_verified == s.pieces_total) s.state = s.peers > 0 ? ReleaseState::seeding : ReleaseState::landed;
}

}  // namespace rookery::swarm
