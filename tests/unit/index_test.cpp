// The repository index (REPO/index.json): parsing, writing back, lookup and the errors it gives.
#include <gtest/gtest.h>

#include "rookery/catalog/index.hpp"
#include "user_error.hpp"

using namespace rookery;
using catalog::Index;
using catalog::ReleaseRecord;

namespace {

const std::string kOrigin = "http://origin/rookery/index.json";

ReleaseRecord record(std::string version, std::string v1, std::string v2, std::int64_t size, int files,
                     int piece_size, std::string published) {
  return ReleaseRecord{std::move(version), std::move(v1), std::move(v2), size, files, piece_size, std::move(published)};
}

void expect_same(const ReleaseRecord& a, const ReleaseRecord& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.infohash_v1, b.infohash_v1);
  EXPECT_EQ(a.infohash_v2, b.infohash_v2);
  EXPECT_EQ(a.total_size, b.total_size);
  EXPECT_EQ(a.files, b.files);
  EXPECT_EQ(a.piece_size, b.piece_size);
  EXPECT_EQ(a.published, b.published);
}

std::string parse_error(const std::string& text) {
  return test::user_error_message([&] { Index::parse(text, kOrigin); });
}

}  // namespace

TEST(Index, ParsesEveryFieldInOrder) {
  auto index = Index::parse(R"({"format": 1, "releases": [
      {"version": "1.4.2", "infohash_v1": "aa", "infohash_v2": "bb", "total_size": 5000000000,
       "files": 4, "piece_size": 1048576, "published": "2026-11-21T23:50:00Z"},
      {"version": "1.5.0", "infohash_v1": "cc", "total_size": 7, "files": 1, "piece_size": 16384,
       "published": "2026-11-22T08:00:00Z"}]})",
                            kOrigin);
  ASSERT_EQ(index.releases.size(), 2u);
  expect_same(index.releases[0], record("1.4.2", "aa", "bb", 5000000000, 4, 1048576, "2026-11-21T23:50:00Z"));
  expect_same(index.releases[1], record("1.5.0", "cc", "", 7, 1, 16384, "2026-11-22T08:00:00Z"));
}

TEST(Index, MissingOptionalFieldsDefaultToEmptyAndZero) {
  auto index = Index::parse(R"({"releases": [{"version": "2.0"}]})", kOrigin);
  ASSERT_EQ(index.releases.size(), 1u);
  expect_same(index.releases[0], record("2.0", "", "", 0, 0, 0, ""));
}

TEST(Index, EmptyListIsAnEmptyIndex) {
  EXPECT_TRUE(Index::parse(R"({"format": 1, "releases": []})", kOrigin).releases.empty());
}

TEST(Index, SkipsVersionsThatAreNotSafeNames) {
  auto index = Index::parse(R"({"releases": [{"version": "../../etc"}, {"version": "1.0"}, {"version": ".."},
                                              {"version": ""}, {"version": "a/b"}, {"version": "1.1"}]})",
                            kOrigin);
  ASSERT_EQ(index.releases.size(), 2u);
  EXPECT_EQ(index.releases[0].version, "1.0");
  EXPECT_EQ(index.releases[1].version, "1.1");
}

TEST(Index, WritesTheDocumentedFormat) {
  Index index;
  index.releases.push_back(record("1.4.2", "aa", "bb", 123, 4, 1048576, "2026-11-21T23:50:00Z"));
  EXPECT_EQ(index.to_json(),
            "{\n"
            "  \"format\": 1,\n"
            "  \"releases\": [\n"
            "    {\n"
            "      \"files\": 4,\n"
            "      \"infohash_v1\": \"aa\",\n"
            "      \"infohash_v2\": \"bb\",\n"
            "      \"piece_size\": 1048576,\n"
            "      \"published\": \"2026-11-21T23:50:00Z\",\n"
            "      \"total_size\": 123,\n"
            "      \"version\": \"1.4.2\"\n"
            "    }\n"
            "  ]\n"
            "}\n");
  EXPECT_EQ(Index{}.to_json(), "{\n  \"format\": 1,\n  \"releases\": []\n}\n");
}

TEST(Index, RoundTripsThroughJson) {
  Index index;
  index.releases.push_back(record("1.0", std::string(40, 'a'), std::string(64, 'b'), 9000000000, 12, 262144,
                                  "2026-01-01T00:00:00Z"));
  index.releases.push_back(record("1.1-rc_2", std::string(40, 'c'), "", 0, 0, 16384, "2026-01-02T00:00:00Z"));
  auto back = Index::parse(index.to_json(), kOrigin);
  ASSERT_EQ(back.releases.size(), 2u);
  expect_same(back.releases[0], index.releases[0]);
  expect_same(back.releases[1], index.releases[1]);
  EXPECT_EQ(back.to_json(), index.to_json());
}

TEST(Index, FindsByExactVersion) {
  Index index;
  index.releases.push_back(record("1.0", "first", "", 1, 1, 16384, ""));
  index.releases.push_back(record("1.0.1", "second", "", 2, 1, 16384, ""));
  ASSERT_NE(index.find("1.0"), nullptr);
  EXPECT_EQ(index.find("1.0"), &index.releases[0]);
  EXPECT_EQ(index.find("1.0.1"), &index.releases[1]);
  EXPECT_EQ(index.find("1"), nullptr);
  EXPECT_EQ(index.find("1.0.2"), nullptr);
  EXPECT_EQ(index.find(""), nullptr);
  EXPECT_EQ(Index{}.find("1.0"), nullptr);
}

TEST(Index, MalformedInputIsAUserErrorNamingTheOrigin) {
  const std::string prefix = "catalog index " + kOrigin + " is not valid JSON of the expected shape (";
  const std::string suffix = "): check the repository or republish";
  for (const std::string& text : {
           std::string("not json at all"),
           std::string(R"({"releases": [)"),                               // truncated
           std::string(R"({"format": 1})"),                                // no release list
           std::string(R"({"releases": [{"infohash_v1": "aa"}]})"),        // a release without a version
           std::string(R"({"releases": [{"version": 12}]})"),              // version not a string
           std::string(R"({"releases": [{"version": "1.0", "files": "four"}]})"),  // a count that is text
           std::string(R"([1, 2])"),                                       // not an object
           std::string(""),
       }) {
    SCOPED_TRACE(text);
    auto error = parse_error(text);
    ASSERT_GE(error.size(), prefix.size() + suffix.size());
    EXPECT_EQ(error.substr(0, prefix.size()), prefix);
    EXPECT_EQ(error.substr(error.size() - suffix.size()), suffix);
  }
}
