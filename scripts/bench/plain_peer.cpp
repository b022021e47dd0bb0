// BitTorrent as it is: one plain libtorrent peer with libtorrent's DEFAULT settings, the baseline
// of the fan-out benchmark. The only settings touched are the ones that keep it inside the lab:
// listen_interfaces (the host's lab address) and DHT, LSD, UPnP and NAT-PMP off. Everything else
// (uTP on, unchoke slots, request queues, piece picker, choker) is what a user of libtorrent 2.0.8
// gets without tuning. The torrent is private and names the tracker, so peers are found only there.
//
//   plain_peer TORRENT SAVE_DIR LISTEN_IP:PORT DONE_FILE LIMIT_S [START_FILE]
//
// The session starts (and listens) at once; with START_FILE the torrent is added only once that
// file exists, so that many peers can start their download at the same moment. When the torrent
// has every piece the time is written to DONE_FILE (seconds since the epoch, like `date +%s.%N`),
// and the peer keeps seeding until SIGTERM/SIGINT or until LIMIT_S seconds after its start. On
// exit it prints its progress and payload counters to stdout.
//
// Completion is noticed by polling the torrent's status every 20 ms, not by torrent_finished_alert:
// that alert's category (status) is off in the default alert mask, and the mask stays default.
#include <libtorrent/load_torrent.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_status.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace lt = libtorrent;
using namespace std::chrono_literals;

namespace {
volatile std::sig_atomic_t stop = 0;

double epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void write_done(std::string const& path, double t) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return std::perror(tmp.c_str());
  std::fprintf(f, "%.9f\n", t);
  std::fclose(f);
  std::filesystem::rename(tmp, path);
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: plain_peer TORRENT SAVE_DIR LISTEN_IP:PORT DONE_FILE LIMIT_S [START_FILE]\n");
    return 2;
  }
  std::string const torrent = argv[1], save = argv[2], listen = argv[3], done_file = argv[4];
  auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::stol(argv[5]));
  std::signal(SIGTERM, [](int) { stop = 1; });
  std::signal(SIGINT, [](int) { stop = 1; });
  auto running = [&] { return !stop && std::chrono::steady_clock::now() < deadline; };

  lt::settings_pack pack;  // libtorrent's defaults, but for the lab's confinement:
  pack.set_str(lt::settings_pack::listen_interfaces, listen);
  pack.set_bool(lt::settings_pack::enable_dht, false);
  pack.set_bool(lt::settings_pack::enable_lsd, false);
  pack.set_bool(lt::settings_pack::enable_upnp, false);
  pack.set_bool(lt::settings_pack::enable_natpmp, false);
  lt::session ses(lt::session_params(std::move(pack)));

  if (argc == 7)
    while (running() && !std::filesystem::exists(argv[6])) std::this_thread::sleep_for(5ms);
  lt::add_torrent_params atp = lt::load_torrent_file(torrent);
  atp.save_path = save;
  lt::torrent_handle h = ses.add_torrent(std::move(atp));
  double const start = epoch_seconds();

  bool done = false;
  std::vector<lt::alert*> alerts;
  while (running()) {
    if (!done && h.status().is_seeding) {
      double t = epoch_seconds();
      write_done(done_file, t);
      std::printf("complete after %.3f s\n", t - start);
      std::fflush(stdout);
      done = true;
    }
    ses.wait_for_alert(20ms);
    ses.pop_alerts(&alerts);  // the default mask posts errors only: show them
    for (lt::alert* a : alerts) std::printf("alert: %s\n", a->message().c_str());
  }
  lt::torrent_status st = h.status();
  std::printf("progress %.4f downloaded %lld uploaded %lld peers %d seeds %d\n", st.progress,
              static_cast<long long>(st.total_payload_download),
              static_cast<long long>(st.total_payload_upload), st.num_peers, st.num_seeds);
  return 0;
} catch (std::exception const& e) {
  std::fprintf(stderr, "plain_peer: %s\n", e.what());
  return 1;
}
