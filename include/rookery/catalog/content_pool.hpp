// The repository stores a file's content once. REPO/.content/ holds one hard link per distinct
// (SHA-256 of the content, executable bit), named by both; publishing a file whose content and
// executable bit the repository already has hard-links it from the pool instead of copying it, so
// the repository grows by what changed (renamed and moved files included), and the file is
// byte-identical, so its BEP 52 merkle root, which hosts deduplicate by, is the same too.
//
// Trade-offs. A linked file shares its inode, so it keeps the modification time of the release
// that first shipped that content (the torrent records that mtime): rebuilt but identical files
// would otherwise never be shared. Published files are never written again (releases are
// immutable), which is what makes sharing an inode safe. The pool is indexed on first use: files
// of releases published before it existed are hashed once and joined to it (never replaced, so
// their torrents stay true). Nothing removes releases from a repository today; a pool entry whose
// link count is 1 belongs to no release and may be deleted by hand.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace rookery::catalog {

class ContentPool {
 public:
  // REPO/.content, created (and indexed from REPO/data) when missing. Call with the repository lock held.
  explicit ContentPool(const std::filesystem::path& repo);

  // Puts `source`'s content at `target` (which must not exist): a hard link to the pooled copy,
  // true; or a copy (mode 0755 or 0644), which joins the pool, false.
  bool place(const std::filesystem::path& source, const std::filesystem::path& target, bool executable);

 private:
  std::filesystem::path entry_for(const std::string& sha256_hex, bool executable) const;
  void index_existing(const std::filesystem::path& data_dir);

  std::filesystem::path dir_;
};

// SHA-256 of a file's content, hex.
std::string file_sha256(const std::filesystem::path& path);

}  // namespace rookery::catalog
