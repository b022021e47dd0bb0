#include "rookery/daemon/systemd_fd_store.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <spdlog/spdlog.h>
#include <sstream>

#include "rookery/common/error.hpp"

namespace rookery::daemon {
namespace {

constexpr int kFirstPassedFd = 3;  // SD_LISTEN_FDS_START

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

SystemdFdStore::SystemdFdStore() : socket_path_(environment("NOTIFY_SOCKET")) {
  if (socket_path_.empty()) {
    throw UserError("--holder systemd: NOTIFY_SOCKET is not set; run this from a systemd unit with Type=notify "
                    "and FileDescriptorStoreMax=2 (packaging/systemd/rookery-mount.service), or use --holder supervisor");
  }
  if (socket_path_[0] == '@') socket_path_[0] = '\0';
  std::string pid = environment("LISTEN_PID"), count = environment("LISTEN_FDS"), names = environment("LISTEN_FDNAMES");
  for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) ::unsetenv(name);
  if (pid.empty() || std::strtol(pid.c_str(), nullptr, 10) != ::getpid()) return;  // meant for another process
  int n = static_cast<int>(std::strtol(count.c_str(), nullptr, 10));
  std::istringstream list(names);
  std::string name;
  for (int i = 0; i < n; ++i) {
    int fd = kFirstPassedFd + i;
    if (!std::getline(list, name, ':')) name = "unknown";
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    passed_.emplace(name, fd);
  }
}

std::optional<int> SystemdFdStore::passed(const std::string& name) const {
  auto it = passed_.find(name);
  if (it == passed_.end()) return std::nullopt;
  return it->second;
}

bool SystemdFdStore::send(const std::string& state, int fd) {
  int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof address.sun_path) {
    ::close(sock);
    return false;
  }
  std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
  socklen_t address_size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size() +
                                                  (socket_path_[0] == '\0' ? 0 : 1));
  iovec payload{const_cast<char*>(state.data()), state.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
  msghdr message{};
  message.msg_name = &address;
  message.msg_namelen = address_size;
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  if (fd >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
  }
  ssize_t sent;
  do sent = ::sendmsg(sock, &message, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  int error = errno;
  ::close(sock);
  errno = error;
  return sent == static_cast<ssize_t>(state.size());
}

void SystemdFdStore::store(const std::string& name, int fd) {
  if (!send("FDSTORE=1\nFDNAME=" + name, fd)) {
    throw UserError("cannot hand the " + name + " descriptor to systemd's file descriptor store: " +
                    std::strerror(errno));
  }
}

void SystemdFdStore::remove(const std::string& name) {
  if (!send("FDSTOREREMOVE=1\nFDNAME=" + name, -1))
    spdlog::warn("cannot remove the {} descriptor from systemd's store: {}", name, std::strerror(errno));
}

void SystemdFdStore::notify(const std::string& state) {
  if (!send(state, -1)) spdlog::warn("cannot tell systemd '{}': {}", state, std::strerror(errno));
}

}  // namespace rookery::daemon
