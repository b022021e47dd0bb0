// Layout of a mount daemon's cache directory. One directory per release, named by version (versions
// are immutable, so a name never changes meaning):
//
//   CACHE/.lock                         held by the running daemon: one daemon per cache
//   CACHE/status.json                   per-release progress, rewritten every second (rewrite_snapshot_file)
//   CACHE/superblock                    release ids behind inode numbers (see fs/superblock.hpp)
//   CACHE/releases/<version>/release.torrent   the torrent as fetched (works with the catalog down)
//   CACHE/releases/<version>/release.torrent.sig  its signature, when the mount checks signatures
//   CACHE/releases/<version>/resume.dat        libtorrent resume data (restart without refetch)
//   CACHE/releases/<version>/last-used         its mtime orders garbage collection (LRU)
//   CACHE/releases/<version>/from-local        bytes linked from other cached releases (swarm/local_copies.hpp)
//   CACHE/control.sock                  the daemon's control socket (0600): status, prefetch, gc
//   CACHE/links/<id>                    deploy links made by `rookery activate` (their targets are kept)
//   CACHE/releases/<version>/data/<version>/...  the files libtorrent writes and reads are served from
#pragma once
#include <filesystem>
#include <string>

#include "rookery/common/files.hpp"

namespace rookery::store {

class CacheDir {
 public:
  // Creates the directory (0700: it holds unverified bytes) and takes its lock; throws UserError
  // when another daemon holds it.
  explicit CacheDir(std::filesystem::path root);

  // The layout only, without the lock: for commands that talk to a running daemon.
  static CacheDir unlocked(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path release_dir(const std::string& version) const { return root_ / "releases" / version; }
  std::filesystem::path data_dir(const std::string& version) const { return release_dir(version) / "data"; }
  std::filesystem::path torrent_path(const std::string& version) const { return release_dir(version) / "release.torrent"; }
  std::filesystem::path signature_path(const std::string& version) const { return release_dir(version) / "release.torrent.sig"; }
  std::filesystem::path resume_path(const std::string& version) const { return release_dir(version) / "resume.dat"; }
  std::filesystem::path last_used_path(const std::string& version) const { return release_dir(version) / "last-used"; }
  std::filesystem::path from_local_path(const std::string& version) const { return release_dir(version) / "from-local"; }
  std::filesystem::path status_path() const { return root_ / "status.json"; }
  std::filesystem::path superblock_path() const { return root_ / "superblock"; }
  std::filesystem::path control_socket_path() const { return root_ / "control.sock"; }
  std::filesystem::path links_dir() const { return root_ / "links"; }

 private:
  CacheDir() = default;
  std::filesystem::path root_;
  FileDescriptor lock_;
};

}  // namespace rookery::store
