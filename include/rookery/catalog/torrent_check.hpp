// Loads a release's torrent as it came from the catalog, refusing hostile metadata before
// libtorrent sees it. libtorrent would quietly sanitise a path like "../../etc/x" into something
// harmless, but a catalog that serves such a torrent is broken or malicious, and the operator should
// hear about it in one line rather than find a renamed file under /releases.
//
// Refused: undecodable or truncated data; path elements that are empty, ".", "..", or contain '/',
// '\' or NUL (v1 "files"/"name" and the v2 "file tree"); symlink targets that climb out of the
// release; more files than `max_files`.
#pragma once
#include <libtorrent/torrent_info.hpp>

#include <memory>
#include <string>

namespace rookery::catalog {

constexpr int kDefaultMaxFiles = 200000;

// Throws UserError("torrent ...: <reason>").
std::shared_ptr<const lt::torrent_info> load_release_torrent(const std::string& bytes, int max_files = kDefaultMaxFiles);

}  // namespace rookery::catalog
