#include "rookery/fs/inode_tree.hpp"

#include <algorithm>
#include <map>

#include "rookery/common/error.hpp"

namespace rookery::fs {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : path) {
    if (c == '/') {
      parts.push_back(std::move(part));
      part.clear();
    } else {
      part += c;
    }
  }
  parts.push_back(std::move(part));
  return parts;
}

bool valid_component(const std::string& c) {
  return !c.empty() && c != "." && c != ".." && c.find('\0') == std::string::npos;
}

// Metadata gives a symlink's target as a path from the release's root ("a/b"). The mount shows it
// relative to the link's own directory, so it resolves inside the release no matter where the
// mount is.
std::string relative_target(const std::vector<std::string>& link_dir, const std::vector<std::string>& target) {
  std::size_t common = 0;
  while (common < link_dir.size() && common < target.size() && link_dir[common] == target[common]) ++common;
  std::string out;
  for (std::size_t i = common; i < link_dir.size(); ++i) out += "../";
  for (std::size_t i = common; i < target.size(); ++i) out += target[i] + (i + 1 < target.size() ? "/" : "");
  if (out.empty()) out = ".";
  if (out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

NodeId InodeTree::add_child(NodeId dir, std::string name, Node::Kind kind) {
  Node n;
  n.name = std::move(name);
  n.parent = dir;
  n.kind = kind;
  nodes_.push_back(std::move(n));
  auto id = static_cast<NodeId>(nodes_.size() - 1);
  nodes_[dir].children.push_back(id);
  return id;
}

InodeTree InodeTree::from_files(const std::vector<ReleaseFile>& files, std::time_t default_mtime) {
  InodeTree tree;
  Node root;
  root.mtime = default_mtime;
  tree.nodes_.push_back(root);
  std::map<std::pair<NodeId, std::string>, NodeId> index;

  for (const auto& f : files) {
    auto parts = split_path(f.path);
    if (!std::all_of(parts.begin(), parts.end(), valid_component)) {
      throw UserError("torrent path '" + f.path + "' is not a safe relative path");
    }
    NodeId dir = 0;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      auto key = std::make_pair(dir, parts[i]);
      auto it = index.find(key);
      if (it == index.end()) {
        NodeId id = tree.add_child(dir, parts[i], Node::Kind::directory);
        tree.nodes_[id].mtime = default_mtime;
        it = index.emplace(key, id).first;
      } else if (tree.nodes_[it->second].kind != Node::Kind::directory) {
        throw UserError("torrent path '" + f.path + "' runs through a file");
      }
      dir = it->second;
    }
    auto key = std::make_pair(dir, parts.back());
    if (index.count(key)) throw UserError("torrent path '" + f.path + "' appears twice");
    NodeId id = tree.add_child(dir, parts.back(), f.symlink ? Node::Kind::symlink : Node::Kind::file);
    index.emplace(key, id);
    Node& n = tree.nodes_[id];
    n.file_index = f.index;
    n.executable = f.executable;
    n.mtime = f.mtime ? f.mtime : default_mtime;
    if (f.symlink) {
      // An empty target is the release's root directory itself.
      auto target = f.link_target.empty() ? std::vector<std::string>{} : split_path(f.link_target);
      if (!std::all_of(target.begin(), target.end(), valid_component)) {
        throw UserError("symlink '" + f.path + "' points outside the release");
      }
      n.link_target = relative_target(std::vector<std::string>(parts.begin(), parts.end() - 1), target);
      n.size = static_cast<std::int64_t>(n.link_target.size());
    } else {
      n.size = f.size;
    }
  }
  for (auto& n : tree.nodes_) {
    std::sort(n.children.begin(), n.children.end(),
              [&](NodeId a, NodeId b) { return tree.nodes_[a].name < tree.nodes_[b].name; });
  }
  return tree;
}

std::optional<NodeId> InodeTree::child(NodeId dir, std::string_view name) const {
  const auto& kids = nodes_[dir].children;
  auto it = std::lower_bound(kids.begin(), kids.end(), name,
                             [&](NodeId id, std::string_view n) { return nodes_[id].name < n; });
  if (it == kids.end() || nodes_[*it].name != name) return std::nullopt;
  return *it;
}

std::string InodeTree::path(NodeId id) const {
  std::string out;
  while (id != 0) {
    out = nodes_[id].name + (out.empty() ? "" : "/" + out);
    id = nodes_[id].parent;
  }
  return out;
}

}  // namespace rookery::fs
