// Inode numbers, generations and file handles that a successor process can honour: the kernel
// keeps the numbers it was given for as long as it likes, across a restart of the daemon.
//
//   inode = (release id << 32) | node id        root = 1 (release id 0 is never assigned)
//
// A release id is assigned once per version, in the order versions are first seen (listed or
// looked up), and kept in the cache (CACHE/superblock, rewritten atomically when a version is
// added), so a restarted daemon gives every version the id it had; ids are never reused, also
// after garbage collection. Node ids come from the release's inode tree, which the same metadata
// always numbers the same way. The generation is always 1: versions are immutable, so an inode
// number never names two different things. Times that metadata does not give (the root's mtime,
// directories') are the times kept here, so attributes are identical across restarts too.
//
// File handles carry no pointer: fh = (instance << 32) | serial, `instance` random per process,
// so a handle a previous process opened is never mistaken for one of ours; the filesystem adopts
// such a handle from the inode number the kernel sends with every request.
//
// One mutex guards the table; callers may hold their own locks around these calls (it is a leaf).
#pragma once
#include <atomic>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rookery/fs/inode_tree.hpp"

namespace rookery::fs {

using Ino = std::uint64_t;
constexpr Ino kRootIno = 1;
constexpr std::uint64_t kGeneration = 1;

constexpr Ino make_ino(std::uint32_t release, NodeId node) { return (static_cast<Ino>(release) << 32) | node; }
constexpr std::uint32_t release_of(Ino ino) { return static_cast<std::uint32_t>(ino >> 32); }
constexpr NodeId node_of(Ino ino) { return static_cast<NodeId>(ino & 0xffffffffu); }

class Superblock {
 public:
  struct ReleaseId {
    std::uint32_t id = 0;
    std::time_t first_seen = 0;  // stands in for times the metadata does not give
  };

  // Loads the table at `path`, or starts one there. An empty path keeps it in memory (tests).
  // Throws UserError when the file exists but cannot be read as a superblock.
  explicit Superblock(std::filesystem::path path, std::time_t now = std::time(nullptr));

  // The version's id, assigned (and persisted) the first time it is seen. An id is only handed out
  // once it is written: a number the file lacks could name another version in a successor, whose
  // kernel-cached inodes would then show that version's files. So when the file cannot be written
  // the assignment is taken back and UserError (naming the file) thrown.
  ReleaseId release(const std::string& version);
  // The same for many versions at once (a listing), with at most one write; all or none.
  std::vector<ReleaseId> releases(const std::vector<std::string>& versions);
  // Lookups that assign nothing.
  std::optional<ReleaseId> find(const std::string& version) const;
  std::optional<std::string> version_of(std::uint32_t id) const;
  std::time_t created() const { return created_; }

  // A file handle no other process has handed out.
  std::uint64_t new_handle();

 private:
  ReleaseId assign_locked(const std::string& version, std::vector<std::string>& added);
  // Writes the table; on failure takes back the ids in `added` and throws.
  void persist_locked(const std::vector<std::string>& added);

  std::filesystem::path path_;
  std::time_t created_;
  mutable std::mutex mutex_;
  std::map<std::string, ReleaseId> by_version_;
  std::map<std::uint32_t, std::string> by_id_;
  std::uint32_t next_id_ = 1;
  const std::uint64_t instance_;
  std::atomic<std::uint32_t> serial_{0};
};

}  // namespace rookery::fs
