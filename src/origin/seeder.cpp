#include "rookery/origin/seeder.hpp"

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_info.hpp>
#include <set>
#include <spdlog/spdlog.h>

#include "rookery/catalog/publisher.hpp"
#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/origin/unique_upload_plugin.hpp"
#include "rookery/swarm/manifest.hpp"
#include "rookery/swarm/settings.hpp"

namespace rookery::origin {
namespace {

// A host receiving a piece gets a block every fraction of a second; one silent this long has
// stalled, and the piece is offered to the others again.
constexpr auto kAssignmentTimeout = std::chrono::seconds(5);
// A steered host that has gained nothing for this long while refused is served plainly: a piece
// reaches a host from its peers within a second or two in a healthy swarm.
constexpr auto kStarveAfter = std::chrono::seconds(4);

void add_new_releases(lt::session& session, const SeederOptions& options, std::set<std::string>& seeding) {
  const auto& repo = options.repo;
  catalog::Index index;
  try {
    index = catalog::load_repository_index(repo);
  } catch (const UserError& e) {
    spdlog::warn("{} (keeping the releases already seeded)", e.what());
    return;
  }
  for (const auto& record : index.releases) {
    if (seeding.count(record.version)) continue;
    auto torrent = repo / "torrents" / (record.version + ".torrent");
    lt::error_code ec;
    auto info = std::make_shared<lt::torrent_info>(torrent.string(), ec);
    if (ec) {
      spdlog::error("release {}: cannot load {}: {}: not seeded; restore the file and restart rookery seed",
                    record.version, torrent.string(), ec.message());
      seeding.insert(record.version);  // do not retry a broken file every poll
      continue;
    }
    lt::add_torrent_params atp;
    atp.ti = info;
    atp.save_path = (repo / "data").string();
    atp.flags |= lt::torrent_flags::seed_mode;
    atp.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
    if (options.serve_unique) {
      auto hot = swarm::pieces_of(info->files(), swarm::hot_set_ranges(record.version, *info));
      atp.extensions.push_back(unique_upload_plugin(record.version, info->num_pieces(), info->piece_length(), info->total_size(),
                                                    kAssignmentTimeout, kStarveAfter, std::move(hot),
                                                    options.hot_set_window));
    }
    session.add_torrent(std::move(atp), ec);
    if (ec) {
      spdlog::error("release {}: cannot seed: {}", record.version, ec.message());
    } else {
      spdlog::info("seeding {} ({} bytes)", record.version, info->total_size());
    }
    seeding.insert(record.version);
  }
}

}  // namespace

void run_seeder(const SeederOptions& options, const std::atomic<bool>& stop) {
  // A new origin starts its seeder before the first publish (the packaged unit does): wait for it.
  if (!std::filesystem::is_directory(options.repo / "data")) {
    spdlog::warn("repository {} has no release yet (no data/ directory): each release is seeded as it is "
                 "published there; check --repo if some were expected",
                 options.repo.string());
  }
  auto settings = swarm::make_settings(options.swarm);
  lt::session session{lt::session_params(settings)};
  swarm::configure_session(session);
  std::set<std::string> seeding;
  auto next_poll = std::chrono::steady_clock::now();
  while (!stop) {
    if (std::chrono::steady_clock::now() >= next_poll) {
      add_new_releases(session, options, seeding);
      next_poll = std::chrono::steady_clock::now() + options.poll_interval;
    }
    session.wait_for_alert(std::chrono::milliseconds(200));
    std::vector<lt::alert*> alerts;
    session.pop_alerts(&alerts);
    for (lt::alert* a : alerts) swarm::log_session_alert(a);
  }
  spdlog::info("seeder stopping");
}

}  // namespace rookery::origin
