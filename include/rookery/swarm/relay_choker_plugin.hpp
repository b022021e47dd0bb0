// The libtorrent glue of RelayChoker (relay_choker.hpp): a torrent plugin that feeds it the peers'
// bitfields, HAVEs and lt_donthaves and this host's passed pieces, and carries out its moves with
// peer_connection_handle::choke_this_peer and maybe_unchoke_this_peer (exported by Debian's
// libtorrent 2.0.8). It needs libtorrent's own choker off (make_settings with Choker::relay: the
// session's unchoke_slots_limit -1) and the torrent's max_uploads at the slot count: libtorrent
// then unchokes a newly interested peer only into a free slot and never chokes one by itself,
// except a peer that lost interest. Added per torrent through add_torrent_params::extensions.
#pragma once
#include <libtorrent/extensions.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace rookery::swarm {

using TorrentPluginFactory =
    std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>;

// `have`: the pieces the torrent starts with (resume data, local copies).
TorrentPluginFactory relay_choker_plugin(int slots, int num_pieces, std::vector<bool> have);

}  // namespace rookery::swarm
