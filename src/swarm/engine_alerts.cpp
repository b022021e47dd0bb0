// The alert thread: libtorrent reports everything as alerts; each type the engine acts on has its
// handler below, the rest are logged by the session's common logger.
#include <libtorrent/write_resume_data.hpp>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/swarm/engine.hpp"

namespace rookery::swarm {
namespace {

constexpr auto kTickInterval = std::chrono::seconds(1);

std::string name_of(const std::shared_ptr<Release>& release) { return release ? release->version() : "?"; }

}  // namespace

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
    // An alert can name a release that garbage collection removed meanwhile: libtorrent throws on
    // its handle, and the alert is moot.
    try {
      handle_alert(a);
    } catch (const lt::system_error& e) {
      spdlog::debug("{}: not handled: {} (release removed meanwhile)", a->what(), e.what());
    }
  }
}

void Engine::handle_alert(lt::alert* a) {
  if (auto* pf = lt::alert_cast<lt::piece_finished_alert>(a)) {
    on_piece_finished(*pf);
  } else if (auto* tc = lt::alert_cast<lt::torrent_checked_alert>(a)) {
    on_torrent_checked(*tc);
  } else if (auto* tf = lt::alert_cast<lt::torrent_finished_alert>(a)) {
    tf->handle.save_resume_data(lt::torrent_handle::only_if_modified);  // a completed release is saved at once
    ++resume_saves_pending_;  // only once asked: a removed release throws above and sends no alert
  } else if (auto* sr = lt::alert_cast<lt::save_resume_data_alert>(a)) {
    on_resume_data(*sr);
  } else if (lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
    --resume_saves_pending_;
  } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
    on_file_error(*fe);
  } else if (auto* hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
    spdlog::warn("release {}: piece {} from the swarm failed its hash check: discarded, fetching it again",
                 name_of(find(hf->handle)), static_cast<int>(hf->piece_index));
  } else if (auto* ban = lt::alert_cast<lt::peer_ban_alert>(a)) {
    spdlog::warn("release {}: banned peer {} for sending corrupt data", name_of(find(ban->handle)),
                 ban->endpoint.address().to_string());
  } else if (auto* te = lt::alert_cast<lt::tracker_error_alert>(a)) {
    spdlog::warn("release {}: tracker {}: {} {}", name_of(find(te->handle)), te->tracker_url(), te->error.message(),
                 te->failure_reason());
  } else {
    log_session_alert(a);
  }
}

void Engine::on_piece_finished(const lt::piece_finished_alert& alert) {
  auto release = find(alert.handle);
  if (!release) return;
  if (release->storage_trouble_.exchange(false))
    spdlog::info("release {}: the cache is writable again", release->version());
  bool urgent = false;
  int piece = static_cast<int>(alert.piece_index);
  // One line per piece: how a piece spreads across a fleet (scripts/bench/piece_spread.py).
  spdlog::debug("release {}: piece {} received and hash-checked", release->version(), piece);
  if (release->gate().mark_downloaded(piece, &urgent)) verifier_.enqueue(release, piece, urgent);
}

void Engine::on_torrent_checked(const lt::torrent_checked_alert& alert) {
  auto release = find(alert.handle);
  if (!release) return;
  auto status = alert.handle.status(lt::torrent_handle::query_pieces);
  // After a recheck every failed piece starts over: fetched again if the recheck dropped it,
  // verified again if the file holds it after all.
  for (auto p : status.pieces.range()) release->gate().mark_missing(static_cast<int>(p));
  mark_downloaded_pieces(release, status.pieces);
  spdlog::info("release {}: {} of {} pieces already in the cache", release->version(), status.num_pieces,
               release->info().num_pieces());
}

void Engine::on_resume_data(const lt::save_resume_data_alert& alert) {
  if (auto release = find(alert.handle)) {
    try {
      auto buf = lt::write_resume_data_buf(alert.params);
      write_file_atomically(cache_.resume_path(release->version()), {buf.data(), buf.size()}, 0600);
    } catch (const UserError& e) {
      if (release->storage_trouble_) spdlog::debug("release {}: cannot save resume data: {}", release->version(), e.what());
      else spdlog::warn("release {}: cannot save resume data: {}", release->version(), e.what());
    }
  }
  --resume_saves_pending_;
}

// Only a failed write marks the storage as in trouble (cleared when a piece is stored again): a
// lazily read release may store no piece for a long time. A failed read pauses the torrent with an
// error, which the tick clears (recover_from_storage_error) like any other.
void Engine::on_file_error(const lt::file_error_alert& alert) {
  auto release = find(alert.handle);
  if (!release) return;
  if (alert.op == lt::operation_t::file_read || alert.op == lt::operation_t::partfile_read) {
    spdlog::error("release {}: cannot read the cache ({}: {}): retrying; check the cache disk", release->version(),
                  alert.filename(), alert.error.message());
  } else if (!release->storage_trouble_.exchange(true)) {
    spdlog::error("release {}: cannot write the cache ({} {}: {}): reads of missing pieces fail with EIO "
                  "until it can; free space on the cache disk or check that it is writable",
                  release->version(), lt::operation_name(alert.op), alert.filename(), alert.error.message());
  }
  release->gate().cancel_all(EIO);
}

}  // namespace rookery::swarm
