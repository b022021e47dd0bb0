// The filesystem logic behind the mount, free of FUSE types so it is testable without a kernel; the
// adapter in fuse/ only translates requests and replies.
//
//   /                      the catalog: one directory per published version
//   /<version>/...         the release's tree, from its torrent (see inode_tree.hpp)
//
// Inode numbers: 1 is the root; release slot s (1-based, assigned when a version is first seen)
// owns inodes (s << 32) | node, node 0 being the release's directory. Releases are immutable, so
// every entry and attribute inside them is cached by the kernel for a long time; the root changes
// as versions are published, so its attributes are short-lived and failed lookups are not cached.
//
// The first lookup of /<version> fetches the torrent (or takes the copy in the cache: versions are
// immutable), checks it against the catalog's info-hash, builds the tree and joins the swarm. A
// version that fails to load answers EIO (one log line) and is retried after `retry_failed`; with
// `trusted_key`, a release whose signature is missing or wrong answers EACCES.
#pragma once
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rookery/catalog/catalog.hpp"
#include "rookery/common/error.hpp"
#include "rookery/fs/inode_tree.hpp"
#include "rookery/fs/readahead.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/engine.hpp"

namespace rookery::fs {

using Ino = std::uint64_t;
constexpr Ino kRootIno = 1;

struct FilesystemOptions {
  double release_ttl = 3600.0;  // s; entries and attributes inside immutable releases
  double root_ttl = 1.0;        // s; the catalog's listing changes when versions are published
  std::chrono::milliseconds catalog_max_age{1000};
  std::chrono::seconds retry_failed{10};
  // When set, a release joins only with a valid Ed25519 signature by this key (else EACCES).
  std::filesystem::path trusted_key;
  ReadaheadConfig readahead;
};

struct Entry {
  Ino ino = 0;
  struct stat attr {};
  double ttl = 0;
};

struct DirEntry {
  std::string name;
  Ino ino = 0;
  mode_t type = 0;  // S_IFDIR, S_IFREG or S_IFLNK
};

// A read's answer: `length` bytes at `offset` of an open cache file (the adapter splices them to
// the kernel), or an errno.
struct ReadReply {
  int error = 0;
  std::shared_ptr<const FileDescriptor> file;
  std::int64_t offset = 0;
  std::size_t length = 0;
};

class Filesystem {
 public:
  Filesystem(catalog::Catalog& catalog, swarm::Engine& engine, store::CacheDir& cache, FilesystemOptions options = {});
  ~Filesystem();

  Expected<Entry> lookup(Ino parent, const std::string& name);
  Expected<Entry> getattr(Ino ino);
  Expected<std::string> readlink(Ino ino);
  Expected<std::vector<DirEntry>> readdir(Ino ino);
  // Opens a file for reading; returns the handle for read() and release(). Writers get EROFS.
  Expected<std::uint64_t> open(Ino ino, int flags);
  // `reply` runs exactly once, possibly on another thread, possibly before read() returns.
  void read(std::uint64_t handle, std::int64_t offset, std::size_t size, std::function<void(ReadReply)> reply);
  void release(std::uint64_t handle);
  struct statvfs statfs();

  // Joins a version as its first lookup would (for prefetch); errno as lookup would answer it.
  Expected<std::shared_ptr<swarm::Release>> join_version(const std::string& version);
  // Files of the version open right now (a release with open files is never evicted).
  int open_files(const std::string& version);
  // Leaves the version's swarm and deletes it from the cache; false (nothing done) while files of
  // it are open. The kernel is told to forget the version's directory through `on_evicted`.
  bool evict(const std::string& version);
  std::function<void(const std::string& version)> on_evicted;
  // True when every joined release has all its pieces verified (also when none is joined).
  bool all_landed();
  // Called after a release is joined, before the lookup that joined it is answered.
  std::function<void()> on_joined;

 private:
  struct Mounted {
    InodeTree tree;
    std::shared_ptr<swarm::Release> release;
    std::atomic<int> open_files{0};
    std::atomic<std::int64_t> last_touch{0};  // steady seconds of the last last-used stamp
  };
  struct Slot {
    std::string version;
    std::shared_ptr<Mounted> mounted;
    int error = 0;
    std::chrono::steady_clock::time_point failed_at{};
  };
  struct Handle;

  std::uint32_t slot_for(const std::string& version);  // needs mutex_
  std::shared_ptr<Mounted> mounted_for(Ino ino, NodeId* node);
  Expected<std::shared_ptr<Mounted>> load(std::uint32_t slot);
  std::shared_ptr<Mounted> join(const std::string& version);
  Entry entry_for(std::uint32_t slot, const Mounted& m, NodeId node) const;
  Entry root_entry() const;
  void touch_last_used(Mounted& m);

  catalog::Catalog& catalog_;
  swarm::Engine& engine_;
  store::CacheDir& cache_;
  FilesystemOptions options_;
  std::time_t mount_time_;
  uid_t uid_;
  gid_t gid_;

  std::mutex mutex_;  // slots_ and slot_by_version_
  std::deque<Slot> slots_;
  std::map<std::string, std::uint32_t> slot_by_version_;
  std::mutex join_mutex_;  // one release joins at a time
};

}  // namespace rookery::fs
