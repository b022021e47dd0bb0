#include <gtest/gtest.h>

#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

#include "rookery/catalog/torrent_check.hpp"
#include "rookery/common/error.hpp"

using namespace rookery;

namespace {

// A v1 multi-file torrent whose file paths are given element by element; a file named "link" is a
// symlink to `symlink` when one is given.
std::string torrent_with(const std::vector<std::vector<std::string>>& paths, const std::string& name = "1.0",
                         std::vector<std::string> symlink = {}) {
  lt::entry info;
  info["name"] = name;
  info["piece length"] = 16384;
  info["pieces"] = std::string(20 * ((100 * paths.size() + 16383) / 16384), 'x');
  lt::entry::list_type files;
  for (const auto& path : paths) {
    lt::entry f;
    f["length"] = 100;
    lt::entry::list_type elements(path.begin(), path.end());
    f["path"] = elements;
    if (!symlink.empty() && path.back() == "link") {
      f["attr"] = "l";
      f["symlink path"] = lt::entry::list_type(symlink.begin(), symlink.end());
    }
    files.push_back(f);
  }
  info["files"] = files;
  lt::entry torrent;
  torrent["info"] = info;
  std::string out;
  lt::bencode(std::back_inserter(out), torrent);
  return out;
}

std::string rejection(const std::string& bytes, int max_files = catalog::kDefaultMaxFiles) {
  try {
    catalog::load_release_torrent(bytes, max_files);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TorrentCheck, AcceptsAnOrdinaryTorrent) {
  auto info = catalog::load_release_torrent(torrent_with({{"bin", "app"}, {"README"}}));
  EXPECT_EQ(info->num_files(), 2);
}

TEST(TorrentCheck, RejectsPathsThatClimbOutOrHideSeparators) {
  EXPECT_NE(rejection(torrent_with({{"..", "etc", "passwd"}})).find("unsafe path element '..'"), std::string::npos);
  EXPECT_NE(rejection(torrent_with({{"a/b"}})).find("unsafe path element"), std::string::npos);
  EXPECT_NE(rejection(torrent_with({{std::string("a\0b", 3)}})).find("unsafe path element"), std::string::npos);
  EXPECT_NE(rejection(torrent_with({{""}})).find("unsafe path element"), std::string::npos);
  EXPECT_NE(rejection(torrent_with({{"x"}}, "..")).find("unsafe name"), std::string::npos);
  EXPECT_NE(rejection(torrent_with({{"x"}}, "/etc")).find("unsafe name"), std::string::npos);
}

TEST(TorrentCheck, RejectsSymlinksLeavingTheRelease) {
  EXPECT_EQ(rejection(torrent_with({{"data"}, {"link"}}, "1.0", {"bin", "app"})), "");
  EXPECT_EQ(rejection(torrent_with({{"data"}, {"sub", "link"}}, "1.0", {"..", "bin", "app"})), "");
  EXPECT_NE(rejection(torrent_with({{"data"}, {"sub", "link"}}, "1.0", {"..", "..", "x"})).find("points outside"),
            std::string::npos);
  EXPECT_NE(rejection(torrent_with({{"data"}, {"link"}}, "1.0", {"..", "..", "etc"})).find("points outside"), std::string::npos);
}

TEST(TorrentCheck, RejectsTooManyFiles) {
  std::vector<std::vector<std::string>> many;
  for (int i = 0; i < 11; ++i) many.push_back({"f" + std::to_string(i)});
  EXPECT_NE(rejection(torrent_with(many), 10).find("more than 10 files"), std::string::npos);
  EXPECT_EQ(rejection(torrent_with(many), 11), "");
}

TEST(TorrentCheck, RejectsTruncatedAndRandomBytes) {
  auto good = torrent_with({{"a"}});
  EXPECT_NE(rejection(good.substr(0, good.size() / 2)).find("malformed"), std::string::npos);
  EXPECT_NE(rejection(std::string(5000, '\x7f')).find("malformed"), std::string::npos);
  EXPECT_NE(rejection("").find("malformed"), std::string::npos);
}
