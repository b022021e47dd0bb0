// The mount daemon's control socket: a Unix stream socket in the cache directory (mode 0600, so
// only the daemon's user, normally root, can talk to it). One JSON object per connection each way:
//
//   {"command": "status"}                      -> {"releases": [...]}           (same as status.json)
//   {"command": "prefetch", "version": "V"}    -> {"ok": true} | {"error": "..."}
//   {"command": "wait", "version": "V", "timeout_ms": T}
//                                              -> {"release": {...}} once V has every piece verified,
//                                                 or after T ms (at most 10 s) with its progress
//   {"command": "trace", "version": "V"}       -> {"ranges": [...]} (catalog/hot_set.hpp)
//   {"command": "gc", "max_bytes": N}           -> {"removed": [...], "bytes": N}
//
// The server answers on its own thread, one request at a time; a handler's exception becomes
// {"error": what()}. A handler may put a request off (a wait): the server keeps its connection,
// answers other requests meanwhile, and asks the handler again whenever recheck() says that what
// it waits for may have changed (the daemon: a piece became readable), and every `recheck_every`
// for the handler's own time bounds. That is how `rookery prefetch` learns of completion within
// milliseconds, with neither a client polling the status nor the server waking 100 times a second
// (it did: at 64 hosts, those wake-ups were ~5% of the lab's CPU).
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"

namespace rookery::control {

class Server {
 public:
  using Clock = std::chrono::steady_clock;
  // Answers, or returns std::nullopt to be asked again; `since` is when the request arrived, so a
  // handler that puts requests off bounds their wait itself.
  using Handler = std::function<std::optional<nlohmann::json>(const nlohmann::json& request, Clock::time_point since)>;
  // How many requests may wait at once (more are refused).
  static constexpr std::size_t kMaxWaiting = 64;
  // Binds the socket (replacing a stale one left by a killed daemon). Throws UserError.
  // `recheck_every`: how late past its own bound a put-off request may be answered.
  Server(std::filesystem::path socket_path, Handler handler,
         std::chrono::milliseconds recheck_every = std::chrono::milliseconds(250));
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Asks the put-off requests again now. Any thread; never blocks.
  void recheck();

 private:
  struct Waiting {
    FileDescriptor client;
    nlohmann::json request;
    Clock::time_point since;
  };
  void serve();
  void accept_one(std::vector<Waiting>& waiting);
  // Runs the handler; writes its answer and returns true, or returns false when it puts the request off.
  bool answer(int client, const nlohmann::json& request, Clock::time_point since);
  std::filesystem::path path_;
  Handler handler_;
  std::chrono::milliseconds recheck_every_;
  FileDescriptor listener_, wake_read_, wake_write_;  // wake: stop serving
  FileDescriptor recheck_read_, recheck_write_;       // non-blocking: a full pipe already asks
  std::thread thread_;
};

// No daemon listens on the socket (none running, or a socket left by a killed one).
class DaemonUnreachable : public UserError {
 public:
  using UserError::UserError;
};

// Sends one request and returns the answer. Throws DaemonUnreachable when nothing listens on the
// socket, UserError naming the socket when the daemon does not answer within `timeout`, and
// UserError with the daemon's own message when it answers with an error.
nlohmann::json request(const std::filesystem::path& socket_path, const nlohmann::json& request,
                       std::chrono::seconds timeout = std::chrono::seconds(30));

}  // namespace rookery::control
