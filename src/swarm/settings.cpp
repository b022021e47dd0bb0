#include "rookery/swarm/settings.hpp"

#include <libtorrent/alert_types.hpp>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/swarm/fleet_plugin.hpp"
#include <libtorrent/ip_filter.hpp>

namespace rookery::swarm {

namespace {

void apply_override(lt::settings_pack& s, const std::string& setting) {
  auto eq = setting.find('=');
  std::string name = setting.substr(0, eq), value = eq == std::string::npos ? "" : setting.substr(eq + 1);
  int id = lt::setting_by_name(name);
  if (eq == std::string::npos || id < 0) {
    throw UserError("--session-setting '" + setting + "': expected NAME=VALUE with a libtorrent settings_pack name");
  }
  // With no disk thread libtorrent 2.0.8 runs disk jobs on its network thread, and in the lab 1 and
  // 19 of 64 hosts then stopped gaining pieces for good (cause not investigated).
  if (id == lt::settings_pack::aio_threads && value == "0") {
    throw UserError("--session-setting aio_threads=0: without a disk thread hosts stall for good; use 1 or more");
  }
  // A fleet's peers come from its tracker only: these would reach outside the fleet.
  for (int outside : {int(lt::settings_pack::enable_dht), int(lt::settings_pack::enable_lsd),
                      int(lt::settings_pack::enable_upnp), int(lt::settings_pack::enable_natpmp)}) {
    if (id == outside && value != "false")
      throw UserError("--session-setting " + setting + ": rookery keeps DHT, local discovery, UPnP and NAT-PMP off "
                      "(peers come from the fleet's tracker); remove the setting");
  }
  try {
    switch (id & lt::settings_pack::type_mask) {
      case lt::settings_pack::string_type_base: s.set_str(id, value); break;
      case lt::settings_pack::int_type_base: s.set_int(id, std::stoi(value)); break;
      case lt::settings_pack::bool_type_base:
        if (value != "true" && value != "false") throw std::invalid_argument(value);
        s.set_bool(id, value == "true");
        break;
    }
  } catch (const std::logic_error&) {
    throw UserError("--session-setting '" + setting + "': bad value for " + name);
  }
  spdlog::info("libtorrent setting {} = {}", name, value);
}

}  // namespace

lt::settings_pack make_settings(const SwarmOptions& o) {
  lt::settings_pack s;
  s.set_str(lt::settings_pack::listen_interfaces, o.listen);
  // A private fleet swarm: peers come from the tracker only. DHT, local discovery and port mapping
  // would reach outside the fleet (and are pointless inside it).
  s.set_bool(lt::settings_pack::enable_dht, false);
  s.set_bool(lt::settings_pack::enable_lsd, false);
  s.set_bool(lt::settings_pack::enable_upnp, false);
  s.set_bool(lt::settings_pack::enable_natpmp, false);
  // TCP only: uTP costs about twice the CPU per byte on these hosts (a syscall per ~1400-byte
  // packet) and its congestion control buys nothing inside a data centre.
  s.set_bool(lt::settings_pack::enable_outgoing_utp, false);
  s.set_bool(lt::settings_pack::enable_incoming_utp, false);
  // Outgoing connections skip BitTorrent's obfuscation handshake (MSE): it hides traffic from
  // ISPs, which a fleet does not have, and costs a 768-bit Diffie-Hellman exchange per connection
  // (two modular exponentiations on each side, 0.38 ms each here), 7.6% of the lab's CPU while 64
  // hosts joined at once. Fan-out to 64 hosts without it: 32.8 s against 36.2 s and 51 against 58
  // CPU-s per GiB (four alternating pairs). Incoming obfuscated connections (other clients) are
  // still accepted.
  s.set_int(lt::settings_pack::out_enc_policy, lt::settings_pack::pe_disabled);
  // Lazy torrents have every piece at priority 0 and count as "finished"; by default libtorrent
  // then drops its connections to seeds, and the next on-demand read finds no peer to ask.
  s.set_bool(lt::settings_pack::close_redundant_connections, false);
  // Several hosts share one address in loopback tests and behind NAT in some fleets.
  s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
  // A fixed number of upload slots (SwarmOptions::upload_slots), ranked by libtorrent's tit-for-tat
  // (the bytes each peer sent us last round). Without that ranking (a patched libtorrent) the first
  // hosts of a 64-host fan-out finished no sooner and the last 1-2 s later: a host that keeps
  // serving the peers feeding it keeps pieces flowing along the same pairs (BENCHMARKS.md,
  // twenty-fifth session).
  s.set_int(lt::settings_pack::choking_algorithm, lt::settings_pack::fixed_slots_choker);
  s.set_int(lt::settings_pack::unchoke_slots_limit, o.upload_slots > 0 ? o.upload_slots : -1);
  // Choking is re-decided every second, libtorrent's shortest round (default 15 s: a fleet's
  // transfer is over by then). A peer that asked while every slot was taken waits for the round:
  // the next-release deploy (a few MiB new) took 2.05 s with 2 s rounds, 1.59 s with 1 s.
  s.set_int(lt::settings_pack::unchoke_interval, 1);
  s.set_int(lt::settings_pack::seed_choking_algorithm, lt::settings_pack::round_robin);
  // libtorrent's choker keeps slots for the peers that send us most (tit-for-tat), so a host with
  // little to give can go unchoked by all its peers for seconds and finish last. A slot that moves
  // every 2 s to the neediest waiting peer (fleet_plugin.hpp) took the stragglers out: fan-out to
  // 64 hosts, alternating, last host 21.0-22.2 s in 7 runs against 21.0-31.7 s (two above 31 s),
  // with the next-release deploy no slower (BENCHMARKS.md, twenty-second session). Rotation alone,
  // without the needy order, made that deploy slower (eighth session).
  s.set_int(lt::settings_pack::optimistic_unchoke_interval, static_cast<int>(o.optimistic_unchoke_interval.count()));
  if (!o.allowed_fast) s.set_int(lt::settings_pack::allowed_fast_set_size, 0);
  // Requests kept outstanding per serving peer: request_queue_time seconds of its rate (whole
  // seconds, at least 2 requests), at most 64 (1 MiB). 1 s is the shortest that caps no link: 0
  // leaves 2 requests, 32 KiB per round trip (256 Mbit/s at 1 ms). Shallower queues book fewer
  // blocks on one peer that another could send: in the lab 0 brought the median host of a 64-host
  // fan-out 3% earlier but not the last (BENCHMARKS.md, twenty-fifth session); deeper (3, 6 s) was
  // worse.
  s.set_int(lt::settings_pack::max_out_request_queue, 64);
  s.set_int(lt::settings_pack::request_queue_time, 1);
  s.set_int(lt::settings_pack::max_allowed_in_request_queue, 2000);
  s.set_int(lt::settings_pack::request_timeout, 10);
  // Blocks of pieces already under way are asked for before a new piece is begun, so a host holds
  // fewer half-received pieces, and each completes (and can be relayed) sooner. Measured at 64
  // hosts, alternating: herd with a hot set, last host 4.9 s in the median of seven rounds against
  // 5.1 s; 32-host fan-out, last host earlier in 7 of 10 rounds (BENCHMARKS.md, twentieth session).
  s.set_bool(lt::settings_pack::prioritize_partial_pieces, true);
  // No HAVE to a peer that already holds the piece (libtorrent sends one by default). In a fan-out
  // every host tells each of its N peers about each piece it gains, and one HAVE is a frame and its
  // acknowledgement through every link on the way: at 64 hosts, a quarter of all frames. Measured
  // there: 870k frames against 643k, 41.9 against 38.0 CPU-s per GiB. A rookery origin still hears
  // of every piece (fleet_plugin.hpp).
  s.set_bool(lt::settings_pack::send_redundant_have, false);
  s.set_int(lt::settings_pack::peer_connect_timeout, 5);
  // When a release is joined fleet-wide, every host connects to every other at once. libtorrent's
  // listen backlog of 5 then drops most SYNs, and after max_failcount (3) failed attempts a peer
  // is never tried again: measured at 64 hosts, a quarter of them ended connected to the origin
  // only. A deep backlog (the kernel caps it at net.core.somaxconn) and more attempts.
  s.set_int(lt::settings_pack::listen_queue_size, 1024);
  s.set_int(lt::settings_pack::max_failcount, 10);
  s.set_int(lt::settings_pack::min_reconnect_time, 1);
  // Two disk threads instead of libtorrent's 10: every queued disk job wakes all idle threads
  // (`notify_all` in mmap_disk_io::submit_jobs), and one block written is one job, so nine of ten
  // wake-ups found nothing to do; the disk threads took 24% of the daemons' CPU at 64 hosts. Two
  // write and read the page cache faster than a 10 Gbit/s link fills it (hashing has its own
  // thread). Fan-out to 64 hosts, eight alternating pairs: 29.1 s against 30.5 s on average, 6% less
  // CPU per GiB; one host unthrottled on loopback, 1 GiB: 6.7 s against 6.5 s (noise).
  s.set_int(lt::settings_pack::aio_threads, 2);
  // Torrents are managed by rookery, not by libtorrent's queue: none is ever paused for a quota.
  s.set_int(lt::settings_pack::active_downloads, -1);
  s.set_int(lt::settings_pack::active_seeds, -1);
  s.set_int(lt::settings_pack::active_limit, -1);
  // Bandwidth quota is handed out every tick: at the default 500 ms, a rate-limited peer answers
  // a deadline request in bursts up to half a second apart.
  s.set_int(lt::settings_pack::tick_interval, 100);
  s.set_int(lt::settings_pack::upload_rate_limit, o.max_upload_rate);
  s.set_int(lt::settings_pack::download_rate_limit, o.max_download_rate);
  // Readers wait on piece_finished alerts: the queue must never drop one (a periodic reconcile
  // catches any that are lost anyway).
  s.set_int(lt::settings_pack::alert_queue_size, 100000);
  s.set_int(lt::settings_pack::alert_mask, lt::alert_category::status | lt::alert_category::error |
                                               lt::alert_category::storage | lt::alert_category::piece_progress |
                                               lt::alert_category::tracker | lt::alert_category::peer);
  // Shutdown waits for "stopped" announces at most this long.
  s.set_int(lt::settings_pack::stop_tracker_timeout, 1);
  s.set_str(lt::settings_pack::user_agent, "rookery/0.1");
  s.set_str(lt::settings_pack::peer_fingerprint, "-RK0100-");
  for (const auto& setting : o.session_settings) apply_override(s, setting);
  return s;
}

void configure_session(lt::session& session) {
  session.add_extension(make_fleet_plugin());
  lt::ip_filter classes;
  auto global = std::uint32_t{1} << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
  classes.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
  classes.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
  session.set_peer_class_filter(classes);
}

void log_session_alert(const lt::alert* a) {
  if (auto* lf = lt::alert_cast<lt::listen_failed_alert>(a)) {
    spdlog::error("cannot listen for peers on {}:{}: {}: choose another --listen", lf->address.to_string(),
                  lf->port, lf->error.message());
  } else if (auto* ls = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
    // libtorrent opens a UDP socket on the same port too (uTP, which rookery does not use): say
    // "listening" once, for the TCP socket peers connect to.
    if (ls->socket_type == lt::socket_type_t::tcp)
      spdlog::info("listening for peers on {}:{}", ls->address.to_string(), ls->port);
    else
      spdlog::debug("{}", ls->message());
  } else if (a->category() & lt::alert_category::error) {
    spdlog::warn("{}", a->message());
  } else if (spdlog::should_log(spdlog::level::trace)) {
    spdlog::trace("{}", a->message());  // formatting every alert costs CPU: only when asked for
  }
}

}  // namespace rookery::swarm
