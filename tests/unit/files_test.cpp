// rewrite_snapshot_file: exact contents, two inodes reused for ever, a reader's open copy left whole.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "test_support.hpp"

using namespace rookery;

namespace {

ino_t inode_of(const std::filesystem::path& path) {
  struct stat st{};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

}  // namespace

TEST(RewriteSnapshotFile, HoldsExactlyTheLastContentsWithItsMode) {
  test::TempDir dir;
  auto path = dir.path() / "status.json";
  rewrite_snapshot_file(path, "a longer first version\n", 0600);
  rewrite_snapshot_file(path, "second\n", 0600);
  EXPECT_EQ(read_file(path), "second\n");  // the twin held the longer text: it was cut to size
  rewrite_snapshot_file(path, "third, longest of the three\n", 0600);
  EXPECT_EQ(read_file(path), "third, longest of the three\n");
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// The point of the mechanism: rewrites allocate no inode. A temporary + rename would give each
// rewrite a new one (write_file_atomically does: the control below).
TEST(RewriteSnapshotFile, ReusesTwoInodes) {
  test::TempDir dir;
  auto path = dir.path() / "metrics.prom";
  rewrite_snapshot_file(path, "1\n");
  rewrite_snapshot_file(path, "2\n");
  ino_t second = inode_of(path);
  rewrite_snapshot_file(path, "3\n");
  ino_t third = inode_of(path);
  rewrite_snapshot_file(path, "4\n");
  EXPECT_NE(second, third);
  EXPECT_EQ(inode_of(path), second);
  rewrite_snapshot_file(path, "5\n");
  EXPECT_EQ(inode_of(path), third);

  write_file_atomically(path, "6\n", 0644, Durability::snapshot);
  EXPECT_NE(inode_of(path), second);
  EXPECT_NE(inode_of(path), third);
}

TEST(RewriteSnapshotFile, AReaderKeepsTheCopyItOpened) {
  test::TempDir dir;
  auto path = dir.path() / "status.json";
  rewrite_snapshot_file(path, "old contents\n");
  FileDescriptor reader(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(reader.valid());
  rewrite_snapshot_file(path, "new\n");
  char buf[64] = {};
  ASSERT_EQ(::pread(reader.get(), buf, sizeof buf, 0), 13);
  EXPECT_EQ(std::string(buf, 13), "old contents\n");
  EXPECT_EQ(read_file(path), "new\n");
}

TEST(RewriteSnapshotFile, AMissingDirectoryIsOneClearError) {
  test::TempDir dir;
  auto path = dir.path() / "gone" / "status.json";
  try {
    rewrite_snapshot_file(path, "x");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("gone/.status.json.next"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}
