#include "rookery/swarm/fleet_plugin.hpp"

#include <algorithm>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/peer_connection.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_info.hpp>
#include <random>
#include <vector>

#include "rookery/swarm/wire.hpp"

namespace rookery::swarm {

namespace {

void set_no_delay(const lt::peer_connection_handle& handle) {
  if (auto connection = handle.native_handle()) {
    lt::error_code ignored;  // a socket not open yet fails here and is handled at the handshake
    connection->get_socket().set_option(lt::tcp::no_delay(true), ignored);
  }
}

// The torrent's connections to rookery origins (shared with its peer plugins, which may outlive it).
struct Origins {
  std::vector<lt::peer_connection_handle> peers;
  void remove(const lt::peer_connection_handle& h) { std::erase(peers, h); }
};

// Incoming connections reach a torrent only after their handshake (it names the torrent), with the
// socket open: TCP_NODELAY is set at once (FleetTorrent). Outgoing ones are announced before the
// socket is opened: it is set when the peer's handshake arrives.
class FleetPeer final : public lt::peer_plugin {
 public:
  FleetPeer(lt::peer_connection_handle handle, std::shared_ptr<Origins> origins)
      : handle_(std::move(handle)), origins_(std::move(origins)) {}
  bool on_handshake(lt::span<char const>) override {
    set_no_delay(handle_);
    return true;
  }
  bool on_extension_handshake(lt::bdecode_node const& h) override {
    if (h.dict_find_int_value(wire::kOriginHandshakeKey, 0) == 1) origins_->peers.push_back(handle_);
    return true;
  }
  void on_disconnect(lt::error_code const&) override { origins_->remove(handle_); }

 private:
  lt::peer_connection_handle handle_;
  std::shared_ptr<Origins> origins_;
};

class FleetTorrent final : public lt::torrent_plugin {
 public:
  std::shared_ptr<lt::peer_plugin> new_connection(lt::peer_connection_handle const& handle) override {
    set_no_delay(handle);
    return std::make_shared<FleetPeer>(handle, origins_);
  }
  // libtorrent sends its own HAVE to a peer it believes lacks the piece; this covers the others.
  void on_piece_pass(lt::piece_index_t piece) override {
    auto msg = wire::have(static_cast<int>(piece));
    for (auto& origin : origins_->peers) {
      if (!origin.native_handle() || origin.is_disconnecting() || !origin.has_piece(piece)) continue;
      origin.send_buffer(msg.data(), static_cast<int>(msg.size()));
    }
  }

 private:
  std::shared_ptr<Origins> origins_ = std::make_shared<Origins>();
};

class FleetPlugin final : public lt::plugin {
 public:
  feature_flags_t implemented_features() override { return optimistic_unchoke_feature; }
  std::shared_ptr<lt::torrent_plugin> new_torrent(lt::torrent_handle const&, lt::client_data_t) override {
    return std::make_shared<FleetTorrent>();
  }
  std::uint64_t get_unchoke_priority(lt::peer_connection_handle const& peer) override {
    lt::peer_info info;
    peer.get_peer_info(info);
    return optimistic_unchoke_rank(info.pieces.count(), info.pieces.size(), random_());
  }

 private:
  std::minstd_rand random_{std::random_device{}()};
};

}  // namespace

std::uint64_t optimistic_unchoke_rank(int pieces_held, int pieces_total, std::uint32_t random) {
  auto jitter = random % static_cast<std::uint32_t>(std::max(pieces_total, 1));  // eighths: up to F/8
  return static_cast<std::uint64_t>(std::max(pieces_held, 0)) * 8 + jitter;
}

std::shared_ptr<lt::plugin> make_fleet_plugin() { return std::make_shared<FleetPlugin>(); }

}  // namespace rookery::swarm
