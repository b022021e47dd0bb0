// The catalog watch: which versions a round keeps ready, that a round admits them exactly as a
// lookup would (torrent in the cache, no swarm joined), and that a failing catalog or an unsigned
// release leaves nothing behind and is tried again, and what the status shows of each round.
#include "rookery/catalog/catalog_watch.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "rookery/catalog/admission.hpp"
#include "rookery/catalog/publisher.hpp"
#include "rookery/catalog/signature.hpp"
#include "rookery/common/files.hpp"
#include "test_support.hpp"

using namespace rookery;
using Versions = std::vector<std::string>;

namespace {

struct Fixture {
  test::TempDir src, repo, cache_root, keys;
  store::CacheDir cache{cache_root.path()};
  catalog::Catalog catalog{"file://" + repo.path().string()};

  Fixture() { test::make_sample_tree(src.path()); }
  void publish(const std::string& version, const std::filesystem::path& signing_key = {}) {
    auto o = test::publish_options(src.path(), repo.path(), version);
    o.signing_key = signing_key;
    catalog::publish(o);
  }
  // A watch that never runs on its own (interval 0): the test calls poll().
  static catalog::WatchOptions by_hand(int newest) { return {.interval = std::chrono::seconds(0), .newest = newest}; }
};

}  // namespace

TEST(CatalogWatch, KeepsTheNewestVersionsNotHeldYetNewestFirst) {
  auto none = [](const std::string&) { return false; };
  EXPECT_EQ(catalog::versions_to_prefetch({"1.0", "1.1", "1.2"}, 1, none), Versions{"1.2"});
  EXPECT_EQ(catalog::versions_to_prefetch({"1.0", "1.1", "1.2"}, 2, none), (Versions{"1.2", "1.1"}));
  EXPECT_EQ(catalog::versions_to_prefetch({"1.0", "1.1"}, 5, none), (Versions{"1.1", "1.0"}));
  EXPECT_EQ(catalog::versions_to_prefetch({}, 1, none), Versions{});
  // A held version still counts among the newest: the watch does not reach further back for it.
  auto held = [](const std::string& v) { return v == "1.2"; };
  EXPECT_EQ(catalog::versions_to_prefetch({"1.0", "1.1", "1.2"}, 1, held), Versions{});
  EXPECT_EQ(catalog::versions_to_prefetch({"1.0", "1.1", "1.2"}, 2, held), Versions{"1.1"});
}

TEST(CatalogWatch, ARoundAdmitsTheNewestReleaseWithoutJoiningIt) {
  Fixture f;
  catalog::Admission admission(f.catalog, f.cache, {.catalog_max_age = std::chrono::milliseconds(0)});
  catalog::CatalogWatch watch(admission, Fixture::by_hand(1));
  f.publish("1.0");
  f.publish("1.1");
  EXPECT_EQ(watch.status().rounds, 0u);
  EXPECT_EQ(watch.poll(), Versions{"1.1"});
  EXPECT_TRUE(admission.holds("1.1"));
  EXPECT_FALSE(admission.holds("1.0"));
  auto status = watch.status();
  EXPECT_EQ(status.rounds, 1u);
  EXPECT_GT(status.last_round_ms, 0);
  EXPECT_EQ(status.last_error, "");
  EXPECT_EQ(status.newest_ready, "1.1");
  // Only the torrent: no piece, no resume data, nothing a join writes.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(f.cache.release_dir("1.1")), {}), 1);
  EXPECT_EQ(read_file(f.cache.torrent_path("1.1")), read_file(f.repo.path() / "torrents" / "1.1.torrent"));
  EXPECT_EQ(watch.poll(), Versions{});  // held: nothing fetched again
  f.publish("1.2");
  EXPECT_EQ(watch.poll(), Versions{"1.2"});
}

TEST(CatalogWatch, AnUnreachableCatalogLeavesNothingAndDoesNotThrow) {
  test::TempDir cache_root;
  store::CacheDir cache(cache_root.path());
  catalog::Catalog catalog("file://" + (cache_root.path() / "no-such-repo").string());
  catalog::Admission admission(catalog, cache, {});
  catalog::CatalogWatch watch(admission, Fixture::by_hand(1));
  EXPECT_EQ(watch.poll(), Versions{});
  EXPECT_TRUE(std::filesystem::is_empty(cache.root() / "releases"));
  auto status = watch.status();
  EXPECT_EQ(status.rounds, 1u);
  EXPECT_NE(status.last_error.find("no-such-repo"), std::string::npos) << status.last_error;
  EXPECT_EQ(status.newest_ready, "");
}

// Once an index is held, lookups go on with it through an outage; the watch's status must still
// say the catalog is failing, and stop saying so when it answers again.
TEST(CatalogWatch, ACatalogThatStopsAnsweringShowsInTheStatus) {
  Fixture f;
  catalog::Admission admission(f.catalog, f.cache, {.catalog_max_age = std::chrono::milliseconds(0)});
  catalog::CatalogWatch watch(admission, Fixture::by_hand(1));
  f.publish("1.0");
  EXPECT_EQ(watch.poll(), Versions{"1.0"});
  EXPECT_EQ(watch.status().last_error, "");
  std::filesystem::rename(f.repo.path() / "index.json", f.repo.path() / "index.json.away");
  EXPECT_EQ(watch.poll(), Versions{});
  EXPECT_NE(watch.status().last_error.find("index.json"), std::string::npos) << watch.status().last_error;
  std::filesystem::rename(f.repo.path() / "index.json.away", f.repo.path() / "index.json");
  watch.poll();
  EXPECT_EQ(watch.status().last_error, "");
}

TEST(CatalogWatch, AnUnsignedReleaseIsNotKeptAndIsTriedAgain) {
  Fixture f;
  auto key = f.keys.path() / "origin.key", pub = f.keys.path() / "origin.key.pub";
  catalog::generate_signing_key(key, pub);
  catalog::Admission admission(f.catalog, f.cache,
                               {.trusted_key = pub, .catalog_max_age = std::chrono::milliseconds(0)});
  catalog::CatalogWatch watch(admission, Fixture::by_hand(1));
  f.publish("1.0");  // not signed
  EXPECT_EQ(watch.poll(), Versions{});
  EXPECT_FALSE(admission.holds("1.0"));
  EXPECT_EQ(watch.poll(), Versions{});
  auto refused = watch.status().last_error;
  EXPECT_EQ(refused.rfind("release 1.0 refused: ", 0), 0u) << refused;
  EXPECT_NE(refused.find("rookery publish --sign"), std::string::npos) << refused;
  f.publish("1.1", key);
  EXPECT_EQ(watch.poll(), Versions{"1.1"});
  EXPECT_EQ(watch.status().last_error, "");
  EXPECT_EQ(watch.status().newest_ready, "1.1");
  EXPECT_EQ(watch.status().rounds, 3u);
  EXPECT_TRUE(std::filesystem::exists(f.cache.signature_path("1.1")));
}

TEST(CatalogWatch, RunsItsFirstRoundAtStartAndStopsWithoutWaitingForTheNext) {
  Fixture f;
  f.publish("1.0");
  catalog::Admission admission(f.catalog, f.cache, {});
  {
    // An hour between rounds: the test ends only if the destructor does not wait for it.
    catalog::CatalogWatch watch(admission, {.interval = std::chrono::hours(1), .newest = 1});
    for (int i = 0; i < 500 && !admission.holds("1.0"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(admission.holds("1.0"));
  }
}

TEST(CatalogWatch, NoIntervalMeansNoRoundOfItsOwn) {
  Fixture f;
  f.publish("1.0");
  catalog::Admission admission(f.catalog, f.cache, {});
  {
    catalog::CatalogWatch watch(admission, Fixture::by_hand(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_FALSE(admission.holds("1.0"));
}
