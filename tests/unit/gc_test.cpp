// Cache garbage collection: plan_gc's order and budget, and collect_garbage on a real cache directory.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <functional>
#include <map>
#include <set>

#include "rookery/common/files.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/store/gc.hpp"
#include "test_support.hpp"

using namespace rookery;
using store::CachedRelease;

namespace {

const auto nothing_protected = [](const std::string&) { return false; };

CachedRelease release(std::string version, std::uint64_t bytes, std::time_t last_used) {
  return CachedRelease{std::move(version), bytes, last_used};
}

// A release in the cache holding one file of `bytes` (a multiple of 4096, written out so it is not
// sparse) and a last-used stamp dated `last_used`.
void add_cached_release(const store::CacheDir& cache, const std::string& version, std::size_t bytes,
                        std::time_t last_used) {
  test::write_text(cache.data_dir(version) / version / "payload.bin", test::pattern_bytes(bytes, 1));
  test::write_text(cache.last_used_path(version), "");
  struct timespec times[2] = {{last_used, 0}, {last_used, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, cache.last_used_path(version).c_str(), times, 0), 0);
}

// An evict callback that records each call in `calls` and deletes the release's directory, except
// for the versions in `refused`: for those it deletes nothing and returns false.
std::function<bool(const std::string&)> recording_evict(const store::CacheDir& cache, std::vector<std::string>& calls,
                                                        std::set<std::string> refused = {}) {
  return [&cache, &calls, refused](const std::string& v) {
    calls.push_back(v);
    if (refused.count(v) > 0) return false;
    std::filesystem::remove_all(cache.release_dir(v));
    return true;
  };
}

std::set<std::string> cached_versions(const store::CacheDir& cache) {
  std::set<std::string> out;
  for (const auto& r : store::list_cached_releases(cache)) out.insert(r.version);
  return out;
}

}  // namespace

TEST(PlanGc, EvictsLeastRecentlyUsedFirst) {
  auto victims = store::plan_gc({release("c", 10, 300), release("a", 10, 100), release("b", 10, 200)}, 0,
                                nothing_protected);
  EXPECT_EQ(victims, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(PlanGc, BreaksTiesByVersion) {
  auto victims = store::plan_gc({release("2.0", 10, 100), release("1.10", 10, 100), release("1.0", 10, 100),
                                 release("0.9", 10, 50)},
                                0, nothing_protected);
  EXPECT_EQ(victims, (std::vector<std::string>{"0.9", "1.0", "1.10", "2.0"}));
}

TEST(PlanGc, SkipsProtectedAndTakesTheNextOldest) {
  auto victims = store::plan_gc({release("old", 100, 1), release("mid", 100, 2), release("new", 100, 3)}, 150,
                                [](const std::string& v) { return v == "old"; });
  // 300 bytes: "old" cannot go, "mid" brings it to 200, "new" to 100 <= 150.
  EXPECT_EQ(victims, (std::vector<std::string>{"mid", "new"}));
}

TEST(PlanGc, NothingWhenEverythingIsProtected) {
  auto victims = store::plan_gc({release("a", 100, 1), release("b", 100, 2)}, 0, [](const std::string&) { return true; });
  EXPECT_TRUE(victims.empty());
}

TEST(PlanGc, StopsAsSoonAsTheTotalFitsTheBudget) {
  std::vector<CachedRelease> cached = {release("a", 10, 1), release("b", 20, 2), release("c", 30, 3)};
  // 60 bytes; after "a" 50, after "b" 30.
  EXPECT_EQ(store::plan_gc(cached, 35, nothing_protected), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store::plan_gc(cached, 30, nothing_protected), (std::vector<std::string>{"a", "b"}));  // 30 <= 30
  EXPECT_EQ(store::plan_gc(cached, 29, nothing_protected), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(store::plan_gc(cached, 50, nothing_protected), (std::vector<std::string>{"a"}));
}

TEST(PlanGc, NothingWhenUnderOrAtTheBudget) {
  std::vector<CachedRelease> cached = {release("a", 10, 1), release("b", 20, 2)};
  int asked = 0;
  auto count = [&](const std::string&) { return ++asked, false; };
  EXPECT_TRUE(store::plan_gc(cached, 30, count).empty());
  EXPECT_TRUE(store::plan_gc(cached, 1000, count).empty());
  EXPECT_TRUE(store::plan_gc({}, 0, count).empty());
  EXPECT_EQ(asked, 0);
}

TEST(CollectGarbage, EvictsOldestUntilTheCacheFitsAndMeasuresWhatIsLeft) {
  test::TempDir dir;
  store::CacheDir cache(dir.path());
  add_cached_release(cache, "1.0", 4 * 4096, 1000);
  add_cached_release(cache, "1.1", 2 * 4096, 2000);
  add_cached_release(cache, "1.2", 8 * 4096, 3000);
  add_cached_release(cache, "1.3", 1 * 4096, 4000);

  std::vector<std::string> evicted;
  auto result = store::collect_garbage(cache, 10 * 4096, nothing_protected, recording_evict(cache, evicted));

  // 15 pages: dropping 1.0 leaves 11, dropping 1.1 leaves 9 <= 10.
  EXPECT_EQ(result.removed, (std::vector<std::string>{"1.0", "1.1"}));
  EXPECT_EQ(evicted, result.removed);
  EXPECT_EQ(result.bytes, 9u * 4096);
  EXPECT_EQ(cached_versions(cache), (std::set<std::string>{"1.2", "1.3"}));
}

TEST(CollectGarbage, NeverEvictsProtectedAndCountsThemInTheTotal) {
  test::TempDir dir;
  store::CacheDir cache(dir.path());
  add_cached_release(cache, "linked", 4 * 4096, 1000);
  add_cached_release(cache, "spare", 2 * 4096, 2000);

  std::vector<std::string> evicted;
  auto result = store::collect_garbage(
      cache, 0, [](const std::string& v) { return v == "linked"; }, recording_evict(cache, evicted));

  EXPECT_EQ(evicted, (std::vector<std::string>{"spare"}));
  EXPECT_EQ(result.removed, (std::vector<std::string>{"spare"}));
  EXPECT_EQ(result.bytes, 4u * 4096);
}

TEST(CollectGarbage, AVersionEvictRefusesIsNotReportedAndStillCounts) {
  test::TempDir dir;
  store::CacheDir cache(dir.path());
  add_cached_release(cache, "opened", 4 * 4096, 1000);  // a file was opened after planning
  add_cached_release(cache, "idle", 2 * 4096, 2000);
  add_cached_release(cache, "recent", 1 * 4096, 3000);

  std::vector<std::string> evicted;
  auto result = store::collect_garbage(cache, 1 * 4096, nothing_protected, recording_evict(cache, evicted, {"opened"}));

  // The plan (opened, idle) is carried out as made: no replanning to make up for the refusal.
  EXPECT_EQ(evicted, (std::vector<std::string>{"opened", "idle"}));
  EXPECT_EQ(result.removed, (std::vector<std::string>{"idle"}));
  EXPECT_EQ(result.bytes, 5u * 4096);
  EXPECT_EQ(cached_versions(cache), (std::set<std::string>{"opened", "recent"}));
}

TEST(CollectGarbage, UnderBudgetEvictsNothing) {
  test::TempDir dir;
  store::CacheDir cache(dir.path());
  add_cached_release(cache, "a", 3 * 4096, 1000);
  add_cached_release(cache, "b", 2 * 4096, 2000);

  std::vector<std::string> evicted;
  auto result = store::collect_garbage(cache, 5 * 4096, nothing_protected, recording_evict(cache, evicted));

  EXPECT_TRUE(evicted.empty());
  EXPECT_TRUE(result.removed.empty());
  EXPECT_EQ(result.bytes, 5u * 4096);
}

TEST(CollectGarbage, EmptyCache) {
  test::TempDir dir;
  store::CacheDir cache(dir.path());
  auto result = store::collect_garbage(cache, 0, nothing_protected, [](const std::string&) { return true; });
  EXPECT_TRUE(result.removed.empty());
  EXPECT_EQ(result.bytes, 0u);
}

// Cross-release dedup hard-links files between releases: a shared file counts once, for the release
// evicted last, and evicting an older holder frees only what it alone held.
TEST(CollectGarbage, CountsASharedFileOnceAndFreesOnlyWhatNoOtherReleaseHolds) {
  test::TempDir dir;
  store::CacheDir cache(dir.path());
  add_cached_release(cache, "1.0", 4 * 4096, 1000);
  add_cached_release(cache, "1.1", 2 * 4096, 2000);
  auto shared = cache.data_dir("1.0") / "1.0" / "shared.bin";
  test::write_text(shared, test::pattern_bytes(8 * 4096, 2));
  ASSERT_EQ(::link(shared.c_str(), (cache.data_dir("1.1") / "1.1" / "shared.bin").c_str()), 0);

  std::map<std::string, std::uint64_t> bytes;
  for (const auto& r : store::list_cached_releases(cache)) bytes[r.version] = r.bytes;
  EXPECT_EQ(bytes["1.0"], 4u * 4096) << "what evicting 1.0 frees";
  EXPECT_EQ(bytes["1.1"], 10u * 4096) << "the shared file counts for the release evicted last";

  std::vector<std::string> evicted;
  auto result = store::collect_garbage(cache, 12 * 4096, nothing_protected, recording_evict(cache, evicted));
  EXPECT_EQ(result.removed, (std::vector<std::string>{"1.0"}));
  EXPECT_EQ(result.bytes, 10u * 4096) << "14 pages on disk, 1.0's own 4 freed";
  EXPECT_EQ(read_file(cache.data_dir("1.1") / "1.1" / "shared.bin"), test::pattern_bytes(8 * 4096, 2));
}
