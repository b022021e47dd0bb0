#include "rookery/origin/unique_upload_plugin.hpp"

#include <algorithm>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>
#include <map>
#include <spdlog/spdlog.h>

#include "rookery/origin/unique_upload.hpp"
#include "rookery/swarm/wire.hpp"

namespace rookery::origin {
namespace {

using Policy = UniqueUploadPolicy;
using swarm::wire::put32;

// One host connection as the torrent plugin knows it.
struct Connection {
  lt::peer_connection_handle handle;
  int donthave_id = 0;  // the host's extended-message id for lt_donthave; 0: unsupported

  // send_buffer dereferences the connection: never on one that is gone or going.
  void send(const char* msg, int size) {
    if (handle.native_handle() && !handle.is_disconnecting()) handle.send_buffer(msg, size);
  }
};

// Shared by the torrent plugin and its peer plugins (a peer plugin may outlive the torrent's).
struct Swarm {
  Swarm(std::string version, int pieces, int piece_length, std::int64_t total_size, std::chrono::milliseconds timeout,
        std::chrono::milliseconds starve_after, std::vector<bool> hot, int hot_window)
      : version(std::move(version)),
        piece_length(piece_length),
        total_size(total_size),
        policy(pieces, timeout, starve_after, std::move(hot), hot_window) {}
  int piece_bytes(int piece) const {
    return static_cast<int>(std::min<std::int64_t>(piece_length, total_size - std::int64_t{piece} * piece_length));
  }
  std::string version;
  int piece_length;
  std::int64_t total_size;
  std::int64_t sent_payload = 0;
  bool announced_held = false;
  Policy policy;
  std::map<Policy::PeerId, Connection> connections;
  Policy::PeerId next_id = 0;

  void send(const Policy::Messages& m) {
    if (!announced_held && policy.every_piece_held()) {
      announced_held = true;
      spdlog::info("release {}: every piece is held by a host after the origin sent {:.2f}x the release ({} pieces "
                   "to more than one host); hosts relay the rest",
                   version, static_cast<double>(sent_payload) / static_cast<double>(total_size),
                   policy.pieces_sent_twice());
    }
    for (auto [peer, piece] : m.dont_have) {
      auto it = connections.find(peer);
      if (it == connections.end() || it->second.donthave_id == 0) continue;
      // <len=6><20: extended><ext id><piece>
      char msg[10];
      put32(msg, 6);
      msg[4] = 20;
      msg[5] = static_cast<char>(it->second.donthave_id);
      put32(msg + 6, static_cast<std::uint32_t>(piece));
      it->second.send(msg, sizeof msg);
    }
    for (auto peer : m.have_none) {
      auto it = connections.find(peer);
      if (it == connections.end()) continue;
      char msg[5];  // <len=1><15: have none>
      put32(msg, 1);
      msg[4] = 15;
      it->second.send(msg, sizeof msg);
    }
    for (auto [peer, piece] : m.have) {
      auto it = connections.find(peer);
      if (it == connections.end()) continue;
      auto msg = swarm::wire::have(piece);
      it->second.send(msg.data(), static_cast<int>(msg.size()));
    }
  }
};

class UniqueUploadPeer final : public lt::peer_plugin {
 public:
  UniqueUploadPeer(std::shared_ptr<Swarm> swarm, Policy::PeerId id) : swarm_(std::move(swarm)), id_(id) {}

  lt::string_view type() const override { return "rookery_unique_upload"; }

  // Hosts send no HAVE to a peer that holds the piece (swarm/settings.cpp), and to a host this
  // origin looks like one for every piece it still offers; this key makes hosts tell it anyway.
  void add_handshake(lt::entry& h) override { h[swarm::wire::kOriginHandshakeKey] = 1; }

  bool on_handshake(lt::span<char const> reserved) override {
    fast_ = reserved.size() >= 8 && (reserved[7] & 0x04);
    return true;
  }
  bool on_extension_handshake(lt::bdecode_node const& h) override {
    if (auto m = h.dict_find_dict("m")) {
      auto id = m.dict_find_int_value("lt_donthave", 0);
      if (auto* c = connection(); c && id > 0 && id < 256) c->donthave_id = static_cast<int>(id);
    }
    handshake_seen_ = true;
    maybe_ready();
    return true;
  }
  void sent_have_all() override {
    have_all_sent_ = true;
    maybe_ready();
  }
  bool on_have(lt::piece_index_t piece) override { return event([&](auto& m) { swarm_->policy.peer_has(id_, static_cast<int>(piece), Policy::Clock::now(), m); }); }
  bool on_have_all() override { return event([&](auto& m) { swarm_->policy.peer_has_all(id_, Policy::Clock::now(), m); }); }
  bool on_bitfield(lt::bitfield const& bits) override {
    return event([&](auto& m) {
      auto now = Policy::Clock::now();
      for (int p = 0; p < bits.size(); ++p)
        if (bits.get_bit(p)) swarm_->policy.peer_has(id_, p, now, m);
    });
  }
  bool on_request(lt::peer_request const& r) override {
    // Plugins see a request before libtorrent's own choke check: requests a host sent before it
    // was choked arrive after, and must not hand it the pieces choked() has just freed (libtorrent
    // rejects them; the origin serves no allowed-fast set).
    auto* c = connection();
    if (!c || c->handle.is_choked()) return false;
    Policy::Messages m;
    bool allowed = swarm_->policy.allow_request(id_, static_cast<int>(r.piece), Policy::Clock::now(), m);
    swarm_->send(m);
    if (allowed) return false;
    char msg[17];  // <len=13><16: reject request><piece><start><length>
    put32(msg, 13);
    msg[4] = 16;
    put32(msg + 5, static_cast<std::uint32_t>(static_cast<int>(r.piece)));
    put32(msg + 9, static_cast<std::uint32_t>(r.start));
    put32(msg + 13, static_cast<std::uint32_t>(r.length));
    if (auto* still = connection()) still->send(msg, sizeof msg);  // sending the messages above may drop it
    trace("refused piece " + std::to_string(static_cast<int>(r.piece)) + " (a host has it or is receiving it, or it waits for the hot set's window)");
    return true;  // handled: libtorrent does not queue it
  }
  void sent_payload(int bytes) override { swarm_->sent_payload += bytes; }
  void sent_piece(lt::peer_request const& r) override {
    auto piece = static_cast<int>(r.piece);
    Policy::Messages m;
    bool first = swarm_->policy.sent(id_, piece, r.length, swarm_->piece_bytes(piece), Policy::Clock::now(), m);
    swarm_->send(m);
    if (!first) return;
    trace("is sent the first block of piece " + std::to_string(piece) + " (hot pieces under way: " +
          std::to_string(swarm_->policy.hot_in_flight()) + ")");
    if (int copies = swarm_->policy.copies_sent(piece); copies > 1)
      trace("is sent piece " + std::to_string(piece) + ", which " + std::to_string(copies - 1) +
            " other host(s) received from the origin before" +
            (swarm_->policy.starved(id_) ? " (served plainly: it starved)" : ""));
  }
  void sent_choke() override {
    trace("choked");
    event([&](auto& m) { swarm_->policy.choked(id_, m); });
  }
  void sent_unchoke() override { trace("unchoked"); }
  bool on_interested() override { return trace("is interested"); }
  bool on_not_interested() override { return trace("is not interested"); }
  void sent_reject_request(lt::peer_request const& r) override {
    trace("libtorrent rejected a request of piece " + std::to_string(static_cast<int>(r.piece)) + " from it");
  }
  void on_disconnect(lt::error_code const&) override {
    event([&](auto& m) { swarm_->policy.remove_peer(id_, m); });
    swarm_->connections.erase(id_);
  }

 private:
  // Null once the host has disconnected (a callback may still come then): nothing may throw on
  // libtorrent's network thread.
  Connection* connection() {
    auto it = swarm_->connections.find(id_);
    return it == swarm_->connections.end() ? nullptr : &it->second;
  }
  // The origin's choking and refusals, one debug line each: what explains a host that waits.
  bool trace(const std::string& what) {
    if (!spdlog::should_log(spdlog::level::debug)) return false;
    auto* c = connection();
    if (!c || !c->handle.native_handle()) return false;
    auto remote = c->handle.remote();
    spdlog::debug("release {}: host {}:{} (connection {}) {}", swarm_->version, remote.address().to_string(),
                  remote.port(), id_, what);
    return false;
  }
  // An event after the disconnect would bring the host back into the policy as a ghost holder.
  template <class F>
  bool event(F&& apply) {
    if (!connection()) return false;
    Policy::Messages m;
    apply(m);
    swarm_->send(m);
    return false;  // libtorrent handles the message as usual too
  }
  // Steered only when the host can be told (lt_donthave) and refused (fast extension).
  void maybe_ready() {
    if (ready_ || !handshake_seen_ || !have_all_sent_) return;
    ready_ = true;
    auto* c = connection();
    bool steerable = fast_ && c && c->donthave_id != 0;
    event([&](auto& m) { swarm_->policy.peer_ready(id_, steerable, Policy::Clock::now(), m); });
  }

  std::shared_ptr<Swarm> swarm_;
  Policy::PeerId id_;
  bool fast_ = false, handshake_seen_ = false, have_all_sent_ = false, ready_ = false;
};

class UniqueUploadTorrent final : public lt::torrent_plugin {
 public:
  explicit UniqueUploadTorrent(std::shared_ptr<Swarm> swarm) : swarm_(std::move(swarm)) {}

  std::shared_ptr<lt::peer_plugin> new_connection(lt::peer_connection_handle const& handle) override {
    auto id = swarm_->next_id++;
    swarm_->connections.emplace(id, Connection{handle, 0});
    return std::make_shared<UniqueUploadPeer>(swarm_, id);
  }
  void tick() override {
    Policy::Messages m;
    swarm_->policy.tick(Policy::Clock::now(), m);
    swarm_->send(m);
  }

 private:
  std::shared_ptr<Swarm> swarm_;
};

}  // namespace

TorrentPluginFactory unique_upload_plugin(std::string version, int num_pieces, int piece_length, std::int64_t total_size,
                                          std::chrono::milliseconds assignment_timeout,
                                          std::chrono::milliseconds starve_after, std::vector<bool> hot,
                                          int hot_window) {
  return [=](const lt::torrent_handle&, lt::client_data_t) {
    return std::make_shared<UniqueUploadTorrent>(std::make_shared<Swarm>(
        version, num_pieces, piece_length, total_size, assignment_timeout, starve_after, hot, hot_window));
  };
}

}  // namespace rookery::origin
