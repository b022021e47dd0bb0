#include "rookery/swarm/slot_refill.hpp"

#include <boost/asio/post.hpp>
#include <libtorrent/peer_connection.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <algorithm>
#include <list>

namespace rookery::swarm {
namespace {

// One torrent's connections. Everything runs on libtorrent's network thread.
struct Peers : std::enable_shared_from_this<Peers> {
  std::list<lt::peer_connection_handle> handles;
  bool refill_pending = false;

  // Every handle call dereferences the connection: never on one that is gone or going.
  static bool usable(const lt::peer_connection_handle& h) {
    return h.native_handle() && !h.is_disconnecting() && !h.is_connecting() && !h.in_handshake();
  }

  void refill() {
    std::vector<lt::peer_connection_handle*> waiting;
    for (auto& h : handles)
      if (usable(h) && h.is_choked() && h.is_peer_interested()) waiting.push_back(&h);
    std::sort(waiting.begin(), waiting.end(),
              [](auto* a, auto* b) { return a->time_of_last_unchoke() < b->time_of_last_unchoke(); });
    for (auto* h : waiting) {
      h->maybe_unchoke_this_peer();
      if (h->is_choked()) break;  // no slot left
    }
  }

  // A slot freed inside one of libtorrent's calls counts as free only once that call has
  // returned: refill from the network thread's queue, right after.
  void refill_soon(const lt::peer_connection_handle& from) {
    auto connection = from.native_handle();
    if (refill_pending || !connection) return;
    refill_pending = true;
    auto executor = boost::apply_visitor([](auto& socket) { return socket.get_executor(); }, connection->get_socket());
    boost::asio::post(executor, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->refill_pending = false;
        self->refill();
      }
    });
  }
};

class RefillPeer final : public lt::peer_plugin {
 public:
  RefillPeer(std::shared_ptr<Peers> peers, std::list<lt::peer_connection_handle>::iterator self)
      : peers_(std::move(peers)), self_(self) {}
  lt::string_view type() const override { return "rookery_slot_refill"; }
  void sent_choke() override { peers_->refill_soon(*self_); }
  void on_disconnect(lt::error_code const&) override {
    if (gone_) return;
    gone_ = true;
    if (!self_->is_choked()) peers_->refill_soon(*self_);
    peers_->handles.erase(self_);
  }

 private:
  std::shared_ptr<Peers> peers_;
  std::list<lt::peer_connection_handle>::iterator self_;
  bool gone_ = false;
};

class RefillTorrent final : public lt::torrent_plugin {
 public:
  std::shared_ptr<lt::peer_plugin> new_connection(lt::peer_connection_handle const& handle) override {
    peers_->handles.push_front(handle);
    return std::make_shared<RefillPeer>(peers_, peers_->handles.begin());
  }

 private:
  std::shared_ptr<Peers> peers_ = std::make_shared<Peers>();
};

class RefillPlugin final : public lt::plugin {
 public:
  std::shared_ptr<lt::torrent_plugin> new_torrent(lt::torrent_handle const&, lt::client_data_t) override {
    return std::make_shared<RefillTorrent>();
  }
};

}  // namespace

std::shared_ptr<lt::plugin> slot_refill_plugin() { return std::make_shared<RefillPlugin>(); }

}  // namespace rookery::swarm
