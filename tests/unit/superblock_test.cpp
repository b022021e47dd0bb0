#include <gtest/gtest.h>

#include "rookery/common/error.hpp"
#include "rookery/fs/superblock.hpp"
#include "test_support.hpp"

using namespace rookery;
using fs::Superblock;

TEST(Superblock, IdsAreAssignedInOrderAndKeptAcrossRestarts) {
  test::TempDir dir;
  auto path = dir.path() / "superblock";
  std::time_t first_seen;
  {
    Superblock sb(path, 1234);
    EXPECT_FALSE(sb.find("1.0"));
    EXPECT_EQ(sb.release("1.0").id, 1u);
    EXPECT_EQ(sb.release("2.0").id, 2u);
    EXPECT_EQ(sb.release("1.0").id, 1u);
    auto batch = sb.releases({"2.0", "3.0", "4.0"});
    ASSERT_EQ(batch.size(), 3u);
    EXPECT_EQ(batch[0].id, 2u);
    EXPECT_EQ(batch[1].id, 3u);
    EXPECT_EQ(batch[2].id, 4u);
    first_seen = sb.release("3.0").first_seen;
    EXPECT_EQ(sb.created(), 1234);
  }
  Superblock again(path, 9999);
  EXPECT_EQ(again.created(), 1234);  // the root's times do not move with restarts
  EXPECT_EQ(again.find("3.0")->id, 3u);
  EXPECT_EQ(again.find("3.0")->first_seen, first_seen);
  EXPECT_EQ(again.version_of(4), "4.0");
  EXPECT_FALSE(again.version_of(5));
  EXPECT_EQ(again.release("5.0").id, 5u);  // never reuses an id
}

TEST(Superblock, InodeNumbersCombineReleaseAndNode) {
  EXPECT_EQ(fs::make_ino(3, 7), (std::uint64_t{3} << 32) | 7);
  EXPECT_EQ(fs::release_of(fs::make_ino(3, 7)), 3u);
  EXPECT_EQ(fs::node_of(fs::make_ino(3, 7)), 7u);
  EXPECT_EQ(fs::release_of(fs::kRootIno), 0u);  // no release has id 0
}

TEST(Superblock, HandlesAreUniqueAndCarryTheProcessInstance) {
  Superblock a(""), b("");
  auto h1 = a.new_handle(), h2 = a.new_handle();
  EXPECT_NE(h1, h2);
  EXPECT_EQ(h1 >> 32, h2 >> 32);
  EXPECT_NE(h1 >> 32, 0u);
  EXPECT_NE(h1 >> 32, b.new_handle() >> 32);
}

TEST(Superblock, AFileItDidNotWriteIsRefused) {
  test::TempDir dir;
  auto path = dir.path() / "superblock";
  test::write_text(path, "something else\n");
  EXPECT_THROW(Superblock sb(path), UserError);
  test::write_text(path, "rookery-superblock 1\ncreated 5\nrelease 0 5 1.0\n");
  EXPECT_THROW(Superblock sb(path), UserError);
  test::write_text(path, "rookery-superblock 1\ncreated 5\nrelease 1 5 1.0\nrelease 1 5 2.0\n");
  EXPECT_THROW(Superblock sb(path), UserError);
  test::write_text(path, "rookery-superblock 1\ncreated 5\nrelease 1 5 1.0\nrelease x\n");
  EXPECT_THROW(Superblock sb(path), UserError);
  test::write_text(path, "rookery-superblock 1\ncreated 5\nrelease 1 5 1.0\nrelease 7 1700000000");  // truncated
  EXPECT_THROW(Superblock sb(path), UserError);
  test::write_text(path, "rookery-superblock 1\ncreated 5\nrelease 1 5 1.0 extra\n");
  EXPECT_THROW(Superblock sb(path), UserError);
  test::write_text(path, "rookery-superblock 1\ncreated 5\nrelease 1 5 1.0\n");
  EXPECT_EQ(Superblock(path).find("1.0")->id, 1u);
}

// An id the file does not hold is not handed out: a successor would give it to another version,
// and the kernel's cached inodes would then show that version's files.
TEST(Superblock, AnIdIsHandedOutOnlyOnceWritten) {
  test::TempDir dir;
  auto path = dir.path() / "not-yet" / "superblock";
  fs::Superblock superblock(path);
  EXPECT_THROW(superblock.release("1.0"), UserError);
  EXPECT_FALSE(superblock.find("1.0"));
  EXPECT_THROW(superblock.releases({"1.0", "2.0"}), UserError);
  EXPECT_FALSE(superblock.find("2.0"));
  std::filesystem::create_directory(dir.path() / "not-yet");
  EXPECT_EQ(superblock.release("2.0").id, 1u);
  fs::Superblock successor(path);
  ASSERT_TRUE(successor.find("2.0"));
  EXPECT_EQ(successor.find("2.0")->id, 1u);
}
