// The origin uploads only what no host can relay ("serve unique").
//
// In a fleet the origin's link is the one scarce resource: every byte it sends twice is a byte of
// the release it sends late, and the fan-out ends when the last never-sent piece has left the
// origin and crossed the hosts (measured: time ~ origin bytes / F x F/u + 2 s). Plain BitTorrent
// lets every host ask the origin for the rarest pieces, which early on are the same ones for
// everybody, so at 64 hosts the origin sent 6-9x the release. The rule here: a piece that another
// connected host already has, or is receiving from the origin right now, is not uploaded again.
// The asking host is told that the origin does not have it (BEP 54 lt_donthave, sent before the
// fast extension's REJECT of the request), so its picker turns to the hosts that do; when the
// last holder of a piece disconnects, or the host receiving it stalls (choked, or silent past
// `assignment_timeout` since the last block went out), the origin advertises the piece again (HAVE). The origin thus sends each
// piece about once, and hosts relay the rest.
//
// The rule assumes that whoever holds a piece can pass it on. A host that reaches few others (it
// announced before they did and nobody has connected to it yet) could otherwise hold pieces nobody
// else can get, and wait itself for pieces from hosts it never hears of: measured at 64 hosts, 17
// hosts with 0-2 of 64 pieces and the rest stuck at 47. So steering is only ever a preference:
// a host that lacks pieces the origin has withdrawn from it (told it does not have them) and has
// not gained a piece for `starve_after` is served as plain BitTorrent (everything advertised
// again, every request served) until it gains a piece the origin did not send it: its peers serve
// it again, and it is steered again. (A lazy host that wants none of those pieces is unsteered the
// same way; that costs a HAVE per withdrawn piece each time.) Served plainly for
// good, such hosts took the rest of the release from the origin: at 64 hosts the fallback fired in
// about one fan-out in four, and the origin then sent 1.5-1.8x the release instead of 1.1x.
//
// A host re-evaluates its interest in a peer when it gains a piece that peer has, never on a
// "do not have" (libtorrent 2.0's incoming_dont_have leaves it alone). A host whose every missing
// piece the origin has withdrawn thus stayed "interested" in the origin, during the transfer and
// after it had completed from other hosts: libtorrent's choker gives upload slots to interested
// peers, so the origin's slots went round such hosts, which asked for nothing (measured: with 2
// origin slots, a next-release deploy stood still 13 s while the one regular slot rotated among
// the 15 hosts still "interested" in the previous release). So when the last piece a host lacks
// and the origin still offered it is withdrawn, the origin says HAVE_NONE (fast extension; a
// late one is accepted): the host drops its interest and tells the origin so, and a later HAVE
// makes it interested again.
//
// A hot set (catalog/hot_set.hpp) is paced. When a fleet starts a release at once, every host
// wants the same few pieces, and no host can relay a piece before it is whole: with the origin's
// link split across its 8 upload slots, each 128 KiB piece took 0.84 s at 10 Mbit/s, and the
// hosts relayed almost nothing for the first 1.3 s of a 64-host herd. So at most `hot_window`
// hot pieces are under way from the origin at once: each is whole after 1/hot_window of the time
// and is relayed while the next ones arrive. A host that asks for one more while the window is
// full is told the origin does not have it (as for a covered piece), and told again that it does
// once a place frees; whoever asks first then gets it. A place frees when the piece's last byte
// has been handed to the connection, not when the host says HAVE: waiting for the HAVE, and then
// for a new request, both queued behind the hosts' uploads, left the origin's link idle between
// pieces (the hot set's last piece left the origin at 2.4 s, where its link carries it in 1.7 s). Pieces outside the hot set, and releases
// without one, are not paced. Measured on that herd with the catalog on the origin's host, eight
// alternating rounds: a window of 4 took 4.9-7.0 s (median 5.25 s) against 5.6-7.3 s (5.9 s)
// unpaced, and the first host was done earlier in every round; 2 left the origin's link idle
// between pieces (each place waits for a HAVE and a new request, both queued behind the hosts'
// uploads). With the catalog on a host of its own there was no difference (4.7-5.2 s either
// way): the gain is probably the catalog's fetches sharing the origin's link with fewer piece
// flows (not measured directly).
//
// Hosts that cannot be steered (no lt_donthave or no fast extension: not libtorrent-based) are
// served as plain BitTorrent would; their pieces still count as relayable.
//
// This class is the rule alone: it sees peers as numbers and answers with the messages to send,
// so it is unit-tested without a session (origin/unique_upload_plugin.cpp is the libtorrent glue).
// Not thread-safe: libtorrent calls its plugins on the network thread only.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

namespace rookery::origin {

class UniqueUploadPolicy {
 public:
  using PeerId = std::uint32_t;
  using Clock = std::chrono::steady_clock;
  // What the origin must tell hosts after an event: "I have piece p" / "I do not have piece p",
  // and "I have nothing for you" (HAVE_NONE, sent before that peer's HAVEs of the same batch).
  struct Messages {
    std::vector<std::pair<PeerId, int>> have, dont_have;
    std::vector<PeerId> have_none;
  };

  // `hot`: the pieces to pace (empty: none); `hot_window`: how many of them may be under way from
  // the origin at once (0: no limit).
  UniqueUploadPolicy(int num_pieces, std::chrono::milliseconds assignment_timeout,
                     std::chrono::milliseconds starve_after, std::vector<bool> hot = {}, int hot_window = 0);

  // A host is steered once the origin's HAVE_ALL has gone out and the host's extension handshake
  // is known; it then learns at once which pieces others already cover. Events of a host that is
  // not ready yet (its bitfield) are recorded all the same.
  void peer_ready(PeerId peer, bool steerable, Clock::time_point now, Messages& out);
  void remove_peer(PeerId peer, Messages& out);
  void peer_has(PeerId peer, int piece, Clock::time_point now, Messages& out);
  void peer_has_all(PeerId peer, Clock::time_point now, Messages& out);
  // True: upload it. False: the caller rejects the request (after sending `out`).
  bool allow_request(PeerId peer, int piece, Clock::time_point now, Messages& out);
  // A block of `bytes` of `piece` (`piece_bytes` long) went out to the host: it is still receiving
  // it. Returns true for the first block of that piece to that host.
  bool sent(PeerId peer, int piece, int bytes, int piece_bytes, Clock::time_point now, Messages& out);
  // The origin choked the host: what it was receiving is free for others.
  void choked(PeerId peer, Messages& out);
  // Releases assignments older than the timeout; stops steering starving hosts.
  void tick(Clock::time_point now, Messages& out);

  int num_pieces() const { return static_cast<int>(holders_.size()); }
  // Every piece is held by at least one connected host: the origin could leave now.
  bool every_piece_held() const { return held_pieces_ == num_pieces(); }
  // Hosts the origin has sent blocks of `piece` to, connected or gone: above 1, the origin's bytes
  // for it were spent more than once (a receiver choked or stalled mid-piece, or served plainly).
  int copies_sent(int piece) const { return copies_sent_[static_cast<std::size_t>(piece)]; }
  int pieces_sent_twice() const { return pieces_sent_twice_; }
  bool starved(PeerId peer) const {
    auto it = peers_.find(peer);
    return it != peers_.end() && it->second.starved;
  }
  // Pieces a host holds or is receiving (for tests and logs).
  bool covered(int piece) const { return holders_[static_cast<std::size_t>(piece)] > 0 || assignee(piece) != kNobody; }
  int hot_in_flight() const { return hot_in_flight_; }

 private:
  static constexpr PeerId kNobody = 0xffffffffu;
  struct Peer {
    bool steerable = false;
    bool starved = false;  // steerable, but served plainly until it gains a piece from a peer
    bool ready = false;
    std::vector<bool> has;
    std::vector<bool> advertised;  // what the origin claims to have, to this peer
    std::vector<bool> sent;        // pieces the origin has sent blocks of, to this peer
    int withdrawn = 0;             // pieces it lacks that the origin claims not to have
    int offered = 0;               // pieces it lacks that the origin claims to have
    Clock::time_point progress{};  // when it became ready or last gained a piece
  };
  struct Assignment {
    PeerId peer = kNobody;
    Clock::time_point since{};
    int bytes_sent = 0;
    bool sent_whole = false;  // a hot piece whose last byte has gone out: its place is free
  };
  PeerId assignee(int piece) const { return assigned_[static_cast<std::size_t>(piece)].peer; }
  bool covered_for(PeerId peer, const Peer& p, int piece) const;
  // Brings every other steerable peer's view of `piece` in line with its coverage.
  void update(int piece, Messages& out);
  void advertise(PeerId id, Peer& peer, int piece, bool have, Messages& out);
  void offer_nothing(PeerId id, Peer& peer, Messages& out);
  void unassign(int piece, Messages& out);
  void assign(int piece, PeerId id, Clock::time_point now);
  void clear_assignment(int piece);
  bool is_hot(int piece) const { return !hot_.empty() && hot_[static_cast<std::size_t>(piece)]; }
  bool window_full() const { return hot_window_ > 0 && hot_in_flight_ >= hot_window_; }
  // Tells each waiting host again of the hot pieces it was refused, once the window has room.
  void reopen(Messages& out);

  void unsteer(PeerId id, Peer& peer, Messages& out);
  void steer(PeerId id, Peer& peer, Messages& out);

  std::chrono::milliseconds assignment_timeout_;
  std::chrono::milliseconds starve_after_;
  std::vector<int> holders_;  // connected peers that have the piece
  int held_pieces_ = 0;       // pieces with holders
  std::vector<Assignment> assigned_;
  std::vector<int> copies_sent_;
  int pieces_sent_twice_ = 0;
  std::map<PeerId, Peer> peers_;  // ordered: messages go out in a stable order
  std::vector<bool> hot_;
  int hot_window_ = 0;
  int hot_in_flight_ = 0;  // hot pieces assigned and not yet sent whole
  // Hot pieces refused while the window was full, and to whom. Every assignment that ends is
  // followed by reopen(), so this is empty whenever the window has room.
  std::vector<std::pair<PeerId, int>> waiting_;
};

}  // namespace rookery::origin
