// The directory tree of one release, built once from its metadata alone: names, sizes, modes
// (BEP 47 executable bit), symlinks and mtimes are all in the torrent, so the whole tree appears the
// moment the torrent is fetched, before a single piece has arrived.
//
// Nodes are numbered densely from 0 (the release's root directory) in the order of the release's
// file list, so the same metadata always gives the same numbers: the superblock turns them into
// inode numbers that a restarted daemon reproduces. A release is immutable, so the tree never
// changes after construction and is read without locks. Hostile metadata (".." or empty components, duplicate names, links that leave the
// release) is refused with one line naming the path.
#pragma once
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rookery/fs/release_source.hpp"

namespace rookery::fs {

using NodeId = std::uint32_t;

struct Node {
  enum class Kind : std::uint8_t { directory, file, symlink };
  std::string name;
  NodeId parent = 0;
  Kind kind = Kind::directory;
  bool executable = false;
  std::int64_t size = 0;
  std::time_t mtime = 0;
  int file_index = -1;          // ReleaseFile::index (files only)
  std::string link_target;      // relative target (symlinks only)
  std::vector<NodeId> children; // sorted by name (directories only)
};

class InodeTree {
 public:
  // `default_mtime` stands in for files whose metadata carries none, and for directories. Throws
  // UserError naming the path.
  static InodeTree from_files(const std::vector<ReleaseFile>& files, std::time_t default_mtime);

  const Node& node(NodeId id) const { return nodes_[id]; }
  std::size_t size() const { return nodes_.size(); }
  std::optional<NodeId> child(NodeId dir, std::string_view name) const;
  // Path of a node relative to the release root ("" for the root), for log lines.
  std::string path(NodeId id) const;

 private:
  NodeId add_child(NodeId dir, std::string name, Node::Kind kind);
  std::vector<Node> nodes_;
};

}  // namespace rookery::fs
