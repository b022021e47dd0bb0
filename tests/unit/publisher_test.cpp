#include <gtest/gtest.h>

#include <libtorrent/hex.hpp>
#include <libtorrent/torrent_info.hpp>
#include <sys/stat.h>

#include "rookery/catalog/catalog.hpp"
#include "rookery/catalog/publisher.hpp"
#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "test_support.hpp"

using namespace rookery;

namespace {
catalog::PublishOptions options(const test::TempDir& src, const test::TempDir& repo, const std::string& version) {
  return test::publish_options(src.path(), repo.path(), version);
}

std::string error_of(const catalog::PublishOptions& o) {
  try {
    catalog::publish(o);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Publisher, WritesTorrentIndexWhitelistAndData) {
  test::TempDir src, repo;
  test::make_sample_tree(src.path());
  auto record = catalog::publish(options(src, repo, "1.4.2")).record;

  lt::torrent_info info((repo.path() / "torrents" / "1.4.2.torrent").string());
  EXPECT_TRUE(info.priv());
  EXPECT_TRUE(info.info_hashes().has_v1());
  EXPECT_TRUE(info.info_hashes().has_v2());  // hybrid
  EXPECT_EQ(info.trackers().at(0).url, "http://127.0.0.1:1/announce");
  EXPECT_EQ(record.total_size, info.total_size());
  EXPECT_EQ(record.files, 5);

  auto index = catalog::Catalog("file://" + repo.path().string()).index(std::chrono::milliseconds(0));
  ASSERT_EQ(index.releases.size(), 1u);
  EXPECT_EQ(index.releases[0].infohash_v1, record.infohash_v1);
  EXPECT_EQ(read_file(repo.path() / "tracker" / "whitelist"),
            record.infohash_v1 + "\n" + record.infohash_v2.substr(0, 40) + "\n");
  EXPECT_EQ(read_file(repo.path() / "data" / "1.4.2" / "lib" / "deep" / "data.bin"), test::pattern_bytes(300000, 7));
  EXPECT_TRUE(std::filesystem::is_symlink(repo.path() / "data" / "1.4.2" / "lib" / "app-link"));
}

TEST(Publisher, V1FormatIsSha1OnlyAndKeepsFilesPieceAligned) {
  test::TempDir src, repo;
  test::make_sample_tree(src.path());
  auto o = options(src, repo, "1.0");
  o.format = catalog::TorrentFormat::v1;
  auto record = catalog::publish(o).record;

  lt::torrent_info info((repo.path() / "torrents" / "1.0.torrent").string());
  EXPECT_TRUE(info.info_hashes().has_v1());
  EXPECT_FALSE(info.info_hashes().has_v2());
  EXPECT_TRUE(record.infohash_v2.empty());
  EXPECT_EQ(read_file(repo.path() / "tracker" / "whitelist"), record.infohash_v1 + "\n");
  EXPECT_EQ(record.files, 5);
  const auto& files = info.files();
  int checked = 0;
  for (auto f : files.file_range()) {
    if (files.file_flags(f) & (lt::file_storage::flag_pad_file | lt::file_storage::flag_symlink)) continue;
    if (files.file_size(f) == 0) continue;
    EXPECT_EQ(files.file_offset(f) % info.piece_length(), 0) << files.file_path(f);
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(Publisher, ReleasesAreImmutable) {
  test::TempDir src, repo;
  test::make_sample_tree(src.path());
  catalog::publish(options(src, repo, "1.0"));
  auto before = read_file(repo.path() / "torrents" / "1.0.torrent");
  test::write_text(src.path() / "README", "changed\n");
  EXPECT_NE(error_of(options(src, repo, "1.0")).find("already published"), std::string::npos);
  EXPECT_EQ(read_file(repo.path() / "torrents" / "1.0.torrent"), before);
  EXPECT_EQ(read_file(repo.path() / "data" / "1.0" / "README"), "read me\n");
  catalog::publish(options(src, repo, "1.1"));
  auto index = catalog::load_repository_index(repo.path());
  ASSERT_EQ(index.releases.size(), 2u);
  EXPECT_EQ(index.releases[1].version, "1.1");  // newest last
}

TEST(Publisher, RejectsInvalidVersionNames) {
  test::TempDir src, repo;
  test::make_sample_tree(src.path());
  for (const char* bad : {"..", "a/b", "", "1 0"})
    EXPECT_NE(error_of(options(src, repo, bad)).find("invalid version name"), std::string::npos) << bad;
  EXPECT_FALSE(std::filesystem::exists(repo.path() / "index.json"));
}

TEST(Publisher, RejectsSymlinkLeavingTheReleaseAndLeavesNothingBehind) {
  test::TempDir src, repo;
  test::write_text(src.path() / "a.txt", "a");
  std::filesystem::create_symlink("/etc/passwd", src.path() / "escape");
  EXPECT_NE(error_of(options(src, repo, "2.0")).find("points outside the release"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(repo.path() / "data" / "2.0"));
  EXPECT_TRUE(std::filesystem::is_empty(repo.path() / "data"));
  EXPECT_FALSE(std::filesystem::exists(repo.path() / "torrents" / "2.0.torrent"));
}

// A write that fails after the data was copied (here the torrent's: its name is taken by a
// directory) takes the release back: nothing listed, nothing left, and the version can be
// published once the cause is gone, instead of "already published" for good.
TEST(Publisher, AFailureAfterTheCopyLeavesNothingAndCanBeRetried) {
  test::TempDir src, repo;
  test::write_text(src.path() / "a.txt", "a");
  std::filesystem::create_directories(repo.path() / "torrents" / "2.0.torrent" / "in-the-way");
  EXPECT_NE(error_of(options(src, repo, "2.0")), "");
  EXPECT_FALSE(std::filesystem::exists(repo.path() / "data" / "2.0"));
  EXPECT_TRUE(catalog::load_repository_index(repo.path()).releases.empty());
  std::filesystem::remove_all(repo.path() / "torrents" / "2.0.torrent");
  EXPECT_EQ(error_of(options(src, repo, "2.0")), "");
  EXPECT_EQ(catalog::load_repository_index(repo.path()).releases.size(), 1u);
}

TEST(Publisher, RejectsEmptyTreeAndBadPieceSize) {
  test::TempDir src, repo;
  EXPECT_NE(error_of(options(src, repo, "3.0")).find("nothing to publish"), std::string::npos);
  test::write_text(src.path() / "a.txt", "a");
  auto o = options(src, repo, "3.0");
  o.piece_size = 10000;
  EXPECT_NE(error_of(o).find("invalid piece size"), std::string::npos);
}

TEST(Publisher, AutoPieceSizeGivesAtLeast256PiecesThenAtMost8192) {
  EXPECT_EQ(catalog::auto_piece_size(1), 64 << 10);
  EXPECT_EQ(catalog::auto_piece_size((std::int64_t{32} << 20) - 1), 64 << 10);   // under 256 pieces' worth of 128 KiB
  EXPECT_EQ(catalog::auto_piece_size(std::int64_t{32} << 20), 128 << 10);        // exactly 256 pieces
  EXPECT_EQ(catalog::auto_piece_size(std::int64_t{1} << 30), 128 << 10);         // exactly 8192 pieces
  EXPECT_EQ(catalog::auto_piece_size((std::int64_t{1} << 30) + 1), 256 << 10);
  EXPECT_EQ(catalog::auto_piece_size((std::int64_t{2} << 30) + 1), 512 << 10);
  EXPECT_EQ(catalog::auto_piece_size(std::int64_t{20} << 30), 4 << 20);
  EXPECT_EQ(catalog::auto_piece_size(std::int64_t{1} << 50), 64 << 20);           // capped
}

namespace {
struct stat stat_of(const std::filesystem::path& p) {
  struct stat st {};
  ::lstat(p.c_str(), &st);
  return st;
}

// The v2 merkle root of the file at `path` inside the release's torrent.
std::string root_of(const std::filesystem::path& repo, const std::string& version, const std::string& path) {
  lt::torrent_info info((repo / "torrents" / (version + ".torrent")).string());
  for (auto i : info.files().file_range())
    if (info.files().file_path(i) == version + "/" + path) return lt::aux::to_hex(info.files().root(i));
  return "";
}
}  // namespace

// The next release shares most of its content with the last: the repository links what it has
// (also renamed and moved files) and stores only what changed.
TEST(Publisher, StoresContentItHasOnceAndSaysWhatIsNew) {
  test::TempDir a_src, b_src, repo;
  namespace fs = std::filesystem;
  fs::create_directories(a_src.path() / "lib");
  fs::create_directories(a_src.path() / "bin");
  write_file_atomically(a_src.path() / "assets.bin", test::pattern_bytes(200000, 1), 0644, Durability::snapshot);
  write_file_atomically(a_src.path() / "lib" / "old.so", test::pattern_bytes(50000, 2), 0644, Durability::snapshot);
  write_file_atomically(a_src.path() / "bin" / "app", test::pattern_bytes(30000, 3), 0755, Durability::snapshot);
  write_file_atomically(a_src.path() / "tool", test::pattern_bytes(10000, 4), 0644, Durability::snapshot);
  auto a = catalog::publish(options(a_src, repo, "1.0"));
  EXPECT_EQ(a.stored_bytes, 290000);
  EXPECT_EQ(a.linked_bytes, 0);
  EXPECT_EQ(a.previous, "");
  auto a_assets_mtime = stat_of(repo.path() / "data" / "1.0" / "assets.bin").st_mtim.tv_sec;

  fs::create_directories(b_src.path() / "lib2");
  fs::create_directories(b_src.path() / "bin");
  write_file_atomically(b_src.path() / "assets.bin", test::pattern_bytes(200000, 1), 0644, Durability::snapshot);  // unchanged
  write_file_atomically(b_src.path() / "lib2" / "new-name.so", test::pattern_bytes(50000, 2), 0644, Durability::snapshot);  // moved
  write_file_atomically(b_src.path() / "bin" / "app", test::pattern_bytes(30000, 5), 0755, Durability::snapshot);  // changed
  write_file_atomically(b_src.path() / "tool", test::pattern_bytes(10000, 4), 0755, Durability::snapshot);  // now executable
  write_file_atomically(b_src.path() / "added", test::pattern_bytes(7000, 6), 0644, Durability::snapshot);
  auto b = catalog::publish(options(b_src, repo, "1.1"));
  EXPECT_EQ(b.linked_bytes, 250000);
  EXPECT_EQ(b.stored_bytes, 30000 + 10000 + 7000);
  EXPECT_EQ(b.previous, "1.0");
  EXPECT_EQ(b.new_vs_previous_bytes, 47000);

  auto data = repo.path() / "data";
  EXPECT_EQ(stat_of(data / "1.0" / "assets.bin").st_ino, stat_of(data / "1.1" / "assets.bin").st_ino);
  EXPECT_EQ(stat_of(data / "1.0" / "lib" / "old.so").st_ino, stat_of(data / "1.1" / "lib2" / "new-name.so").st_ino);
  EXPECT_NE(stat_of(data / "1.0" / "tool").st_ino, stat_of(data / "1.1" / "tool").st_ino) << "the executable bit differs";
  EXPECT_EQ(stat_of(data / "1.1" / "tool").st_mode & 0777, 0755u);
  EXPECT_EQ(stat_of(data / "1.0" / "assets.bin").st_mtim.tv_sec, a_assets_mtime) << "1.0's files are never touched";
  EXPECT_EQ(read_file(data / "1.1" / "lib2" / "new-name.so"), test::pattern_bytes(50000, 2));
  // The same bytes, so the same BEP 52 root: what hosts deduplicate by.
  EXPECT_EQ(root_of(repo.path(), "1.0", "lib/old.so"), root_of(repo.path(), "1.1", "lib2/new-name.so"));
}

// A repository published before the pool existed is indexed on first use: its content is shared too.
TEST(Publisher, IndexesReleasesPublishedBeforeThePool) {
  test::TempDir src, repo;
  write_file_atomically(src.path() / "big.bin", test::pattern_bytes(100000, 9), 0644, Durability::snapshot);
  catalog::publish(options(src, repo, "1.0"));
  std::filesystem::remove_all(repo.path() / ".content");
  auto b = catalog::publish(options(src, repo, "1.1"));
  EXPECT_EQ(b.linked_bytes, 100000);
  EXPECT_EQ(stat_of(repo.path() / "data" / "1.0" / "big.bin").st_ino, stat_of(repo.path() / "data" / "1.1" / "big.bin").st_ino);
}
