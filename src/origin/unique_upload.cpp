#include "rookery/origin/unique_upload.hpp"

namespace rookery::origin {

UniqueUploadPolicy::UniqueUploadPolicy(int num_pieces, std::chrono::milliseconds assignment_timeout,
                                       std::chrono::milliseconds starve_after, std::vector<bool> hot,
                                       int hot_window)
    : assignment_timeout_(assignment_timeout),
      starve_after_(starve_after),
      holders_(static_cast<std::size_t>(num_pieces), 0),
      assigned_(static_cast<std::size_t>(num_pieces)),
      copies_sent_(static_cast<std::size_t>(num_pieces), 0),
      hot_(std::move(hot)),
      hot_window_(hot_window) {
  hot_.resize(hot_.empty() ? 0 : static_cast<std::size_t>(num_pieces), false);
}

namespace {
template <class Map>
auto& peer_entry(Map& peers, UniqueUploadPolicy::PeerId id, int num_pieces) {
  auto [it, inserted] = peers.try_emplace(id);
  if (inserted) {
    it->second.has.assign(static_cast<std::size_t>(num_pieces), false);
    it->second.advertised.assign(static_cast<std::size_t>(num_pieces), true);  // the seed's HAVE_ALL
    it->second.sent.assign(static_cast<std::size_t>(num_pieces), false);
    it->second.offered = num_pieces;
  }
  return it->second;
}
}  // namespace

bool UniqueUploadPolicy::covered_for(PeerId id, const Peer& peer, int piece) const {
  auto p = static_cast<std::size_t>(piece);
  int others = holders_[p] - (peer.has[p] ? 1 : 0);
  return others > 0 || (assigned_[p].peer != kNobody && assigned_[p].peer != id);
}

// Only for a piece the peer lacks.
void UniqueUploadPolicy::advertise(PeerId id, Peer& peer, int piece, bool have, Messages& out) {
  auto p = static_cast<std::size_t>(piece);
  if (peer.advertised[p] == have) return;
  peer.advertised[p] = have;
  peer.withdrawn += have ? -1 : 1;
  peer.offered += have ? 1 : -1;
  (have ? out.have : out.dont_have).emplace_back(id, piece);
  if (!have && peer.offered == 0 && peer.ready && peer.steerable) offer_nothing(id, peer, out);
}

void UniqueUploadPolicy::offer_nothing(PeerId id, Peer& peer, Messages& out) {
  std::erase_if(out.have, [id](const auto& m) { return m.first == id; });  // superseded
  out.have_none.push_back(id);
  peer.advertised.assign(peer.advertised.size(), false);
}

void UniqueUploadPolicy::unsteer(PeerId id, Peer& peer, Messages& out) {
  peer.steerable = false;
  peer.starved = true;
  for (int p = 0; p < num_pieces(); ++p)
    if (!peer.has[static_cast<std::size_t>(p)]) advertise(id, peer, p, true, out);
}

void UniqueUploadPolicy::update(int piece, Messages& out) {
  for (auto& [id, peer] : peers_) {
    // A host that has the piece asks nobody for it: what it is told about it does not matter.
    if (!peer.ready || !peer.steerable || peer.has[static_cast<std::size_t>(piece)]) continue;
    advertise(id, peer, piece, !covered_for(id, peer, piece), out);
  }
}

void UniqueUploadPolicy::assign(int piece, PeerId id, Clock::time_point now) {
  assigned_[static_cast<std::size_t>(piece)] = {id, now, 0, false};
  if (is_hot(piece)) ++hot_in_flight_;
}

void UniqueUploadPolicy::clear_assignment(int piece) {
  auto& a = assigned_[static_cast<std::size_t>(piece)];
  if (a.peer == kNobody) return;
  if (is_hot(piece) && !a.sent_whole) --hot_in_flight_;
  a = {};
}

void UniqueUploadPolicy::reopen(Messages& out) {
  if (waiting_.empty() || window_full()) return;
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto [id, piece] : waiting) {
    auto it = peers_.find(id);
    if (it == peers_.end() || !it->second.ready || !it->second.steerable) continue;
    auto& peer = it->second;
    if (!peer.has[static_cast<std::size_t>(piece)] && !covered_for(id, peer, piece))
      advertise(id, peer, piece, true, out);
  }
}

void UniqueUploadPolicy::unassign(int piece, Messages& out) {
  clear_assignment(piece);
  update(piece, out);
  reopen(out);
}

void UniqueUploadPolicy::peer_ready(PeerId id, bool steerable, Clock::time_point now, Messages& out) {
  auto& peer = peer_entry(peers_, id, num_pieces());
  peer.ready = true;
  peer.progress = now;
  peer.steerable = steerable;
  if (!steerable) return;
  steer(id, peer, out);
}

void UniqueUploadPolicy::steer(PeerId id, Peer& peer, Messages& out) {
  for (int p = 0; p < num_pieces(); ++p)
    if (!peer.has[static_cast<std::size_t>(p)]) advertise(id, peer, p, !covered_for(id, peer, p), out);
}

void UniqueUploadPolicy::remove_peer(PeerId id, Messages& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  std::vector<bool> had = std::move(it->second.has);
  peers_.erase(it);
  for (int p = 0; p < num_pieces(); ++p) {
    auto i = static_cast<std::size_t>(p);
    bool changed = false;
    if (had[i]) {
      if (--holders_[i] == 0) --held_pieces_;
      changed = true;
    }
    if (assigned_[i].peer == id) clear_assignment(p), changed = true;
    if (changed) update(p, out);
  }
  reopen(out);
}

void UniqueUploadPolicy::peer_has(PeerId id, int piece, Clock::time_point now, Messages& out) {
  if (piece < 0 || piece >= num_pieces()) return;
  auto& peer = peer_entry(peers_, id, num_pieces());
  auto p = static_cast<std::size_t>(piece);
  if (peer.has[p]) return;
  peer.has[p] = true;
  if (!peer.advertised[p]) --peer.withdrawn;
  else --peer.offered;
  peer.progress = now;
  if (++holders_[p] == 1) ++held_pieces_;
  if (assigned_[p].peer == id) clear_assignment(piece);
  update(piece, out);
  reopen(out);
  if (peer.starved && !peer.sent[p]) {  // its peers reach it again
    peer.starved = false;
    peer.steerable = true;
    steer(id, peer, out);
  }
}

void UniqueUploadPolicy::peer_has_all(PeerId id, Clock::time_point now, Messages& out) {
  for (int p = 0; p < num_pieces(); ++p) peer_has(id, p, now, out);
}

bool UniqueUploadPolicy::allow_request(PeerId id, int piece, Clock::time_point now, Messages& out) {
  if (piece < 0 || piece >= num_pieces()) return true;  // libtorrent refuses it on its own
  auto& peer = peer_entry(peers_, id, num_pieces());
  auto p = static_cast<std::size_t>(piece);
  if (peer.ready && peer.steerable && !peer.has[p] && covered_for(id, peer, piece)) {
    advertise(id, peer, piece, false, out);
    return false;
  }
  if (assigned_[p].peer == kNobody && !peer.has[p]) {
    if (is_hot(piece) && peer.ready && peer.steerable && window_full()) {
      advertise(id, peer, piece, false, out);
      waiting_.emplace_back(id, piece);
      return false;
    }
    assign(piece, id, now);
    update(piece, out);
  } else if (assigned_[p].peer == id) {
    assigned_[p].since = now;
  }
  return true;
}

bool UniqueUploadPolicy::sent(PeerId id, int piece, int bytes, int piece_bytes, Clock::time_point now,
                              Messages& out) {
  if (piece < 0 || piece >= num_pieces()) return false;
  auto p = static_cast<std::size_t>(piece);
  auto& a = assigned_[p];
  if (a.peer == id) {
    a.since = now;
    a.bytes_sent += bytes;
    if (is_hot(piece) && !a.sent_whole && a.bytes_sent >= piece_bytes) {
      a.sent_whole = true;
      --hot_in_flight_;
      reopen(out);
    }
  }
  auto& peer = peer_entry(peers_, id, num_pieces());
  if (peer.sent[p]) return false;
  peer.sent[p] = true;
  if (++copies_sent_[p] == 2) ++pieces_sent_twice_;
  return true;
}

void UniqueUploadPolicy::choked(PeerId id, Messages& out) {
  for (int p = 0; p < num_pieces(); ++p)
    if (assigned_[static_cast<std::size_t>(p)].peer == id) unassign(p, out);
}

void UniqueUploadPolicy::tick(Clock::time_point now, Messages& out) {
  for (auto& [id, peer] : peers_) {
    if (peer.ready && peer.steerable && peer.withdrawn > 0 && now - peer.progress > starve_after_)
      unsteer(id, peer, out);
  }
  for (int p = 0; p < num_pieces(); ++p) {
    const auto& a = assigned_[static_cast<std::size_t>(p)];
    if (a.peer != kNobody && now - a.since > assignment_timeout_) unassign(p, out);
  }
}

}  // namespace rookery::origin
