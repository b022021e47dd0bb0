// The swarm's options as the command line sets them, free of libtorrent types so that the CLI and
// the daemon's configuration need none of its headers. settings.hpp turns them into a settings pack.
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace rookery::swarm {

struct SwarmOptions {
  // Where peers connect to us. A fleet host listens on all interfaces; tests and the demo pass
  // 127.0.0.1:<port> so that nothing leaves loopback.
  std::string listen = "0.0.0.0:6881";
  int max_upload_rate = 0;    // bytes/s, 0 = unlimited; applies to LAN peers too
  int max_download_rate = 0;  // bytes/s, 0 = unlimited
  // Peers uploaded to at once (0 = every interested peer), re-chosen every second. A link split n
  // ways completes each piece n times later, and a piece can be relayed only once complete.
  int upload_slots = 0;
  // Offer each interested peer BEP 6 "allowed fast" pieces (libtorrent's 5), which libtorrent then
  // serves while the peer is choked, past `upload_slots`. Hosts keep them (a next-release deploy
  // of a few new pieces spreads without waiting for a choke round); the origin does not (below).
  bool allowed_fast = true;
  // How often the optimistic unchoke slot (one of `upload_slots`) moves on, to the neediest
  // interested peer that has waited longest (fleet_plugin.hpp). Hosts rotate every 2 s, so within
  // a deploy of seconds a host no peer unchokes by tit-for-tat still gets turns; the origin keeps
  // libtorrent's 30 s (seeder.hpp). Used only with bounded `upload_slots`.
  std::chrono::seconds optimistic_unchoke_interval{2};
  // "name=value" libtorrent settings (settings_pack names) applied last, for experiments and for
  // working around a problem in the field without a new build. Checked at start.
  std::vector<std::string> session_settings;
};

enum class FetchMode { background, lazy };

struct EngineOptions {
  SwarmOptions swarm;
  FetchMode fetch = FetchMode::background;
  std::chrono::seconds read_timeout{0};  // 0: reads wait as long as it takes (like an NFS hard mount)
  // How long a downloaded piece may keep failing our re-hash before reads of it fail with EIO. The
  // measured write-behind window is a few milliseconds; 10 s covers a loaded disk with margin.
  std::chrono::seconds verify_give_up{10};
  // Peers a release fetched whole keeps (0 = libtorrent's bounds only); see demand.hpp.
  int whole_fetch_peers = 0;
};

}  // namespace rookery::swarm
