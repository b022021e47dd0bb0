// The mount daemon's control socket: a Unix stream socket in the cache directory (mode 0600, so
// only the daemon's user, normally root, can talk to it). One JSON object per connection each way:
//
//   {"command": "status"}                      -> {"releases": [...]}           (same as status.json)
//   {"command": "prefetch", "version": "V"}    -> {"ok": true} | {"error": "..."}
//   {"command": "trace", "version": "V"}       -> {"ranges": [...]} (catalog/hot_set.hpp)
//   {"command": "gc", "max_bytes": N}           -> {"removed": [...], "bytes": N}
//
// The server answers on its own thread; a handler's exception becomes {"error": what()}.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "rookery/common/files.hpp"

namespace rookery::control {

class Server {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;
  // Binds the socket (replacing a stale one left by a killed daemon). Throws UserError.
  Server(std::filesystem::path socket_path, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  void serve();
  std::filesystem::path path_;
  Handler handler_;
  FileDescriptor listener_, wake_read_, wake_write_;
  std::thread thread_;
};

// Sends one request and returns the answer. Throws UserError naming the socket when the daemon
// cannot be reached or does not answer within `timeout`.
nlohmann::json request(const std::filesystem::path& socket_path, const nlohmann::json& request,
                       std::chrono::seconds timeout = std::chrono::seconds(30));

}  // namespace rookery::control
