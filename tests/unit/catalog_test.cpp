// The catalog client over HTTP: a lookup that needs only the held index never waits behind a slow
// fetch of a fresh one (a catalog watch's poll, or a lookup of an unknown name).
#include "rookery/catalog/catalog.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>

namespace rookery::catalog {
namespace {

using namespace std::chrono_literals;

// Answers every request with the same index; from the second request on, only once released.
class HeldBackServer {
 public:
  HeldBackServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listener_, 8) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot listen on loopback");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HeldBackServer() {
    release();
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  void wait_for_second_request() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return requests_ >= 2; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  void serve() {
    for (;;) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(client, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      {
        std::unique_lock lock(mutex_);
        ++requests_;
        cv_.notify_all();
        if (requests_ >= 2) cv_.wait(lock, [this] { return released_; });
      }
      std::string body = R"({"format": 1, "releases": [{"version": "1.0"}]})";
      std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\nConnection: close\r\n\r\n" + body;
      (void)!::write(client, reply.data(), reply.size());
      ::close(client);
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  int requests_ = 0;
  bool released_ = false;
  std::thread thread_;
};

TEST(Catalog, TheHeldIndexIsReadWhileAFreshOneIsFetched) {
  HeldBackServer server;
  Catalog catalog(server.url(), std::chrono::seconds(20));
  ASSERT_EQ(catalog.index(0ms).releases.size(), 1u);  // now held
  auto fetching = std::async(std::launch::async, [&] { return catalog.index(0ms); });
  server.wait_for_second_request();  // the fresh fetch is under way, and held back
  auto held = std::async(std::launch::async, [&] { return catalog.held_record("1.0"); });
  EXPECT_EQ(held.wait_for(2s), std::future_status::ready);  // not behind the fetch
  server.release();
  auto record = held.get();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->version, "1.0");
  EXPECT_EQ(fetching.get().releases.size(), 1u);
}

}  // namespace
}  // namespace rookery::catalog
