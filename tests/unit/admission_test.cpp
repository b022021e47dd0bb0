#include <gtest/gtest.h>

#include "rookery/catalog/admission.hpp"
#include "rookery/catalog/publisher.hpp"
#include "rookery/catalog/signature.hpp"
#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "test_support.hpp"

using namespace rookery;

namespace {
// A repository under a file:// catalog, an empty cache, and an admission that takes no held index
// as fresh (max age 0), so that any use of the held index is the rule under test, not its age.
struct Fixture {
  test::TempDir src, repo, cache_root;
  store::CacheDir cache{cache_root.path()};
  catalog::Catalog catalog{"file://" + repo.path().string()};
  catalog::Admission admission{catalog, cache, {.catalog_max_age = std::chrono::milliseconds(0)}};

  Fixture() { test::make_sample_tree(src.path()); }
  void publish(const std::string& version) { catalog::publish(test::publish_options(src.path(), repo.path(), version)); }
};
}  // namespace

TEST(Admission, AVersionTheHeldIndexListsNeedsNoFreshIndex) {
  Fixture f;
  f.publish("1.0");
  ASSERT_EQ(f.admission.versions(), std::vector<std::string>{"1.0"});  // now held
  // An index that lists nothing: a fresh fetch would say 1.0 is not published.
  write_file_atomically(f.repo.path() / "index.json", R"({"format": 1, "releases": []})", 0644);
  auto info = f.admission.admit("1.0");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->num_files(), lt::torrent_info((f.repo.path() / "torrents" / "1.0.torrent").string()).num_files());
  EXPECT_TRUE(std::filesystem::exists(f.cache.torrent_path("1.0")));
}

TEST(Admission, AVersionPublishedAfterTheHeldIndexIsFound) {
  Fixture f;
  f.publish("1.0");
  ASSERT_EQ(f.admission.versions(), std::vector<std::string>{"1.0"});
  f.publish("2.0");
  EXPECT_NE(f.admission.admit("2.0"), nullptr);
  EXPECT_TRUE(std::filesystem::exists(f.cache.torrent_path("2.0")));
}

TEST(Admission, AnUnknownVersionIsNoneAndNothingIsKept) {
  Fixture f;
  f.publish("1.0");
  EXPECT_EQ(f.admission.admit("9.9"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(f.cache.release_dir("9.9")));
}

TEST(Admission, ATorrentThatDoesNotMatchTheIndexIsRefusedOnBothPaths) {
  for (bool held : {false, true}) {
    Fixture f;
    f.publish("1.0");
    f.publish("2.0");
    if (held) f.admission.versions();
    std::filesystem::copy_file(f.repo.path() / "torrents" / "1.0.torrent", f.repo.path() / "torrents" / "2.0.torrent",
                               std::filesystem::copy_options::overwrite_existing);
    try {
      f.admission.admit("2.0");
      ADD_FAILURE() << "admitted a torrent the index does not name (held index: " << held << ")";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("does not match the catalog's info-hash"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(f.cache.torrent_path("2.0")));
  }
}

// A host that ran without --trust kept torrents and no signatures; once it trusts a key, a cached
// release is admitted with the catalog's signature, fetched then (and kept), not refused for good.
TEST(Admission, ATorrentCachedBeforeTrustGetsItsSignatureFetched) {
  Fixture f;
  auto key = f.cache_root.path() / "signing.key";
  catalog::generate_signing_key(key, key.string() + ".pub");
  auto options = test::publish_options(f.src.path(), f.repo.path(), "1.0");
  options.signing_key = key;
  catalog::publish(options);
  ASSERT_NE(f.admission.admit("1.0"), nullptr);  // untrusting: no signature kept
  ASSERT_FALSE(std::filesystem::exists(f.cache.signature_path("1.0")));
  catalog::Admission trusting{f.catalog, f.cache, {.trusted_key = key.string() + ".pub"}};
  EXPECT_NE(trusting.admit("1.0"), nullptr);
  EXPECT_TRUE(std::filesystem::exists(f.cache.signature_path("1.0")));
  std::filesystem::remove(f.repo.path() / "torrents" / "1.0.torrent.sig");
  std::filesystem::remove(f.cache.signature_path("1.0"));
  EXPECT_THROW(trusting.admit("1.0"), NotTrusted);  // and none to fetch: refused
}
