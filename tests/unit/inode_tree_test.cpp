#include <gtest/gtest.h>
#include <sys/stat.h>

#include <libtorrent/torrent_info.hpp>

#include "rookery/catalog/publisher.hpp"
#include "rookery/common/error.hpp"
#include "rookery/fs/inode_tree.hpp"
#include "rookery/swarm/manifest.hpp"
#include "test_support.hpp"

using namespace rookery;
using fs::InodeTree;
using fs::Node;

namespace {

InodeTree tree_of(const std::filesystem::path& torrent) {
  lt::torrent_info info(torrent.string());
  return InodeTree::from_files(swarm::release_files(info.files()), 42);
}

const Node& at(const InodeTree& tree, std::initializer_list<const char*> path) {
  fs::NodeId id = 0;
  for (const char* part : path) {
    auto next = tree.child(id, part);
    EXPECT_TRUE(next.has_value()) << "missing " << part;
    if (!next) throw std::runtime_error("missing path component");
    id = *next;
  }
  return tree.node(id);
}

class InodeTreeFromPublished : public ::testing::Test {
 protected:
  void SetUp() override {
    test::make_sample_tree(src.path());
    ::utimensat(AT_FDCWD, (src.path() / "README").c_str(), nullptr, 0);
    struct timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
    ::utimensat(AT_FDCWD, (src.path() / "README").c_str(), times, 0);
    catalog::PublishOptions o;
    o.source = src.path();
    o.repo = repo.path();
    o.version = "1.0";
    o.piece_size = 16384;
    catalog::publish(o);
  }
  test::TempDir src, repo;
};

}  // namespace

TEST_F(InodeTreeFromPublished, ShowsNestedDirectoriesFilesAndSizes) {
  auto tree = tree_of(repo.path() / "torrents" / "1.0.torrent");
  const Node& root = tree.node(0);
  ASSERT_EQ(root.kind, Node::Kind::directory);
  std::vector<std::string> names;
  for (auto c : root.children) names.push_back(tree.node(c).name);
  EXPECT_EQ(names, (std::vector<std::string>{"README", "bin", "empty.txt", "lib"}));  // sorted, no pad files
  EXPECT_EQ(at(tree, {"lib", "deep", "data.bin"}).size, 300000);
  EXPECT_EQ(at(tree, {"lib", "deep"}).kind, Node::Kind::directory);
  EXPECT_EQ(tree.path(*tree.child(*tree.child(0, "lib"), "deep")), "lib/deep");
}

TEST_F(InodeTreeFromPublished, KeepsEmptyFilesExecutablesAndMtimes) {
  auto tree = tree_of(repo.path() / "torrents" / "1.0.torrent");
  const Node& empty = at(tree, {"empty.txt"});
  EXPECT_EQ(empty.kind, Node::Kind::file);
  EXPECT_EQ(empty.size, 0);
  EXPECT_TRUE(at(tree, {"bin", "app"}).executable);
  EXPECT_FALSE(at(tree, {"README"}).executable);
  EXPECT_EQ(at(tree, {"README"}).mtime, 1700000000);
}

TEST_F(InodeTreeFromPublished, SymlinkTargetIsRelativeToTheLink) {
  auto tree = tree_of(repo.path() / "torrents" / "1.0.torrent");
  const Node& link = at(tree, {"lib", "app-link"});
  EXPECT_EQ(link.kind, Node::Kind::symlink);
  EXPECT_EQ(link.link_target, "../bin/app");
}

TEST(InodeTree, RejectsDuplicatePaths) {
  lt::file_storage files;
  files.set_piece_length(16384);
  files.add_file("r/a", 10);
  files.add_file("r/a", 10);
  files.set_num_pieces(1);
  EXPECT_THROW(InodeTree::from_files(swarm::release_files(files), 0), UserError);
}

TEST(InodeTree, SingleFileTorrentSitsUnderTheReleaseRoot) {
  lt::file_storage files;
  files.set_piece_length(16384);
  files.add_file("only.bin", 100);
  files.set_num_pieces(1);
  auto tree = InodeTree::from_files(swarm::release_files(files), 0);
  ASSERT_TRUE(tree.child(0, "only.bin").has_value());
  EXPECT_EQ(tree.node(*tree.child(0, "only.bin")).size, 100);
}
