#include "rookery/swarm/relay_choker_plugin.hpp"

#include <boost/asio/post.hpp>
#include <libtorrent/peer_connection.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <map>

#include "rookery/swarm/relay_choker.hpp"

namespace rookery::swarm {
namespace {

using PeerId = RelayChoker::PeerId;

// Shared by the torrent plugin and its peer plugins (a peer plugin may outlive the torrent's).
struct Swarm : std::enable_shared_from_this<Swarm> {
  Swarm(int slots, int num_pieces, const std::vector<bool>& have) : slots(slots), policy(num_pieces, have) {}
  int slots;
  RelayChoker policy;
  std::map<PeerId, lt::peer_connection_handle> peers;
  PeerId next_id = 0;
  bool fill_pending = false;

  // Every handle call dereferences the connection: never on one that is gone or going.
  lt::peer_connection_handle* live(PeerId id) {
    auto it = peers.find(id);
    if (it == peers.end() || !it->second.native_handle() || it->second.is_disconnecting()) return nullptr;
    return &it->second;
  }

  void rebalance(bool rotate) {
    std::vector<RelayChoker::Interested> interested;
    int unchoked = 0;
    for (auto& [id, handle] : peers) {
      if (!live(id) || handle.is_connecting() || handle.in_handshake()) continue;
      bool holder = !handle.is_choked();
      unchoked += holder;
      if (handle.is_peer_interested()) interested.push_back({id, holder});
    }
    auto moves = policy.choose(interested, unchoked, slots, rotate);
    for (auto id : moves.choke)
      if (auto* handle = live(id)) handle->choke_this_peer();
    for (auto id : moves.unchoke)
      if (auto* handle = live(id)) handle->maybe_unchoke_this_peer();
  }

  // A slot freed inside one of libtorrent's calls (a choke, a disconnect) is counted free only
  // once that call has returned: fill it from the network thread's queue, right after.
  void fill_soon(const lt::peer_connection_handle& from) {
    auto connection = from.native_handle();
    if (fill_pending || !connection) return;
    fill_pending = true;
    auto executor = boost::apply_visitor([](auto& socket) { return socket.get_executor(); }, connection->get_socket());
    boost::asio::post(executor, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->fill_pending = false;
        self->rebalance(false);
      }
    });
  }
};

class RelayPeer final : public lt::peer_plugin {
 public:
  RelayPeer(std::shared_ptr<Swarm> swarm, PeerId id, lt::peer_connection_handle handle)
      : swarm_(std::move(swarm)), id_(id), handle_(std::move(handle)) {}

  lt::string_view type() const override { return "rookery_relay_choker"; }

  bool on_have(lt::piece_index_t piece) override {
    swarm_->policy.peer_has(id_, static_cast<int>(piece));
    return false;
  }
  bool on_dont_have(lt::piece_index_t piece) override {
    swarm_->policy.peer_lost(id_, static_cast<int>(piece));
    return false;
  }
  bool on_have_all() override {
    swarm_->policy.peer_has_all(id_);
    return false;
  }
  bool on_bitfield(lt::bitfield const& bits) override {
    for (int p = 0; p < bits.size(); ++p)
      if (bits.get_bit(p)) swarm_->policy.peer_has(id_, p);
    return false;
  }
  void sent_choke() override { swarm_->fill_soon(handle_); }
  void on_disconnect(lt::error_code const&) override {
    swarm_->fill_soon(handle_);
    swarm_->policy.remove_peer(id_);
    swarm_->peers.erase(id_);
  }

 private:
  std::shared_ptr<Swarm> swarm_;
  PeerId id_;
  lt::peer_connection_handle handle_;
};

class RelayTorrent final : public lt::torrent_plugin {
 public:
  explicit RelayTorrent(std::shared_ptr<Swarm> swarm) : swarm_(std::move(swarm)) {}

  std::shared_ptr<lt::peer_plugin> new_connection(lt::peer_connection_handle const& handle) override {
    auto id = swarm_->next_id++;
    swarm_->peers.emplace(id, handle);
    swarm_->policy.add_peer(id);
    return std::make_shared<RelayPeer>(swarm_, id, handle);
  }
  void on_piece_pass(lt::piece_index_t piece) override { swarm_->policy.have(static_cast<int>(piece)); }
  void tick() override { swarm_->rebalance(true); }

 private:
  std::shared_ptr<Swarm> swarm_;
};

}  // namespace

TorrentPluginFactory relay_choker_plugin(int slots, int num_pieces, std::vector<bool> have) {
  return [=](const lt::torrent_handle&, lt::client_data_t) {
    return std::make_shared<RelayTorrent>(std::make_shared<Swarm>(slots, num_pieces, have));
  };
}

}  // namespace rookery::swarm
