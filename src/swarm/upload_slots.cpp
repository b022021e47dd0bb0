#include "rookery/swarm/upload_slots.hpp"

#include <boost/asio/post.hpp>
#include <libtorrent/peer_connection.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <algorithm>
#include <list>
#include <vector>

namespace rookery::swarm {
namespace {

using Clock = std::chrono::steady_clock;

struct Peer {
  lt::peer_connection_handle handle;
  Clock::time_point active{};  // unchoked, asked for a block or was sent one
};

// One torrent's connections. Everything runs on libtorrent's network thread.
struct Torrent : std::enable_shared_from_this<Torrent> {
  std::list<Peer> peers;
  bool refill_pending = false;

  // Every handle call dereferences the connection: never on one that is gone or going.
  static bool usable(const lt::peer_connection_handle& h) {
    return h.native_handle() && !h.is_disconnecting() && !h.is_connecting() && !h.in_handshake();
  }

  void refill() {
    std::vector<lt::peer_connection_handle*> waiting;
    for (auto& p : peers)
      if (usable(p.handle) && p.handle.is_choked() && p.handle.is_peer_interested()) waiting.push_back(&p.handle);
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

  void reclaim_idle(Clock::time_point now) {
    for (auto& p : peers) {
      if (!usable(p.handle) || p.handle.is_choked() || now - p.active < kIdleSlot) continue;
      // Not interested any more: libtorrent chokes it itself at that message.
      if (p.handle.is_peer_interested()) p.handle.choke_this_peer();
    }
  }
};

class SlotPeer final : public lt::peer_plugin {
 public:
  SlotPeer(std::shared_ptr<Torrent> torrent, std::list<Peer>::iterator self)
      : torrent_(std::move(torrent)), self_(self) {}
  lt::string_view type() const override { return "rookery_upload_slots"; }
  void sent_unchoke() override { self_->active = Clock::now(); }
  bool on_request(lt::peer_request const&) override {
    self_->active = Clock::now();
    return false;
  }
  void sent_payload(int) override { self_->active = Clock::now(); }
  void sent_choke() override { torrent_->refill_soon(self_->handle); }
  void on_disconnect(lt::error_code const&) override {
    if (gone_) return;
    gone_ = true;
    if (!self_->handle.is_choked()) torrent_->refill_soon(self_->handle);
    torrent_->peers.erase(self_);
  }

 private:
  std::shared_ptr<Torrent> torrent_;
  std::list<Peer>::iterator self_;
  bool gone_ = false;
};

class SlotTorrent final : public lt::torrent_plugin {
 public:
  explicit SlotTorrent(std::shared_ptr<Torrent> torrent) : torrent_(std::move(torrent)) {}
  std::shared_ptr<lt::peer_plugin> new_connection(lt::peer_connection_handle const& handle) override {
    torrent_->peers.push_front({handle, Clock::now()});
    return std::make_shared<SlotPeer>(torrent_, torrent_->peers.begin());
  }

 private:
  std::shared_ptr<Torrent> torrent_;
};

// Session-wide so that idle slots are found every session tick (tick_interval, 100 ms here) rather
// than at a torrent's once-a-second tick.
class SlotPlugin final : public lt::plugin {
 public:
  lt::feature_flags_t implemented_features() override { return tick_feature; }
  std::shared_ptr<lt::torrent_plugin> new_torrent(lt::torrent_handle const&, lt::client_data_t) override {
    auto torrent = std::make_shared<Torrent>();
    torrents_.push_back(torrent);
    return std::make_shared<SlotTorrent>(torrent);
  }
  void on_tick() override {
    auto now = Clock::now();
    std::erase_if(torrents_, [](const auto& weak) { return weak.expired(); });
    for (auto& weak : torrents_)
      if (auto torrent = weak.lock()) torrent->reclaim_idle(now);
  }

 private:
  std::vector<std::weak_ptr<Torrent>> torrents_;
};

}  // namespace

std::shared_ptr<lt::plugin> upload_slots_plugin() { return std::make_shared<SlotPlugin>(); }

}  // namespace rookery::swarm
