#include "rookery/control/control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"

namespace rookery::control {
namespace {

constexpr std::size_t kMaxMessage = 16u << 20;

sockaddr_un address_of(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) {
    throw UserError("control socket path " + path.string() + " is too long: use a shorter --cache path");
  }
  std::strcpy(addr.sun_path, path.c_str());
  return addr;
}

// Reads until the peer's newline, bounded in size and time.
bool read_line(int fd, std::string& out, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (out.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0 || out.size() + static_cast<std::size_t>(n) > kMaxMessage) return false;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

bool write_all(int fd, const std::string& data) {
  for (std::size_t done = 0; done < data.size();) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Server::Server(std::filesystem::path socket_path, Handler handler, std::chrono::milliseconds recheck_every)
    : path_(std::move(socket_path)), handler_(std::move(handler)), recheck_every_(recheck_every) {
  auto addr = address_of(path_);
  listener_ = FileDescriptor(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ::unlink(path_.c_str());  // a socket file left by a killed daemon (the cache lock proves it is dead)
  mode_t old = ::umask(077);
  int rc = ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::listen(listener_.get(), 16) != 0) {
    throw UserError("cannot create control socket " + path_.string() + ": " + std::strerror(errno));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw UserError("cannot create a pipe for the control socket");
  wake_read_ = FileDescriptor(pipe_fds[0]);
  wake_write_ = FileDescriptor(pipe_fds[1]);
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) throw UserError("cannot create a pipe for the control socket");
  recheck_read_ = FileDescriptor(pipe_fds[0]);
  recheck_write_ = FileDescriptor(pipe_fds[1]);
  thread_ = std::thread([this] { serve(); });
}

Server::~Server() {
  if (::write(wake_write_.get(), "x", 1) < 0) spdlog::debug("control: cannot wake the server thread");
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void Server::recheck() {
  // EAGAIN: the pipe is full, so the server has a recheck to see already.
  if (::write(recheck_write_.get(), "r", 1) < 0 && errno != EAGAIN) spdlog::debug("control: cannot ask for a recheck");
}

void Server::serve() {
  std::vector<Waiting> waiting;  // only this thread touches it
  auto next_recheck = Clock::now() + recheck_every_;
  while (true) {
    pollfd fds[3] = {{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}, {recheck_read_.get(), POLLIN, 0}};
    auto left = std::chrono::ceil<std::chrono::milliseconds>(next_recheck - Clock::now());
    int timeout = waiting.empty() ? -1 : static_cast<int>(std::max<std::int64_t>(0, left.count()));
    if (::poll(fds, 3, timeout) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    bool ask_again = Clock::now() >= next_recheck;
    if (fds[2].revents & POLLIN) {
      char drained[256];
      while (::read(recheck_read_.get(), drained, sizeof drained) > 0) {
      }
      ask_again = true;
    }
    if (ask_again) {
      std::erase_if(waiting, [this](const Waiting& w) { return answer(w.client.get(), w.request, w.since); });
      next_recheck = Clock::now() + recheck_every_;
    }
    if (fds[0].revents & POLLIN) accept_one(waiting);  // asks a new request itself
  }
}

void Server::accept_one(std::vector<Waiting>& waiting) {
  FileDescriptor client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!client.valid()) return;
  auto since = Clock::now();
  std::string line;
  if (!read_line(client.get(), line, std::chrono::seconds(5))) return;
  nlohmann::json request;
  try {
    request = nlohmann::json::parse(line);
  } catch (const std::exception& e) {
    write_all(client.get(), nlohmann::json{{"error", std::string("not a JSON request: ") + e.what()}}.dump() + "\n");
    return;
  }
  if (answer(client.get(), request, since)) return;
  if (waiting.size() >= kMaxWaiting) {
    write_all(client.get(), nlohmann::json{{"error", "too many requests waiting at the mount daemon: try again"}}.dump() + "\n");
    return;
  }
  waiting.push_back({std::move(client), std::move(request), since});
}

bool Server::answer(int client, const nlohmann::json& request, Clock::time_point since) {
  std::optional<nlohmann::json> answer;
  try {
    answer = handler_(request, since);
  } catch (const std::exception& e) {
    answer = nlohmann::json{{"error", e.what()}};
  }
  if (!answer) return false;
  write_all(client, answer->dump() + "\n");
  return true;
}

nlohmann::json request(const std::filesystem::path& socket_path, const nlohmann::json& req,
                       std::chrono::seconds timeout) {
  auto addr = address_of(socket_path);
  FileDescriptor fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw DaemonUnreachable("cannot reach the mount daemon at " + socket_path.string() + " (" + std::strerror(errno) +
                    "): is `rookery mount` running with this --cache?");
  }
  std::string line;
  if (!write_all(fd.get(), req.dump() + "\n") || !read_line(fd.get(), line, timeout)) {
    throw UserError("the mount daemon at " + socket_path.string() + " did not answer within " +
                    std::to_string(timeout.count()) + " s");
  }
  auto answer = nlohmann::json::parse(line);
  if (answer.contains("error")) throw UserError(answer["error"].get<std::string>());
  return answer;
}

}  // namespace rookery::control
