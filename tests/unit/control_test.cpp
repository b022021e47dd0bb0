// The control socket's server: immediate answers, errors as one line, and requests a handler puts
// off (a wait) answered when the handler says so, while other requests go on being answered.
#include "rookery/control/control.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>

#include "test_support.hpp"
#include "user_error.hpp"

namespace rookery::control {
namespace {

using namespace std::chrono_literals;

struct ControlServer : ::testing::Test {
  test::TempDir dir;
  std::filesystem::path socket = dir.path() / "control.sock";
  std::atomic<bool> ready{false};
  std::atomic<int> asked_again{0};
  std::mutex mutex;
  std::set<int> waiting_ids;  // the "id" of every request put off so far
  std::size_t waiting_count() {
    std::lock_guard lock(mutex);
    return waiting_ids.size();
  }
  // "echo" answers at once; "wait" is put off until `ready`, or until its own timeout_ms; "fail" throws.
  Server server{socket, [this](const nlohmann::json& r, Server::Clock::time_point since) -> std::optional<nlohmann::json> {
                  auto command = r.value("command", "");
                  if (command == "echo") return r;
                  if (command == "fail") throw UserError("release 9.9: no such version");
                  if (command == "wait") {
                    auto limit = std::chrono::milliseconds(r.value("timeout_ms", 5000));
                    if (!ready && Server::Clock::now() - since < limit) {
                      ++asked_again;
                      std::lock_guard lock(mutex);
                      waiting_ids.insert(r.value("id", -1));
                      return std::nullopt;
                    }
                    return nlohmann::json{{"ready", ready.load()}};
                  }
                  throw UserError("unknown control command '" + command + "'");
                }};
};

TEST_F(ControlServer, AnswersAtOnceAndReportsErrorsAsTheirMessage) {
  EXPECT_EQ(request(socket, {{"command", "echo"}, {"n", 7}}).at("n"), 7);
  EXPECT_EQ(test::user_error_message([&] { request(socket, {{"command", "fail"}}); }), "release 9.9: no such version");
}

// Callers tell "no daemon there" (a socket left by a killed one: work offline) from a daemon's
// own error (report it): `rookery gc` once took a failed collection for a dead daemon.
TEST_F(ControlServer, NoDaemonIsToldApartFromADaemonsError) {
  EXPECT_THROW(request(dir.path() / "nobody.sock", {{"command", "echo"}}), DaemonUnreachable);
  try {
    request(socket, {{"command", "fail"}});
    ADD_FAILURE() << "no error";
  } catch (const DaemonUnreachable&) {
    ADD_FAILURE() << "a daemon's error taken for an unreachable daemon";
  } catch (const UserError&) {
  }
}

TEST_F(ControlServer, APutOffRequestIsAnsweredWhenItsStateArrivesAndOthersAreServedMeanwhile) {
  auto waiting = std::async(std::launch::async, [&] { return request(socket, {{"command", "wait"}}); });
  while (asked_again == 0) std::this_thread::sleep_for(1ms);
  // The server is not blocked by the waiting request.
  EXPECT_EQ(request(socket, {{"command", "echo"}, {"n", 1}}).at("n"), 1);
  EXPECT_EQ(waiting.wait_for(50ms), std::future_status::timeout);
  ready = true;
  ASSERT_EQ(waiting.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(waiting.get().at("ready"), true);
}

// The state a request waits for arrives: recheck() has it answered at once; without recheck() the
// server would ask again only after its `recheck_every` (an hour here).
TEST(ControlServerRecheck, APutOffRequestIsAskedAgainOnRecheckNotOnATimer) {
  test::TempDir dir;
  std::atomic<bool> ready{false};
  std::atomic<int> asked{0};
  Server server{dir.path() / "control.sock",
                [&](const nlohmann::json&, Server::Clock::time_point) -> std::optional<nlohmann::json> {
                  ++asked;
                  if (!ready) return std::nullopt;
                  return nlohmann::json{{"ready", true}};
                },
                std::chrono::hours(1)};
  auto waiting = std::async(std::launch::async, [&] { return request(dir.path() / "control.sock", {{"command", "wait"}}); });
  while (asked == 0) std::this_thread::sleep_for(1ms);
  ready = true;
  EXPECT_EQ(waiting.wait_for(200ms), std::future_status::timeout);  // nothing asks again by itself
  EXPECT_EQ(asked.load(), 1);
  server.recheck();
  ASSERT_EQ(waiting.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(waiting.get().at("ready"), true);
  EXPECT_EQ(asked.load(), 2);
}

TEST_F(ControlServer, APutOffRequestEndsAtTheHandlersOwnBound) {
  auto answer = request(socket, {{"command", "wait"}, {"timeout_ms", 30}});
  EXPECT_EQ(answer.at("ready"), false);
  EXPECT_GT(asked_again.load(), 0);
}

TEST_F(ControlServer, RefusesWaitersBeyondItsLimitWithAClearError) {
  std::vector<std::future<nlohmann::json>> waiters;
  for (int i = 0; i < static_cast<int>(Server::kMaxWaiting); ++i)
    waiters.push_back(std::async(std::launch::async, [&, i] { return request(socket, {{"command", "wait"}, {"id", i}}); }));
  while (waiting_count() < Server::kMaxWaiting) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(test::user_error_message([&] { request(socket, {{"command", "wait"}}); }),
            "too many requests waiting at the mount daemon: try again");
  ready = true;
  for (auto& w : waiters) EXPECT_EQ(w.get().at("ready"), true);
}

}  // namespace
}  // namespace rookery::control
