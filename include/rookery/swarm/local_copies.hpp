// Cross-release dedup on a host: a release being joined takes every file whose content another
// cached release holds complete from that release, not from the network. A BEP 52 (v2) merkle root
// names a file's content whatever its name or piece size, and hybrid torrents piece-align every
// file, so a whole file is exactly its own pieces: it is hard-linked into the new release's data
// directory and those pieces are added as had (`add_torrent_params::have_pieces`, nothing hashed,
// nothing fetched). The new release then serves them at once, in lazy mode too, and uploads them
// to its swarm like any seed.
//
// Safety. Only donors whose every piece of that file their own resume data lists as verified, and
// whose file on disk has the size the torrent says, are used; nothing is indexed between joins
// (the cache is scanned each time), so a file gone or truncated is simply not a donor. The gate of
// the new release still re-hashes every piece at its first read, so a donor damaged on disk is
// never served: the piece fails, the release is rechecked and the piece fetched again. Such a
// fetch writes the same bytes the shared inode must hold, for both releases, since equal roots
// mean equal content; no other write ever reaches a complete file. v1-only releases have no roots
// and do not dedup. libtorrent's own BEP 38 support is not used (it links by the wrong file index
// when indices differ, up to 2.0.13).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <libtorrent/torrent_info.hpp>

#include "rookery/store/cache_dir.hpp"

namespace rookery::swarm {

struct LocalCopies {
  struct Linked {
    lt::file_index_t file;        // in the release being joined
    std::string donor;            // the version it was linked from
    lt::file_index_t donor_file;  // in the donor's torrent
  };
  std::vector<Linked> linked;
  std::vector<lt::piece_index_t> pieces;  // had now, from the linked files
  std::int64_t bytes = 0;                 // payload bytes linked
  int files = 0;
};

// Links into the release's data directory every file of `info` that another cached release holds
// complete with the same v2 root and size, unless `have` (the release's own resume data) already
// lists all of its pieces.
LocalCopies link_local_copies(const store::CacheDir& cache, const std::string& version, const lt::torrent_info& info,
                              const lt::typed_bitfield<lt::piece_index_t>& have);

}  // namespace rookery::swarm
