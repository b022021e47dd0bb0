// The filesystem logic behind the mount, free of FUSE and swarm types so it is testable
// without a kernel or a swarm (tests/unit/filesystem_test.cpp runs it against a fake source); the
// adapter in fuse/ only translates requests and replies.
//
//   /                      the catalog: one directory per published version
//   /<version>/...         the release's tree, from its metadata (see inode_tree.hpp)
//
// Inode numbers and handles come from the superblock (superblock.hpp): stable across restarts,
// and handles the kernel got from a previous process are adopted, not refused. Releases are
// immutable, so every entry and attribute inside them is cached by the kernel for a long time; the
// root changes as versions are published, so its attributes are short-lived, its misses are not
// cached by the kernel, and the catalog is asked again about a missing name after `root_ttl`.
//
// The first lookup of /<version> joins it through the ReleaseSource (admission and swarm) and
// builds its tree; the version gets its inode number (superblock) then, so names that are not
// published get none. A version that fails to load answers EIO (one log line) and is retried after
// `retry_failed`; a release refused by its signature answers EACCES; inodes of it the kernel holds
// from a previous process answer the same. A name a release lacks is answered as a negative entry
// the kernel caches (lookup()).
//
// Locks: `join_mutex_` (one release joins or is evicted at a time) is taken before `mutex_` (the
// releases by id, and the root names recently missing); `handles_mutex_` (open files and listings) is never held with either. The
// superblock's lock and the open-handle table's (taken under `mutex_` by evict) are leaves.
#pragma once
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "rookery/fs/open_handles.hpp"
#include <vector>

#include "rookery/common/error.hpp"
#include "rookery/fs/inode_tree.hpp"
#include "rookery/fs/readahead.hpp"
#include "rookery/fs/release_source.hpp"
#include "rookery/fs/superblock.hpp"

namespace rookery::fs {

struct FilesystemOptions {
  double release_ttl = 3600.0;  // s; entries and attributes inside immutable releases
  double root_ttl = 1.0;        // s; the catalog's listing changes when versions are published
  std::chrono::seconds retry_failed{10};
  ReadaheadConfig readahead;
  // Extended attributes of the mount's root, e.g. user.rookery.cache: how operator commands given
  // only the mount point find the daemon's cache directory. Nothing else has any.
  std::map<std::string, std::string> root_xattrs;
};

struct Entry {
  Ino ino = 0;
  std::uint64_t generation = kGeneration;
  struct stat attr {};
  double ttl = 0;
};

struct DirEntry {
  std::string name;
  Ino ino = 0;
  mode_t type = 0;  // S_IFDIR, S_IFREG or S_IFLNK
};
using Listing = std::shared_ptr<const std::vector<DirEntry>>;

class Filesystem {
 public:
  // `open_handles`: where open files are recorded (memory that outlives the process, under a
  // holder); null: a table of the filesystem's own.
  Filesystem(ReleaseSource& source, Superblock& superblock, FilesystemOptions options = {},
             OpenHandles* open_handles = nullptr);
  ~Filesystem();

  // A name that is not there inside a release: an Entry with ino 0 (a miss the kernel may cache
  // for its ttl); at the root: ENOENT.
  Expected<Entry> lookup(Ino parent, const std::string& name);
  Expected<Entry> getattr(Ino ino);
  Expected<std::string> readlink(Ino ino);
  // ENODATA for a name the inode does not have.
  Expected<std::string> getxattr(Ino ino, const std::string& name);
  // Every name, each followed by a NUL (listxattr's format).
  std::string listxattr(Ino ino);
  Expected<std::vector<DirEntry>> readdir(Ino ino);
  // A directory listing is taken at opendir and kept under the handle, so that readdir calls
  // continuing at an offset see one consistent listing.
  Expected<std::uint64_t> opendir(Ino ino);
  Expected<Listing> listing(Ino ino, std::uint64_t handle);
  void releasedir(std::uint64_t handle);
  // Opens a file for reading; returns the handle for read() and release(). Writers get EROFS.
  Expected<std::uint64_t> open(Ino ino, int flags);
  // `reply` runs exactly once, possibly on another thread, possibly before read() returns.
  void read(Ino ino, std::uint64_t handle, std::int64_t offset, std::size_t size, std::function<void(ReadReply)> reply);
  void release(std::uint64_t handle);
  struct statvfs statfs();

  // Joins a version as its first lookup would (for prefetch); 0 or the errno lookup would answer.
  int join_version(const std::string& version);
  // Files of the version open right now (a release with open files is never evicted).
  int open_files(const std::string& version);
  // Leaves the version's swarm and deletes it from the cache; false (nothing done) while files of
  // it are open. The kernel is told to forget the version's directory through `on_evicted`.
  bool evict(const std::string& version);
  std::function<void(const std::string& version)> on_evicted;
  // The versions joined now, sorted.
  std::vector<std::string> joined_versions();
  // True when every joined release has all its pieces verified (also when none is joined).
  bool all_landed();
  // True when every joined release's hot set (catalog/hot_set.hpp) has all its pieces verified.
  bool hot_sets_landed();
  // Called after a release is joined, before the lookup that joined it is answered.
  std::function<void()> on_joined;

 private:
  struct Mounted {
    InodeTree tree;
    std::shared_ptr<JoinedRelease> joined;
  };
  struct Slot {
    std::string version;
    std::shared_ptr<Mounted> mounted;
    int error = 0;
    std::chrono::steady_clock::time_point failed_at{};
    bool evicted = false;  // the kernel's inodes of it answer ENOENT until a lookup joins it again
  };
  struct OpenFile;

  Slot& slot_locked(std::uint32_t id, const std::string& version);
  bool recently_missing(const std::string& name);
  void remember_missing(const std::string& name);
  // True when `holds` is true of every joined release (also when none is joined).
  bool every_joined(bool (JoinedRelease::*holds)() const);
  Expected<std::shared_ptr<Mounted>> mounted_for(Ino ino, NodeId* node);
  // False once the release was evicted (or replaced) after `mounted` was taken.
  bool still_mounted(const std::shared_ptr<Mounted>& mounted, Ino ino);
  using Loaded = std::pair<std::uint32_t, std::shared_ptr<Mounted>>;  // the release's number and tree
  Expected<Loaded> load(std::uint32_t id, const std::string& version);
  Loaded join(const std::string& version);
  Expected<std::shared_ptr<OpenFile>> open_file(Ino ino, std::uint64_t handle);
  Expected<std::shared_ptr<OpenFile>> adopt(Ino ino, std::uint64_t handle);
  Entry entry_for(std::uint32_t id, const Mounted& m, NodeId node) const;
  Entry root_entry() const;

  ReleaseSource& source_;
  Superblock& superblock_;
  FilesystemOptions options_;
  uid_t uid_;
  gid_t gid_;

  std::mutex join_mutex_;
  std::mutex mutex_;
  std::unordered_map<std::uint32_t, Slot> slots_;
  // Root names the catalog lacked, and when (see recently_missing); guarded by `mutex_`.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> missing_;
  std::unique_ptr<OpenHandles> own_open_handles_;
  OpenHandles& open_handles_;
  std::mutex handles_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<OpenFile>> open_files_;
  std::unordered_map<std::uint64_t, Listing> listings_;
};

}  // namespace rookery::fs
