// What the filesystem needs from the rest of the daemon, and nothing more: the seam that keeps fs/
// free of the swarm library and lets its unit tests run against a fake.
//
//   ReleaseSource   the catalog's versions, joining one (admission + swarm), evicting one
//   JoinedRelease   one joined release: its file list, whether it has landed, and the piece-aware
//                   read that completes with an open cache file (or an errno)
//
// The daemon implements both with the catalog's admission and the swarm engine
// (daemon/swarm_release_source.hpp); piece arithmetic stays behind read().
#pragma once
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rookery/common/files.hpp"

namespace rookery::fs {

// One file of a release as its metadata describes it, before a byte of it has arrived.
struct ReleaseFile {
  int index = -1;            // the swarm's file index: what read() takes
  std::string path;          // relative to the release's root, '/'-separated
  std::int64_t size = 0;
  std::time_t mtime = 0;     // 0: the metadata has none
  bool executable = false;
  bool symlink = false;
  std::string link_target;   // symlinks: the target, relative to the release's root
};

// A read's answer: `length` bytes at `offset` of an open cache file (the adapter splices them to
// the kernel), or an errno.
struct ReadReply {
  int error = 0;
  std::shared_ptr<const FileDescriptor> file;
  std::int64_t offset = 0;
  std::size_t length = 0;
};

class JoinedRelease {
 public:
  virtual ~JoinedRelease() = default;
  virtual const std::vector<ReleaseFile>& files() const = 0;
  virtual std::int64_t total_size() const = 0;  // every byte of the release, for statfs
  virtual bool landed() const = 0;              // every piece verified
  virtual bool hot_set_landed() const = 0;      // every piece of its hot set verified (or it has none)
  // It was joined or a file of it opened: garbage collection evicts the least recently used first.
  virtual void mark_used() = 0;
  // Answers `length` bytes at `offset` of file `index` (within the file) once they are verified,
  // and asks for [ahead_offset, +ahead_length) too without waiting for it. `reply` runs exactly
  // once, on any thread, possibly before read() returns.
  virtual void read(int index, std::int64_t offset, std::size_t length, std::int64_t ahead_offset,
                    std::int64_t ahead_length, std::function<void(ReadReply)> reply) = 0;
};

class ReleaseSource {
 public:
  virtual ~ReleaseSource() = default;
  // The catalog's versions, oldest first. Throws UserError when the catalog cannot be read.
  virtual std::vector<std::string> versions() = 0;
  // Joins `version`'s swarm. Null when the catalog has no such version; throws NotTrusted for a
  // release refused by its signature, UserError (one line) for any other failure.
  virtual std::shared_ptr<JoinedRelease> join(const std::string& version) = 0;
  // Leaves the version's swarm (when `joined` is set) and deletes it from the cache.
  virtual void evict(const std::string& version, const std::shared_ptr<JoinedRelease>& joined) = 0;
};

}  // namespace rookery::fs
