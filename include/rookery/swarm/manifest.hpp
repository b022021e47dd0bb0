// A torrent's file list as the filesystem sees it (fs::ReleaseFile): paths relative to the
// release's root, sizes, BEP 47 attributes (executable bit, symlinks) and mtimes; pad files left
// out. Multi-file torrents put every path under the torrent's name: that directory is the root.
#pragma once
#include <libtorrent/file_storage.hpp>
#include <vector>

#include "rookery/fs/release_source.hpp"

namespace rookery::swarm {

std::vector<fs::ReleaseFile> release_files(const lt::file_storage& files);

}  // namespace rookery::swarm
