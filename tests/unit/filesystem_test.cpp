// fs::Filesystem against a fake release source: the whole request surface (lookup, getattr,
// readdir, readlink, open, read, release, evict) without a kernel, a swarm or a catalog.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "rookery/common/error.hpp"
#include "rookery/fs/filesystem.hpp"
#include "test_support.hpp"

using namespace rookery;
using fs::Ino;

namespace {

// A release whose files are cache files in a temp dir; reads of files listed in `missing` park
// until the test answers them.
class FakeRelease final : public fs::JoinedRelease {
 public:
  explicit FakeRelease(std::vector<fs::ReleaseFile> files) : files_(std::move(files)) {}
  const std::vector<fs::ReleaseFile>& files() const override { return files_; }
  std::int64_t total_size() const override { return 1 << 20; }
  bool landed() const override { return missing.empty(); }
  bool hot_set_landed() const override { return !hot_missing; }
  void mark_used() override { ++used; }
  void read(int index, std::int64_t offset, std::size_t length, std::int64_t ahead_offset, std::int64_t ahead_length,
            std::function<void(fs::ReadReply)> reply) override {
    reads.push_back({index, offset, length, ahead_offset, ahead_length});
    if (missing.count(index)) return parked.push_back(std::move(reply));
    auto fd = std::make_shared<const FileDescriptor>(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
    reply({0, fd, offset, length});
  }

  struct Read {
    int index;
    std::int64_t offset;
    std::size_t length;
    std::int64_t ahead_offset, ahead_length;
  };
  std::vector<fs::ReleaseFile> files_;
  std::set<int> missing;
  bool hot_missing = false;
  std::vector<Read> reads;
  std::vector<std::function<void(fs::ReadReply)>> parked;
  int used = 0;
};

fs::ReleaseFile file(int index, std::string path, std::int64_t size, std::time_t mtime = 1700000000,
                     bool executable = false) {
  fs::ReleaseFile f;
  f.index = index;
  f.path = std::move(path);
  f.size = size;
  f.mtime = mtime;
  f.executable = executable;
  return f;
}

fs::ReleaseFile link(int index, std::string path, std::string target) {
  auto f = file(index, std::move(path), 0);
  f.symlink = true;
  f.link_target = std::move(target);
  return f;
}

std::vector<fs::ReleaseFile> sample_files() {
  return {file(0, "README", 100), file(1, "bin/app", 5000, 1700000000, true), link(2, "lib/app-link", "bin/app"),
          file(3, "lib/deep/data.bin", 300000)};
}

class FakeSource final : public fs::ReleaseSource {
 public:
  std::vector<std::string> versions() override {
    if (catalog_down) throw UserError("catalog unreachable");
    return catalog;
  }
  std::shared_ptr<fs::JoinedRelease> join(const std::string& version) override {
    ++joins[version];
    if (on_join) on_join();
    if (version == "untrusted") throw NotTrusted("no signature");
    if (version == "broken") throw UserError("torrent is malformed");
    auto it = releases.find(version);
    return it == releases.end() ? nullptr : it->second;
  }
  void evict(const std::string& version, const std::shared_ptr<fs::JoinedRelease>& joined) override {
    evicted.emplace_back(version, joined != nullptr);
  }

  std::vector<std::string> catalog = {"1.0", "2.0"};
  bool catalog_down = false;
  std::map<std::string, std::shared_ptr<FakeRelease>> releases = {
      {"1.0", std::make_shared<FakeRelease>(sample_files())},
      {"2.0", std::make_shared<FakeRelease>(std::vector<fs::ReleaseFile>{file(0, "only.bin", 10)})}};
  std::map<std::string, int> joins;
  std::function<void()> on_join;  // runs inside join(), e.g. to hold it
  std::vector<std::pair<std::string, bool>> evicted;
};

// Holds the first join of a source until release(): requests that arrive while a join is under way.
class FirstJoinHeld {
 public:
  explicit FirstJoinHeld(FakeSource& source) {
    source.on_join = [this] {
      if (held_.exchange(true)) return;
      joining_.set_value();
      go_.wait();
    };
  }
  void wait_until_joining() { joining_.get_future().wait(); }
  void release() { go_on_.set_value(); }

 private:
  std::atomic<bool> held_{false};
  std::promise<void> joining_, go_on_;
  std::shared_future<void> go_ = go_on_.get_future().share();
};

// One "process": a filesystem over the source and a superblock file, as the daemon builds them.
struct TestFilesystem {
  TestFilesystem(FakeSource& source, const std::filesystem::path& superblock_path, fs::FilesystemOptions options = {},
                 fs::OpenHandles* open_handles = nullptr)
      : superblock(superblock_path), filesystem(source, superblock, options, open_handles) {}
  fs::Superblock superblock;
  fs::Filesystem filesystem;
};

Ino lookup_path(fs::Filesystem& f, std::initializer_list<const char*> path) {
  Ino ino = fs::kRootIno;
  for (const char* part : path) {
    auto e = f.lookup(ino, part);
    if (!e.ok()) {
      ADD_FAILURE() << "lookup of " << part << ": errno " << e.error();
      return 0;
    }
    ino = e->ino;
  }
  return ino;
}

fs::ReadReply read_now(fs::Filesystem& f, Ino ino, std::uint64_t fh, std::int64_t offset, std::size_t size) {
  fs::ReadReply out{-1};
  f.read(ino, fh, offset, size, [&](fs::ReadReply r) { out = std::move(r); });
  return out;
}

class FilesystemTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  FakeSource source;
  std::filesystem::path superblock = dir.path() / "superblock";
  TestFilesystem t{source, superblock};
  fs::Filesystem& f = t.filesystem;
};

}  // namespace

TEST_F(FilesystemTest, RootListsTheCatalogWithoutJoining) {
  auto list = f.readdir(fs::kRootIno);
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& e : *list) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "1.0", "2.0"}));
  EXPECT_EQ((*list)[2].ino, fs::make_ino(1, 0));
  EXPECT_EQ((*list)[3].ino, fs::make_ino(2, 0));
  EXPECT_EQ((*list)[2].type, static_cast<mode_t>(S_IFDIR));
  EXPECT_TRUE(source.joins.empty());
  auto root = f.getattr(fs::kRootIno);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->attr.st_mode, static_cast<mode_t>(S_IFDIR | 0555));
  EXPECT_EQ(root->attr.st_mtime, t.superblock.created());
}

TEST_F(FilesystemTest, CatalogDownListsJoinedReleasesOnly) {
  lookup_path(f, {"2.0"});
  source.catalog_down = true;
  auto list = f.readdir(fs::kRootIno);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[2].name, "2.0");
}

TEST_F(FilesystemTest, LookupJoinsOnceAndShowsTheTreeWithAttributes) {
  Ino app = lookup_path(f, {"1.0", "bin", "app"});
  lookup_path(f, {"1.0", "README"});
  EXPECT_EQ(source.joins["1.0"], 1);
  auto e = f.getattr(app);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attr.st_mode, static_cast<mode_t>(S_IFREG | 0555));
  EXPECT_EQ(e->attr.st_size, 5000);
  EXPECT_EQ(e->attr.st_mtime, 1700000000);
  EXPECT_EQ(e->generation, 1u);
  EXPECT_EQ(f.getattr(lookup_path(f, {"1.0", "README"}))->attr.st_mode, static_cast<mode_t>(S_IFREG | 0444));
  auto target = f.readlink(lookup_path(f, {"1.0", "lib", "app-link"}));
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, "../bin/app");
  auto lib = f.readdir(lookup_path(f, {"1.0", "lib"}));
  ASSERT_TRUE(lib.ok());
  std::vector<std::string> names;
  for (const auto& d : *lib) names.push_back(d.name);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "app-link", "deep"}));
  EXPECT_EQ((*lib)[1].ino, lookup_path(f, {"1.0"}));  // ".." of a release's subdirectory
}

TEST_F(FilesystemTest, ErrnosForWhatDoesNotExistOrCannotBeDone) {
  EXPECT_EQ(f.lookup(fs::kRootIno, "9.9").error(), ENOENT);  // not in the catalog
  EXPECT_EQ(f.lookup(fs::kRootIno, "..").error(), ENOENT);   // not a version name: never joined
  EXPECT_EQ(source.joins.count(".."), 0u);
  Ino release = lookup_path(f, {"1.0"});
  auto miss = f.lookup(release, "nope");  // a miss inside an immutable release: cached by the kernel
  ASSERT_TRUE(miss.ok());
  EXPECT_EQ(miss->ino, 0u);
  EXPECT_EQ(miss->ttl, fs::FilesystemOptions{}.release_ttl);
  EXPECT_EQ(f.lookup(lookup_path(f, {"1.0", "README"}), "x").error(), ENOTDIR);
  EXPECT_EQ(f.getattr(fs::make_ino(77, 0)).error(), ENOENT);
  EXPECT_EQ(f.readlink(lookup_path(f, {"1.0", "README"})).error(), EINVAL);
  EXPECT_EQ(f.open(lookup_path(f, {"1.0", "README"}), O_WRONLY).error(), EROFS);
  EXPECT_EQ(f.open(lookup_path(f, {"1.0", "README"}), O_RDONLY | O_TRUNC).error(), EROFS);
  EXPECT_EQ(f.open(lookup_path(f, {"1.0", "bin"}), O_RDONLY).error(), EISDIR);
  EXPECT_EQ(f.open(lookup_path(f, {"1.0", "lib", "app-link"}), O_RDONLY).error(), ELOOP);
}

TEST_F(FilesystemTest, RefusedAndBrokenReleasesAreRememberedUntilRetry) {
  EXPECT_EQ(f.lookup(fs::kRootIno, "untrusted").error(), EACCES);
  EXPECT_EQ(f.lookup(fs::kRootIno, "broken").error(), EIO);
  EXPECT_EQ(f.lookup(fs::kRootIno, "broken").error(), EIO);
  EXPECT_EQ(source.joins["broken"], 1);  // within retry_failed: not tried again
  FakeSource other;
  TestFilesystem retrying(other, "", fs::FilesystemOptions{.retry_failed = std::chrono::seconds(0)});
  EXPECT_EQ(retrying.filesystem.lookup(fs::kRootIno, "broken").error(), EIO);
  EXPECT_EQ(retrying.filesystem.lookup(fs::kRootIno, "broken").error(), EIO);
  EXPECT_EQ(other.joins["broken"], 2);
  EXPECT_EQ(f.lookup(fs::kRootIno, "9.9").error(), ENOENT);
  EXPECT_EQ(f.lookup(fs::kRootIno, "9.9").error(), ENOENT);
  EXPECT_EQ(source.joins["9.9"], 1);  // a burst of probes asks the catalog once per root_ttl
  EXPECT_FALSE(t.superblock.find("9.9"));  // and gets no inode number (no superblock write)
  source.releases["9.9"] = source.releases["2.0"];  // published a moment later
  EXPECT_EQ(f.join_version("9.9"), 0);  // a join by name (activate, prefetch) always asks
  EXPECT_TRUE(f.lookup(fs::kRootIno, "9.9").ok());  // and the lookup after it finds it at once
  FakeSource fresh;
  TestFilesystem uncached(fresh, "", fs::FilesystemOptions{.root_ttl = 0});
  EXPECT_EQ(uncached.filesystem.lookup(fs::kRootIno, "9.9").error(), ENOENT);
  EXPECT_EQ(uncached.filesystem.lookup(fs::kRootIno, "9.9").error(), ENOENT);
  EXPECT_EQ(fresh.joins["9.9"], 2);  // unknown versions are asked again after root_ttl
  EXPECT_TRUE(t.superblock.find("broken"));  // a version that exists but failed is numbered
}

// Lookups that arrive while a join fails wait for it and take its answer: one attempt, not one each.
TEST_F(FilesystemTest, LookupsWaitingForAFailingJoinTakeItsFailure) {
  FirstJoinHeld join(source);
  auto first = std::async(std::launch::async, [&] { return f.lookup(fs::kRootIno, "broken").error(); });
  join.wait_until_joining();
  auto second = std::async(std::launch::async, [&] { return f.lookup(fs::kRootIno, "broken").error(); });
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);  // behind the join
  join.release();
  EXPECT_EQ(first.get(), EIO);
  EXPECT_EQ(second.get(), EIO);
  EXPECT_EQ(source.joins["broken"], 1);
}

// Garbage collection and a join of the same version: the eviction waits, then takes the release
// the join made (its swarm and files), never its files from under the join.
TEST_F(FilesystemTest, AnEvictionWaitsForAJoinInProgress) {
  FirstJoinHeld join(source);
  auto lookup = std::async(std::launch::async, [&] { return f.lookup(fs::kRootIno, "1.0").ok(); });
  join.wait_until_joining();
  auto evicted = std::async(std::launch::async, [&] { return f.evict("1.0"); });
  EXPECT_EQ(evicted.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  EXPECT_TRUE(source.evicted.empty());
  join.release();
  EXPECT_TRUE(lookup.get());
  EXPECT_TRUE(evicted.get());
  ASSERT_EQ(source.evicted.size(), 1u);
  EXPECT_EQ(source.evicted[0], std::make_pair(std::string("1.0"), true));  // the joined release
}

TEST_F(FilesystemTest, AReleaseWhoseTreeIsInvalidIsLeftAndEvicted) {
  source.releases["3.0"] = std::make_shared<FakeRelease>(std::vector<fs::ReleaseFile>{file(0, "a", 1), file(1, "a", 1)});
  EXPECT_EQ(f.lookup(fs::kRootIno, "3.0").error(), EIO);
  ASSERT_EQ(source.evicted.size(), 1u);
  EXPECT_EQ(source.evicted[0], std::make_pair(std::string("3.0"), true));
}

TEST_F(FilesystemTest, ReadsLandedBytesClampedToTheFile) {
  Ino readme = lookup_path(f, {"1.0", "README"});
  auto fh = f.open(readme, O_RDONLY);
  ASSERT_TRUE(fh.ok());
  auto r = read_now(f, readme, *fh, 90, 4096);
  EXPECT_EQ(r.error, 0);
  ASSERT_TRUE(r.file);
  EXPECT_EQ(r.offset, 90);
  EXPECT_EQ(r.length, 10u);  // README is 100 bytes
  auto& release = *source.releases["1.0"];
  ASSERT_EQ(release.reads.size(), 1u);
  EXPECT_EQ(release.reads[0].index, 0);
  auto eof = read_now(f, readme, *fh, 100, 4096);
  EXPECT_EQ(eof.error, 0);
  EXPECT_EQ(eof.length, 0u);
  EXPECT_EQ(release.reads.size(), 1u);  // end of file: answered without the source
  EXPECT_EQ(read_now(f, readme, *fh, -1, 10).error, EINVAL);
  f.release(*fh);
}

TEST_F(FilesystemTest, ReadsOfMissingBytesWaitForTheSourceAndCarryItsErrno) {
  Ino data = lookup_path(f, {"1.0", "lib", "deep", "data.bin"});
  auto& release = *source.releases["1.0"];
  release.missing = {3};
  EXPECT_FALSE(f.all_landed());
  auto fh = f.open(data, O_RDONLY);
  ASSERT_TRUE(fh.ok());
  auto r = read_now(f, data, *fh, 0, 4096);
  EXPECT_EQ(r.error, -1);  // not answered yet
  ASSERT_EQ(release.parked.size(), 1u);
  release.parked[0]({EIO});
  EXPECT_EQ(r.error, EIO);
}

TEST_F(FilesystemTest, InodeNumbersAreStableAcrossProcesses) {
  Ino data = lookup_path(f, {"2.0", "only.bin"});
  Ino app = lookup_path(f, {"1.0", "bin", "app"});
  auto before = f.getattr(app);
  FakeSource again;
  TestFilesystem successor(again, superblock);  // the next daemon, same cache
  // Versions met in the other order get the numbers they had.
  EXPECT_EQ(lookup_path(successor.filesystem, {"1.0", "bin", "app"}), app);
  EXPECT_EQ(lookup_path(successor.filesystem, {"2.0", "only.bin"}), data);
  auto after = successor.filesystem.getattr(app);
  EXPECT_EQ(after->attr.st_mode, before->attr.st_mode);
  EXPECT_EQ(after->attr.st_mtime, before->attr.st_mtime);
  EXPECT_EQ(after->generation, before->generation);
  EXPECT_EQ(successor.filesystem.getattr(lookup_path(successor.filesystem, {"1.0", "lib"}))->attr.st_mtime,
            f.getattr(lookup_path(f, {"1.0", "lib"}))->attr.st_mtime);
  EXPECT_EQ(successor.superblock.created(), t.superblock.created());
}

TEST_F(FilesystemTest, HandlesOfAPreviousProcessAreAdopted) {
  Ino app = lookup_path(f, {"1.0", "bin", "app"});
  auto fh = f.open(app, O_RDONLY);
  ASSERT_TRUE(fh.ok());
  auto dir_fh = f.opendir(lookup_path(f, {"1.0"}));
  ASSERT_TRUE(dir_fh.ok());
  FakeSource again;
  TestFilesystem successor(again, superblock);
  auto& s = successor.filesystem;
  EXPECT_EQ(s.open_files("1.0"), 0);
  auto r = read_now(s, app, *fh, 0, 100);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.length, 100u);
  EXPECT_EQ(s.open_files("1.0"), 1);  // the kernel holds it open: GC must know
  EXPECT_EQ(again.joins["1.0"], 1);  // joined for the adopted handle, with no lookup first
  auto listing = s.listing(lookup_path(s, {"1.0"}), *dir_fh);
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ((*listing)->size(), 2u + 3u);  // . .. README bin lib
  s.release(*fh);
  EXPECT_EQ(s.open_files("1.0"), 0);
  s.release(*fh);  // twice, or a handle never seen: harmless
  EXPECT_EQ(s.open_files("1.0"), 0);
  EXPECT_EQ(read_now(s, fs::make_ino(1, 999), 12345, 0, 10).error, EBADF);
  EXPECT_NE(successor.superblock.new_handle() >> 32, t.superblock.new_handle() >> 32);
}

// The kernel holds inodes and a handle of a release from a previous process, and the successor
// cannot join it: they answer with the join's errno, not as if the file did not exist.
TEST_F(FilesystemTest, InheritedInodesOfAReleaseThatFailsToJoinAnswerItsErrno) {
  Ino app = lookup_path(f, {"1.0", "bin", "app"});
  auto fh = f.open(app, O_RDONLY);
  ASSERT_TRUE(fh.ok());
  FakeSource again;
  again.on_join = [] { throw UserError("catalog unreachable"); };
  TestFilesystem successor(again, superblock);
  EXPECT_EQ(successor.filesystem.getattr(app).error(), EIO);
  EXPECT_EQ(read_now(successor.filesystem, app, *fh, 0, 10).error, EIO);
}

// A successor rejoins releases on its own threads while the kernel already sends it requests for
// them: a request arriving during the join waits for it instead of failing.
TEST_F(FilesystemTest, AnAdoptedHandleWaitsForAJoinInProgress) {
  Ino app = lookup_path(f, {"1.0", "bin", "app"});
  auto fh = f.open(app, O_RDONLY);
  ASSERT_TRUE(fh.ok());
  FakeSource again;
  FirstJoinHeld join(again);
  TestFilesystem successor(again, superblock);
  auto& s = successor.filesystem;
  std::thread rejoin([&] { EXPECT_EQ(s.join_version("1.0"), 0); });
  join.wait_until_joining();
  auto adopted = std::async(std::launch::async, [&] { return read_now(s, app, *fh, 0, 100); });
  auto attr = std::async(std::launch::async, [&] { return s.getattr(app).error(); });
  EXPECT_EQ(adopted.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);  // waits for the join
  join.release();
  rejoin.join();
  EXPECT_EQ(adopted.get().error, 0);
  EXPECT_EQ(attr.get(), 0);
  EXPECT_EQ(again.joins["1.0"], 1);
  EXPECT_EQ(s.joined_versions(), std::vector<std::string>{"1.0"});
}

// A program holds a file open across takeovers without reading it: the successor, which never saw
// the handle, still must not evict its release. The open files table outlives the process.
TEST_F(FilesystemTest, AFileOpenedByAPredecessorKeepsItsReleaseFromEviction) {
  fs::OpenHandles shared(1024);
  FakeSource first_source;
  TestFilesystem first(first_source, dir.path() / "superblock-shared", {}, &shared);
  Ino readme = lookup_path(first.filesystem, {"1.0", "README"});
  auto fh = first.filesystem.open(readme, O_RDONLY);
  ASSERT_TRUE(fh.ok());
  FakeSource again;
  TestFilesystem successor(again, dir.path() / "superblock-shared", {}, &shared);
  auto& s = successor.filesystem;
  EXPECT_EQ(s.join_version("1.0"), 0);
  EXPECT_EQ(s.open_files("1.0"), 1);
  EXPECT_FALSE(s.evict("1.0"));
  EXPECT_TRUE(again.evicted.empty());
  EXPECT_EQ(read_now(s, readme, *fh, 0, 6).error, 0);  // adopted: still one file, not two
  EXPECT_EQ(s.open_files("1.0"), 1);
  s.release(*fh);
  s.release(*fh);  // answered again after a takeover: does not uncount another file
  EXPECT_EQ(s.open_files("1.0"), 0);
  EXPECT_TRUE(s.evict("1.0"));
}

TEST_F(FilesystemTest, EvictionWaitsForOpenFilesAndTellsTheKernel) {
  std::vector<std::string> told;
  f.on_evicted = [&](const std::string& v) { told.push_back(v); };
  Ino readme = lookup_path(f, {"1.0", "README"});
  auto fh = f.open(readme, O_RDONLY);
  EXPECT_EQ(f.open_files("1.0"), 1);
  EXPECT_FALSE(f.evict("1.0"));
  EXPECT_TRUE(source.evicted.empty());
  f.release(*fh);
  EXPECT_TRUE(f.evict("1.0"));
  ASSERT_EQ(source.evicted.size(), 1u);
  EXPECT_EQ(source.evicted[0], std::make_pair(std::string("1.0"), true));
  EXPECT_EQ(told, std::vector<std::string>{"1.0"});
  EXPECT_EQ(f.getattr(readme).error(), ENOENT);
  EXPECT_TRUE(f.evict("2.0"));  // never joined: only its cache goes
  EXPECT_EQ(source.evicted[1], std::make_pair(std::string("2.0"), false));
  Ino again = lookup_path(f, {"1.0", "README"});  // joined again, same number
  EXPECT_EQ(again, readme);
  EXPECT_EQ(source.joins["1.0"], 2);
}

TEST_F(FilesystemTest, UseIsMarkedAtJoinAndOpen) {
  Ino readme = lookup_path(f, {"1.0", "README"});
  EXPECT_EQ(source.releases["1.0"]->used, 1);
  f.release(*f.open(readme, O_RDONLY));
  EXPECT_EQ(source.releases["1.0"]->used, 2);
  EXPECT_EQ(f.join_version("2.0"), 0);
  EXPECT_EQ(f.join_version("9.9"), ENOENT);
  EXPECT_TRUE(f.all_landed());
}

TEST_F(FilesystemTest, HotSetsLandedAsksEveryJoinedRelease) {
  EXPECT_TRUE(f.hot_sets_landed());  // none joined
  lookup_path(f, {"1.0", "README"});
  EXPECT_EQ(f.join_version("2.0"), 0);
  source.releases["2.0"]->hot_missing = true;
  EXPECT_FALSE(f.hot_sets_landed());
  EXPECT_TRUE(f.all_landed());  // its other pieces are not what the answer is about
  source.releases["2.0"]->hot_missing = false;
  EXPECT_TRUE(f.hot_sets_landed());
}

TEST_F(FilesystemTest, OnlyTheRootHasTheAttributesItWasGiven) {
  fs::FilesystemOptions options;
  options.root_xattrs["user.rookery.cache"] = "/var/cache/rookery";
  FakeSource other;
  TestFilesystem named(other, dir.path() / "superblock-xattr", options);
  auto& n = named.filesystem;
  auto value = n.getxattr(fs::kRootIno, "user.rookery.cache");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "/var/cache/rookery");
  EXPECT_EQ(n.listxattr(fs::kRootIno), std::string("user.rookery.cache\0", 19));
  EXPECT_EQ(n.getxattr(fs::kRootIno, "security.capability").error(), ENODATA);
  Ino app = lookup_path(n, {"1.0", "bin", "app"});
  EXPECT_EQ(n.getxattr(app, "user.rookery.cache").error(), ENODATA);
  EXPECT_EQ(n.listxattr(app), "");
}
