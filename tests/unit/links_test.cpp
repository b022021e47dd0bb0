// Deploy links: the atomic flip, activate, rollback (twice goes forward again) and the versions GC keeps.
#include <gtest/gtest.h>

#include <set>

#include "rookery/common/files.hpp"
#include "rookery/deploy/links.hpp"
#include "test_support.hpp"
#include "user_error.hpp"

using namespace rookery;
namespace fs = std::filesystem;

namespace {

// A plain directory standing in for the mount: MOUNT/<version> only has to be a directory.
struct Deployment {
  test::TempDir mount, site, cache_root;
  store::CacheDir cache = store::CacheDir::unlocked(cache_root.path());
  fs::path link = site.path() / "current";

  Deployment() {
    for (auto v : {"1.0", "2.0", "3.0"}) fs::create_directory(mount.path() / v);
  }
  fs::path release(const std::string& version) const { return mount.path() / version; }
  std::string target() const { return fs::read_symlink(link).string(); }
};

}  // namespace

TEST(FlipLink, CreatesTheLinkAndReturnsNoPrevious) {
  test::TempDir dir;
  EXPECT_EQ(deploy::flip_link(dir.path() / "current", "/releases/1.0"), "");
  EXPECT_EQ(fs::read_symlink(dir.path() / "current"), "/releases/1.0");
}

TEST(FlipLink, ReplacesTheLinkAndReturnsWhatItPointedAt) {
  test::TempDir dir;
  auto link = dir.path() / "current";
  deploy::flip_link(link, "/releases/1.0");
  EXPECT_EQ(deploy::flip_link(link, "/releases/2.0"), "/releases/1.0");
  EXPECT_EQ(fs::read_symlink(link), "/releases/2.0");
  EXPECT_EQ(deploy::flip_link(link, "relative/3.0"), "/releases/2.0");
  EXPECT_EQ(fs::read_symlink(link), "relative/3.0");
  // Nothing is left beside the link: the temporary symlink was renamed over it.
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir.path())) entries.push_back(e.path().filename().string());
  EXPECT_EQ(entries, std::vector<std::string>{"current"});
}

TEST(FlipLink, RefusesToReplaceSomethingThatIsNotASymlink) {
  test::TempDir dir;
  auto path = dir.path() / "current";
  test::write_text(path, "config\n");
  EXPECT_EQ(test::user_error_message([&] { deploy::flip_link(path, "/releases/1.0"); }),
            path.string() + " exists and is not a symlink: refusing to replace it");
  EXPECT_EQ(read_file(path), "config\n");
}

TEST(Activate, PointsTheLinkAtTheMountedVersion) {
  Deployment d;
  deploy::activate(d.mount.path(), "1.0", d.link, d.cache);
  EXPECT_EQ(d.target(), d.release("1.0").string());
  deploy::activate(d.mount.path(), "2.0", d.link, d.cache);
  EXPECT_EQ(d.target(), d.release("2.0").string());
}

TEST(Activate, AMissingVersionLeavesTheLinkAlone) {
  Deployment d;
  deploy::activate(d.mount.path(), "1.0", d.link, d.cache);
  auto error = test::user_error_message([&] { deploy::activate(d.mount.path(), "9.9", d.link, d.cache); });
  EXPECT_EQ(error.rfind("cannot activate 9.9: " + d.release("9.9").string() + " is not available (", 0), 0u) << error;
  EXPECT_EQ(d.target(), d.release("1.0").string());
}

TEST(Activate, AFileIsNotARelease) {
  Deployment d;
  test::write_text(d.mount.path() / "notes.txt", "x");
  EXPECT_NE(test::user_error_message([&] { deploy::activate(d.mount.path(), "notes.txt", d.link, d.cache); }), "");
  EXPECT_FALSE(fs::exists(fs::symlink_status(d.link)));
}

TEST(Rollback, GoesBackThenForwardAgain) {
  Deployment d;
  deploy::activate(d.mount.path(), "1.0", d.link, d.cache);
  deploy::activate(d.mount.path(), "2.0", d.link, d.cache);

  EXPECT_EQ(deploy::rollback(d.link, d.cache), d.release("1.0").string());
  EXPECT_EQ(d.target(), d.release("1.0").string());
  EXPECT_EQ(deploy::rollback(d.link, d.cache), d.release("2.0").string());
  EXPECT_EQ(d.target(), d.release("2.0").string());
  EXPECT_EQ(deploy::rollback(d.link, d.cache), d.release("1.0").string());
  EXPECT_EQ(d.target(), d.release("1.0").string());
}

TEST(Rollback, ReactivatingTheCurrentVersionKeepsThePrevious) {
  Deployment d;
  deploy::activate(d.mount.path(), "1.0", d.link, d.cache);
  deploy::activate(d.mount.path(), "2.0", d.link, d.cache);
  deploy::activate(d.mount.path(), "2.0", d.link, d.cache);
  EXPECT_EQ(deploy::rollback(d.link, d.cache), d.release("1.0").string());
}

TEST(Rollback, WithoutAPreviousTargetIsAUserError) {
  Deployment d;
  EXPECT_EQ(test::user_error_message([&] { deploy::rollback(d.link, d.cache); }),
            "cannot roll back " + d.link.string() + ": no previous target recorded");
  deploy::activate(d.mount.path(), "1.0", d.link, d.cache);  // a first activation has nothing to go back to
  EXPECT_EQ(test::user_error_message([&] { deploy::rollback(d.link, d.cache); }),
            "cannot roll back " + d.link.string() + ": no previous target recorded");
  EXPECT_EQ(d.target(), d.release("1.0").string());
}

TEST(LinkedVersions, ListsTheTargetsOfEveryRegisteredLink) {
  Deployment d;
  test::TempDir other_site;
  auto other = other_site.path() / "current";
  EXPECT_TRUE(deploy::linked_versions(d.cache).empty());  // no CACHE/links yet

  deploy::activate(d.mount.path(), "1.0", d.link, d.cache);
  deploy::activate(d.mount.path(), "3.0", other, d.cache);
  EXPECT_EQ(deploy::linked_versions(d.cache), (std::set<std::string>{"1.0", "3.0"}));

  deploy::activate(d.mount.path(), "2.0", d.link, d.cache);
  EXPECT_EQ(deploy::linked_versions(d.cache), (std::set<std::string>{"2.0", "3.0"}));

  deploy::rollback(d.link, d.cache);
  EXPECT_EQ(deploy::linked_versions(d.cache), (std::set<std::string>{"1.0", "3.0"}));

  fs::remove(other);  // a registered link that is gone no longer keeps anything
  EXPECT_EQ(deploy::linked_versions(d.cache), (std::set<std::string>{"1.0"}));
}

TEST(LinkedVersions, TwoLinksToOneVersionCountOnce) {
  Deployment d;
  test::TempDir other_site;
  deploy::activate(d.mount.path(), "2.0", d.link, d.cache);
  deploy::activate(d.mount.path(), "2.0", other_site.path() / "current", d.cache);
  EXPECT_EQ(deploy::linked_versions(d.cache), (std::set<std::string>{"2.0"}));
}
