// The hot set: its JSON format, what publish puts into the torrent (checked against the release),
// what a host reads back from the torrent, and the trace side: pieces back to file ranges.
#include "rookery/catalog/hot_set.hpp"

#include <gtest/gtest.h>

#include "rookery/catalog/publisher.hpp"
#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/swarm/manifest.hpp"
#include "rookery/swarm/piece_map.hpp"
#include "test_support.hpp"

using namespace rookery;
using catalog::HotRange;

namespace {

bool operator==(const HotRange& a, const HotRange& b) {
  return a.path == b.path && a.offset == b.offset && a.length == b.length;
}

std::string parse_error(const std::string& text) {
  try {
    catalog::parse_hot_set(text, "hot.json");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

// Publishes the sample tree (16 KiB pieces) with `hot` as its hot set file.
catalog::Published publish_with(const test::TempDir& src, const test::TempDir& repo, const std::string& hot) {
  test::make_sample_tree(src.path());
  test::write_text(repo.path() / "hot.json", hot);
  auto o = test::publish_options(src.path(), repo.path(), "1.0");
  o.hot_set = repo.path() / "hot.json";
  return catalog::publish(o);
}

}  // namespace

TEST(HotSet, ParsesRangesWithDefaults) {
  auto ranges = catalog::parse_hot_set(
      R"({"ranges": [{"path": "bin/app"}, {"path": "lib/deep/data.bin", "offset": 65536, "length": 4096}]})", "x");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_TRUE((ranges[0] == HotRange{"bin/app", 0, -1}));
  EXPECT_TRUE((ranges[1] == HotRange{"lib/deep/data.bin", 65536, 4096}));
  // What trace prints, publish reads back unchanged.
  EXPECT_EQ(catalog::parse_hot_set(catalog::hot_set_to_json(ranges).dump(), "x").size(), 2u);
}

TEST(HotSet, RefusesMalformedFilesInOneLine) {
  EXPECT_NE(parse_error("not json").find("hot set hot.json: not a JSON object"), std::string::npos);
  EXPECT_NE(parse_error(R"({"ranges": [{"offset": 1}]})").find("range 1 has no path"), std::string::npos);
  EXPECT_NE(parse_error(R"({"ranges": [{"path": "/etc/passwd"}]})").find("relative"), std::string::npos);
  EXPECT_NE(parse_error(R"({"ranges": [{"path": "a", "offset": -1}]})").find("offset >= 0"), std::string::npos);
  EXPECT_NE(parse_error(R"({"ranges": [{"path": "a", "length": 0}]})").find("length > 0"), std::string::npos);
  EXPECT_NE(parse_error(R"({"ranges": [{"path": "a"}, {"path": "b", "offset": "7"}]})").find("range 2: offset is not an integer"),
            std::string::npos);
}

TEST(HotSet, PublishCarriesTheCheckedRangesInTheInfoDictionary) {
  test::TempDir src, repo;
  auto published = publish_with(src, repo, R"({"ranges": [
      {"path": "lib/deep/data.bin", "offset": 290000, "length": 50000},
      {"path": "bin/app"},
      {"path": "gone/file"}, {"path": "lib/app-link"}, {"path": "../outside"},
      {"path": "empty.txt"}]})");
  EXPECT_EQ(published.hot_ranges, 2u);
  EXPECT_EQ(published.hot_ranges_skipped, 3u);        // missing, a symlink, climbing out
  EXPECT_EQ(published.hot_bytes, 10000 + 21);  // cut at data.bin's end; app is 21 bytes; empty.txt has none

  lt::torrent_info info((repo.path() / "torrents" / "1.0.torrent").string());
  auto hot = catalog::hot_set_of(info);
  ASSERT_EQ(hot.size(), 2u);
  EXPECT_TRUE((hot[0] == HotRange{"lib/deep/data.bin", 290000, 10000}));
  EXPECT_TRUE((hot[1] == HotRange{"bin/app", 0, 21}));
  // The key is inside the info dictionary: the info-hash (and so a signature) covers it.
  test::TempDir plain_src, plain_repo;
  auto plain = publish_with(plain_src, plain_repo, R"({"ranges": []})");
  EXPECT_NE(plain.record.infohash_v1, published.record.infohash_v1);
  EXPECT_TRUE(catalog::hot_set_of(lt::torrent_info((plain_repo.path() / "torrents" / "1.0.torrent").string())).empty());
}

TEST(HotSet, PublishRefusesAMissingHotSetFileBeforeCopyingAnything) {
  test::TempDir src, repo;
  test::make_sample_tree(src.path());
  catalog::PublishOptions o;
  o.source = src.path();
  o.repo = repo.path();
  o.version = "1.0";
  o.hot_set = repo.path() / "nope.json";
  EXPECT_THROW(catalog::publish(o), UserError);
  EXPECT_FALSE(std::filesystem::exists(repo.path() / "data" / "1.0"));
}

TEST(HotSet, PiecesBackToFileRangesInFirstReadOrder) {
  test::TempDir src, repo;
  auto published = publish_with(src, repo, R"({"ranges": []})");
  lt::torrent_info info((repo.path() / "torrents" / "1.0.torrent").string());
  const auto& files = info.files();
  int data = -1, app = -1;
  for (const auto& f : swarm::release_files(files)) {
    if (f.path == "lib/deep/data.bin") data = f.index;
    if (f.path == "bin/app") app = f.index;
  }
  ASSERT_GE(data, 0);
  ASSERT_GE(app, 0);
  auto data_pieces = swarm::pieces_for(files, lt::file_index_t(data), 0, 300000);  // 19 pieces of 16 KiB
  auto app_piece = swarm::pieces_for(files, lt::file_index_t(app), 0, 21).first;
  int d0 = data_pieces.first;
  // Read order: data.bin's pieces 2 and 3, app, then data.bin's last piece and piece 4.
  auto ranges = swarm::file_ranges_of(files, {d0 + 2, d0 + 3, app_piece, data_pieces.last, d0 + 4});
  std::vector<swarm::FileRange> want{{data, 2 * 16384, 2 * 16384},
                                     {app, 0, 21},
                                     {data, 18 * 16384, 300000 - 18 * 16384},  // the tail, no pad bytes
                                     {data, 4 * 16384, 16384}};
  EXPECT_EQ(ranges, want);
}
