// The libtorrent glue of UniqueUploadPolicy (unique_upload.hpp): a torrent plugin for the seeder
// that feeds the policy the hosts' handshakes, bitfields, HAVEs, requests and the origin's chokes,
// and sends what it answers as raw messages (lt_donthave, HAVE, the fast extension's REJECT) with
// peer_connection_handle::send_buffer, the one way Debian's libtorrent 2.0.8 exports to write to a
// peer. Added per torrent through add_torrent_params::extensions.
#pragma once
#include <libtorrent/extensions.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rookery::origin {

using TorrentPluginFactory =
    std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>;

// `assignment_timeout`: how long a host may hold a piece it is receiving without a block going out
// before the piece is offered to the others again. Logs once, naming `version`, when every piece
// is held by some host, with the payload bytes sent until then. `starve_after`, `hot` and
// `hot_window`: see unique_upload.hpp.
TorrentPluginFactory unique_upload_plugin(std::string version, int num_pieces, int piece_length, std::int64_t total_size,
                                          std::chrono::milliseconds assignment_timeout,
                                          std::chrono::milliseconds starve_after, std::vector<bool> hot,
                                          int hot_window);

}  // namespace rookery::origin
