#include <gtest/gtest.h>

#include <libtorrent/torrent_info.hpp>

#include "rookery/catalog/catalog.hpp"
#include "rookery/catalog/publisher.hpp"
#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "test_support.hpp"

using namespace rookery;

namespace {
catalog::PublishOptions options(const test::TempDir& src, const test::TempDir& repo, std::string version) {
  catalog::PublishOptions o;
  o.source = src.path();
  o.repo = repo.path();
  o.version = std::move(version);
  o.piece_size = 16384;
  o.trackers = {"http://127.0.0.1:1/announce"};
  return o;
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
  auto record = catalog::publish(options(src, repo, "1.4.2"));

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
  auto record = catalog::publish(o);

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

TEST(Publisher, RejectsEmptyTreeAndBadPieceSize) {
  test::TempDir src, repo;
  EXPECT_NE(error_of(options(src, repo, "3.0")).find("nothing to publish"), std::string::npos);
  test::write_text(src.path() / "a.txt", "a");
  auto o = options(src, repo, "3.0");
  o.piece_size = 10000;
  EXPECT_NE(error_of(o).find("invalid piece size"), std::string::npos);
}

TEST(Publisher, AutoPieceSizeIs256KiBUpTo8192PiecesThenGrows) {
  EXPECT_EQ(catalog::auto_piece_size(1), 256 << 10);
  EXPECT_EQ(catalog::auto_piece_size(std::int64_t{2} << 30), 256 << 10);         // exactly 8192 pieces
  EXPECT_EQ(catalog::auto_piece_size((std::int64_t{2} << 30) + 1), 512 << 10);
  EXPECT_EQ(catalog::auto_piece_size(std::int64_t{20} << 30), 4 << 20);
  EXPECT_EQ(catalog::auto_piece_size(std::int64_t{1} << 50), 64 << 20);           // capped
}
