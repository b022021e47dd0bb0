// The status a daemon reports, as each reader sees it: JSON on the wire, Prometheus text, the
// wait quantiles behind both.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rookery/common/error.hpp"
#include "rookery/daemon/metrics.hpp"
#include "rookery/swarm/release_status.hpp"
#include "rookery/swarm/wait_stats.hpp"

using namespace rookery;
using swarm::ReleaseState;
using swarm::ReleaseStatus;

namespace {

ReleaseStatus sample() {
  ReleaseStatus s;
  s.version = "1.4.2";
  s.state = ReleaseState::partial;
  s.pieces_verified = 3;
  s.pieces_downloaded = 4;
  s.pieces_total = 10;
  s.bytes_total = 10485760;
  s.bytes_verified = 3145728;
  s.bytes_downloaded_session = 4194304;
  s.bytes_from_local = 2097152;
  s.bytes_uploaded_session = 1;
  s.bytes_redundant_session = 16384;
  s.peers = 2;
  s.download_rate = 1000;
  s.upload_rate = 7;
  s.reads_waited = 5;
  s.read_wait_p50_seconds = 0.25;
  s.read_wait_p99_seconds = 1.5;
  s.reads_waiting = 1;
  return s;
}

}  // namespace

TEST(ReleaseState, EveryStateHasOneNameThatParsesBack) {
  EXPECT_EQ(swarm::kReleaseStates.size(), 5u);
  for (auto s : swarm::kReleaseStates) EXPECT_EQ(swarm::parse_release_state(swarm::to_string(s)), s);
  EXPECT_EQ(swarm::to_string(ReleaseState::seeding), "seeding");
  EXPECT_FALSE(swarm::parse_release_state("done"));
}

TEST(ReleaseStatus, JsonKeepsTheWireNamesAndRoundTrips) {
  nlohmann::json j = sample();
  EXPECT_EQ(j["state"], "partial");
  EXPECT_EQ(j["bytes_verified"], 3145728);
  EXPECT_EQ(j["read_wait_p99_seconds"], 1.5);
  EXPECT_EQ(j["bytes_from_local"], 2097152);
  EXPECT_EQ(j["bytes_redundant_session"], 16384);
  EXPECT_EQ(j.size(), 19u);
  auto back = j.get<ReleaseStatus>();
  EXPECT_EQ(nlohmann::json(back), j);
}

TEST(ReleaseStatus, AnOlderDaemonWithoutLocalBytesStillParses) {
  nlohmann::json j = sample();
  j.erase("bytes_from_local");
  j.erase("bytes_redundant_session");
  EXPECT_EQ(j.get<ReleaseStatus>().bytes_from_local, 0);
  EXPECT_EQ(j.get<ReleaseStatus>().bytes_redundant_session, 0);
}

TEST(ReleaseStatus, ADaemonSpeakingAnotherFormatIsOneClearError) {
  nlohmann::json j = sample();
  j.erase("peers");
  EXPECT_THROW(j.get<ReleaseStatus>(), UserError);
  j = sample();
  j["state"] = "flying";
  EXPECT_THROW(j.get<ReleaseStatus>(), UserError);
}

TEST(Metrics, PrometheusTextHasEveryFigureLabelledByVersion) {
  auto s = sample();
  s.version = "we\"ird";
  auto text = daemon::prometheus_text({s}, {.pid = 7, .serving_since_ms = 1500, .takeovers = 3, .replayed_requests = 2});
  EXPECT_NE(text.find("# TYPE rookery_release_bytes_verified gauge\nrookery_release_bytes_verified{version=\"we\\\"ird\"} 3145728\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE rookery_release_uploaded_bytes_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("rookery_release_read_wait_seconds{version=\"we\\\"ird\",quantile=\"0.99\"} 1.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("rookery_release_state{version=\"we\\\"ird\",state=\"partial\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("rookery_release_state{version=\"we\\\"ird\",state=\"landed\"} 0\n"), std::string::npos);
  int samples = 0;
  for (std::size_t at = 0; (at = text.find("\nrookery_", at)) != std::string::npos; ++at) ++samples;
  EXPECT_EQ(samples, 13 + 2 + 5 + 3);  // thirteen figures, two quantiles, five states, three of the server
  EXPECT_NE(text.find("rookery_release_redundant_bytes_total{version=\"we\\\"ird\"} 16384\n"), std::string::npos);
  EXPECT_NE(text.find("rookery_release_bytes_from_local{version=\"we\\\"ird\"} 2097152\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE rookery_takeovers_total counter\nrookery_takeovers_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("\nrookery_server_start_time_seconds 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("\nrookery_replayed_requests_total 2\n"), std::string::npos);
  EXPECT_EQ(daemon::prometheus_text({}, {}).find("{"), std::string::npos);  // no release: no labels
  EXPECT_EQ(text.find("catalog_watch"), std::string::npos);  // no watch: no watch figures
}

TEST(Metrics, TheCatalogWatchOnceItHasRun) {
  daemon::ServerStatus server{.pid = 7};
  server.catalog_watch = {.interval_seconds = 60, .rounds = 0};
  EXPECT_EQ(daemon::prometheus_text({}, server).find("catalog_watch"), std::string::npos);  // no round yet
  server.catalog_watch = {.interval_seconds = 60, .rounds = 2, .last_round_ms = 4500, .last_error = "refused"};
  auto text = daemon::prometheus_text({}, server);
  EXPECT_NE(text.find("\nrookery_catalog_watch_last_round_time_seconds 4.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE rookery_catalog_watch_failing gauge\nrookery_catalog_watch_failing 1\n"),
            std::string::npos);
  server.catalog_watch.last_error.clear();
  EXPECT_NE(daemon::prometheus_text({}, server).find("\nrookery_catalog_watch_failing 0\n"), std::string::npos);
}

TEST(WaitStats, QuantilesAreBucketUpperBoundsWithin19Percent) {
  swarm::WaitStats w;
  EXPECT_EQ(w.count(), 0u);
  EXPECT_EQ(w.quantile(0.5), 0);
  for (int i = 0; i < 99; ++i) w.record(std::chrono::microseconds(1000));  // 1 ms
  w.record(std::chrono::microseconds(1000000));                            // 1 s
  EXPECT_EQ(w.count(), 100u);
  double p50 = w.quantile(0.5), p99 = w.quantile(0.99), max = w.quantile(1.0);
  EXPECT_GE(p50, 0.001);
  EXPECT_LE(p50, 0.001 * 1.19);
  EXPECT_DOUBLE_EQ(p99, p50);  // the 99th of 100 is still 1 ms
  EXPECT_GE(max, 1.0);
  EXPECT_LE(max, 1.19);
  w.record(std::chrono::microseconds(0));  // counted in the first bucket, not lost
  EXPECT_EQ(w.count(), 101u);
}
