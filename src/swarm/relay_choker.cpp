#include "rookery/swarm/relay_choker.hpp"

#include <algorithm>
#include <tuple>

namespace rookery::swarm {

RelayChoker::RelayChoker(int num_pieces, const std::vector<bool>& have)
    : have_(static_cast<std::size_t>(num_pieces), false), availability_(static_cast<std::size_t>(num_pieces), 0) {
  std::copy_n(have.begin(), std::min(have.size(), have_.size()), have_.begin());
}

void RelayChoker::add_peer(PeerId id) {
  auto [it, inserted] = peers_.try_emplace(id);
  if (inserted) it->second.has.assign(have_.size(), false);
}

void RelayChoker::remove_peer(PeerId id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  for (std::size_t p = 0; p < have_.size(); ++p)
    if (it->second.has[p]) --availability_[p];
  peers_.erase(it);
}

void RelayChoker::set_has(Peer& peer, int piece) {
  auto p = static_cast<std::size_t>(piece);
  if (p >= have_.size() || peer.has[p]) return;
  peer.has[p] = true;
  ++peer.count;
  ++availability_[p];
}

void RelayChoker::peer_has(PeerId id, int piece) {
  if (auto it = peers_.find(id); it != peers_.end()) set_has(it->second, piece);
}

void RelayChoker::peer_has_all(PeerId id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  for (int p = 0; p < static_cast<int>(have_.size()); ++p) set_has(it->second, p);
}

void RelayChoker::peer_lost(PeerId id, int piece) {
  auto it = peers_.find(id);
  auto p = static_cast<std::size_t>(piece);
  if (it == peers_.end() || p >= have_.size() || !it->second.has[p]) return;
  it->second.has[p] = false;
  --it->second.count;
  --availability_[p];
}

void RelayChoker::have(int piece) {
  if (auto p = static_cast<std::size_t>(piece); p < have_.size()) have_[p] = true;
}

int RelayChoker::need(PeerId id) const {
  auto it = peers_.find(id);
  int best = kNoNeed;
  for (std::size_t p = 0; p < have_.size(); ++p) {
    if (!have_[p] || (it != peers_.end() && it->second.has[p])) continue;
    best = std::min(best, availability_[p]);
  }
  return best;
}

RelayChoker::Moves RelayChoker::choose(const std::vector<Interested>& interested, int unchoked, int slots,
                                       bool rotate) const {
  struct Ranked {
    int need;
    bool waiting;
    int count;
    PeerId peer;
    auto key() const { return std::tie(need, waiting, count, peer); }
  };
  Moves moves;
  std::vector<Ranked> ranked;
  int interested_holders = 0;
  for (const auto& i : interested) {
    int n = need(i.peer);
    if (n == kNoNeed) {
      // It will lose interest at its next message; until then it holds a slot for nothing.
      if (rotate && i.unchoked) {
        moves.choke.push_back(i.peer);
        --unchoked;
      }
      continue;
    }
    auto it = peers_.find(i.peer);
    ranked.push_back({n, !i.unchoked, it == peers_.end() ? 0 : it->second.count, i.peer});
    if (i.unchoked) ++interested_holders;
  }
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.key() < b.key(); });
  if (!rotate) {
    int free = slots - unchoked;
    for (const auto& r : ranked) {
      if (free <= 0) break;
      if (!r.waiting) continue;
      moves.unchoke.push_back(r.peer);
      --free;
    }
    return moves;
  }
  // Unchoked peers that are no longer interested keep their slot until libtorrent chokes them.
  int held_elsewhere = unchoked - interested_holders;
  int keep = std::max(0, slots - held_elsewhere);
  for (int i = 0; i < static_cast<int>(ranked.size()); ++i) {
    const auto& r = ranked[static_cast<std::size_t>(i)];
    if (i < keep && r.waiting) moves.unchoke.push_back(r.peer);
    if (i >= keep && !r.waiting) moves.choke.push_back(r.peer);
  }
  return moves;
}

}  // namespace rookery::swarm
