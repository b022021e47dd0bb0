// daemon::SystemdFdStore against systemd's side of the protocol, played by a datagram socket: the
// messages and descriptors it sends, and the descriptors it takes from LISTEN_FDS.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "rookery/common/error.hpp"
#include "rookery/daemon/systemd_fd_store.hpp"

using rookery::UserError;
using rookery::daemon::SystemdFdStore;

namespace {

// The manager's notify socket: bound at `address` ("@..." for an abstract one).
class FakeManager {
 public:
  explicit FakeManager(const std::string& address) {
    if (address[0] != '@') path_ = address;
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::string path = address;
    if (path[0] == '@') path[0] = '\0';
    std::memcpy(sa.sun_path, path.data(), path.size());
    socklen_t size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] ? 1 : 0));
    if (path[0]) ::unlink(path.c_str());
    EXPECT_EQ(0, ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), size)) << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", address.c_str(), 1);
  }
  ~FakeManager() {
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
    ::unsetenv("NOTIFY_SOCKET");
  }

  struct Message {
    std::string text;
    int fd = -1;
  };
  Message receive() {
    char text[256];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    iovec iov{text, sizeof text};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    Message m;
    if (n < 0) return m;
    m.text.assign(text, static_cast<std::size_t>(n));
    if (cmsghdr* c = CMSG_FIRSTHDR(&msg); c && c->cmsg_type == SCM_RIGHTS) std::memcpy(&m.fd, CMSG_DATA(c), sizeof(int));
    return m;
  }

 private:
  int fd_;
  std::string path_;  // a socket file to remove; empty for an abstract socket
};

std::string socket_path() { return ::testing::TempDir() + "rookery-notify-" + std::to_string(::getpid()); }

ino_t inode(int fd) {
  struct stat st{};
  ::fstat(fd, &st);
  return st.st_ino;
}

}  // namespace

TEST(SystemdFdStore, RefusesToRunWithoutSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  try {
    SystemdFdStore store;
    FAIL() << "accepted a process not run by systemd";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("NOTIFY_SOCKET is not set"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--holder supervisor"), std::string::npos) << e.what();
  }
}

TEST(SystemdFdStore, StoresADescriptorUnderItsName) {
  FakeManager manager(socket_path());
  SystemdFdStore store;
  int pipe_fds[2];
  ASSERT_EQ(0, ::pipe(pipe_fds));
  store.store("fuse", pipe_fds[0]);
  auto m = manager.receive();
  EXPECT_EQ("FDSTORE=1\nFDNAME=fuse", m.text);
  ASSERT_GE(m.fd, 0);
  EXPECT_NE(pipe_fds[0], m.fd);  // the manager's own copy
  EXPECT_EQ(inode(pipe_fds[0]), inode(m.fd));
  store.remove("fuse");
  EXPECT_EQ("FDSTOREREMOVE=1\nFDNAME=fuse", manager.receive().text);
  store.notify("READY=1");
  auto ready = manager.receive();
  EXPECT_EQ("READY=1", ready.text);
  EXPECT_EQ(-1, ready.fd);
  for (int fd : {pipe_fds[0], pipe_fds[1], m.fd}) ::close(fd);
}

TEST(SystemdFdStore, SpeaksToAnAbstractSocket) {
  FakeManager manager("@rookery-notify-" + std::to_string(::getpid()));
  SystemdFdStore store;
  store.notify("READY=1");
  EXPECT_EQ("READY=1", manager.receive().text);
}

TEST(SystemdFdStore, TakesTheDescriptorsPassedToThisProcessByName) {
  FakeManager manager(socket_path());
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "2", 1);
  ::setenv("LISTEN_FDNAMES", "fuse:state", 1);
  SystemdFdStore store;
  EXPECT_EQ(3, store.passed("fuse"));
  EXPECT_EQ(4, store.passed("state"));
  EXPECT_FALSE(store.passed("other"));
  for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"})
    EXPECT_EQ(nullptr, std::getenv(name)) << name << " would reach child processes";
}

TEST(SystemdFdStore, IgnoresDescriptorsMeantForAnotherProcess) {
  FakeManager manager(socket_path());
  ::setenv("LISTEN_PID", std::to_string(::getppid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "2", 1);
  ::setenv("LISTEN_FDNAMES", "fuse:state", 1);
  SystemdFdStore store;
  EXPECT_FALSE(store.passed("fuse"));
  EXPECT_FALSE(store.passed("state"));
}
