// A torrent's file list as the filesystem sees it (fs::ReleaseFile): paths relative to the
// release's root, sizes, BEP 47 attributes (executable bit, symlinks) and mtimes; pad files left
// out. Multi-file torrents put every path under the torrent's name: that directory is the root.
#pragma once
#include <libtorrent/file_storage.hpp>
#include <libtorrent/torrent_info.hpp>
#include <string>
#include <vector>

#include "rookery/fs/release_source.hpp"
#include "rookery/swarm/piece_map.hpp"

namespace rookery::swarm {

std::vector<fs::ReleaseFile> release_files(const lt::file_storage& files);

// The torrent's hot set (catalog/hot_set.hpp) as ranges of its files; a path the release does not
// hold is left out (a hot set recorded on another release may name a file this one dropped).
std::vector<FileRange> hot_set_ranges(const std::string& version, const lt::torrent_info& info);

}  // namespace rookery::swarm
