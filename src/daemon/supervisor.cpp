#include "rookery/daemon/supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <string>
#include <thread>
#include <vector>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"

namespace rookery::daemon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kServeEnvironment = "ROOKERY_SERVE_FDS";  // "FUSE,STATE,READY"
// A serving process that served this long before dying counts as healthy: the next restart is
// immediate and the failure count starts again. One that dies sooner (or before serving at all)
// may be failing on what it inherits, e.g. a request it cannot answer: restarts back off, and
// after five the mount is aborted.
constexpr auto kHealthyAfter = std::chrono::seconds(1);
constexpr int kMaxQuickFailures = 5;
// A serving process asked to stop that is still there after this is killed.
constexpr auto kStopTimeout = std::chrono::seconds(20);

std::vector<std::string> own_command_line() {
  std::string all = read_file("/proc/self/cmdline");
  std::vector<std::string> args;
  for (std::size_t start = 0; start < all.size();) {
    auto end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

void keep_across_exec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) & ~FD_CLOEXEC); }

struct Child {
  pid_t pid = -1;
  FileDescriptor ready;  // read end; the child writes one byte once it answers requests
  Clock::time_point started, serving_since;
  bool serving = false;
  bool upgraded = false;  // started to replace a process that exited for an upgrade
};

class Supervisor {
 public:
  Supervisor(const fuse::MountOptions& mount, const SupervisorOptions& options)
      : mount_(mount), options_(options), command_line_(own_command_line()) {
    std::error_code ec;
    binary_ = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  }

  int run() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
    sigprocmask(SIG_BLOCK, &signals, &original_mask_);
    FileDescriptor signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC));
    if (!signal_fd.valid()) throw UserError(std::string("cannot watch signals: ") + std::strerror(errno));

    fuse::MountedConnection connection(mount_);
    auto state = hold_new_connection(connection, mount_.mountpoint, options_.replay);

    Child child = spawn(connection.fd(), state.fd());
    int quick_failures = 0;
    bool stopping = false, ever_served = false;
    Clock::time_point stop_deadline;
    while (true) {
      int timeout_ms = -1;
      if (stopping || !child.serving) {
        auto left = (stopping ? stop_deadline : child.started + options_.takeover_timeout) - Clock::now();
        timeout_ms = static_cast<int>(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
      }
      pollfd fds[2] = {{signal_fd.get(), POLLIN, 0}, {child.ready.get(), POLLIN, 0}};
      int n = ::poll(fds, child.ready.valid() ? 2 : 1, timeout_ms);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 && stopping) {
        spdlog::warn("{}: the serving process {} did not stop within {} s: killing it", mount_.mountpoint, child.pid,
                     kStopTimeout.count());
        ::kill(child.pid, SIGKILL);
        stop_deadline = Clock::now() + std::chrono::hours(24);  // its SIGCHLD ends the loop
        continue;
      }
      if (n == 0) {
        spdlog::error("mount {} aborted: the serving process (pid {}) did not answer requests within {} s of its "
                      "start; programs using the mount now get ENOTCONN (see the lines above for why)",
                      mount_.mountpoint, child.pid, options_.takeover_timeout.count());
        ::kill(child.pid, SIGKILL);
        ::waitpid(child.pid, nullptr, 0);
        connection.abort();
        return 1;
      }
      if (child.ready.valid() && (fds[1].revents & (POLLIN | POLLHUP))) {
        char byte;
        if (::read(child.ready.get(), &byte, 1) == 1) {
          // Said once the mount answers requests and the control socket is up, so scripts that
          // wait for this line can use both at once.
          if (!ever_served) spdlog::info("mounted at {}", mount_.mountpoint);
          child.serving = ever_served = true;
          child.serving_since = Clock::now();
        }
        child.ready = FileDescriptor();
      }
      if (!(fds[0].revents & POLLIN)) continue;
      signalfd_siginfo info;
      if (::read(signal_fd.get(), &info, sizeof info) != sizeof info) continue;
      if (info.ssi_signo != SIGCHLD) {
        if (!stopping) stop_deadline = Clock::now() + kStopTimeout;
        stopping = true;
        ::kill(child.pid, SIGTERM);
        continue;
      }
      int status = 0;
      if (::waitpid(child.pid, &status, WNOHANG) != child.pid) continue;
      if (stopping) break;
      // Exit 0 means the session ended: unmounted (the mount is gone), or the serving process was
      // stopped on its own (the mount is still there: serve it with a new one).
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !fuse::mount_device(mount_.mountpoint)) break;
      bool upgrade = WIFEXITED(status) && WEXITSTATUS(status) == kExitForUpgrade;
      std::string how = WIFSIGNALED(status) ? std::string("killed by ") + strsignal(WTERMSIG(status))
                                            : "exited with status " + std::to_string(WEXITSTATUS(status));
      if (!ever_served && !upgrade) {
        spdlog::error("mount {}: the serving process {} before it answered a request (see above)", mount_.mountpoint, how);
        return 1;  // nothing used the mount yet: unmounted normally
      }
      if (upgrade) {
        quick_failures = 0;
        own_image_ = false;
        spdlog::info("{}: serving process {} handed over for an upgrade: starting {}", mount_.mountpoint, child.pid,
                     binary_);
      } else if (child.upgraded && !child.serving) {
        // The binary on disk cannot take the mount over (broken, or another takeover-state layout):
        // keep the mount with the binary this supervisor runs, which served it before.
        own_image_ = true;
        spdlog::error("{}: the new binary {} {} before serving: the mount goes on with the supervisor's own "
                      "binary; fix the binary on disk and run rookery upgrade again",
                      mount_.mountpoint, binary_, how);
      } else {
        quick_failures = child.serving && Clock::now() - child.serving_since >= kHealthyAfter ? 0 : quick_failures + 1;
        if (quick_failures >= kMaxQuickFailures) {
          spdlog::error("mount {} aborted: {} serving processes in a row died within {} s of serving (the last {}); "
                        "programs using the mount now get ENOTCONN",
                        mount_.mountpoint, kMaxQuickFailures, kHealthyAfter.count(), how);
          connection.abort();
          return 1;
        }
        spdlog::warn("{}: serving process {} {}: a new one takes the mount over", mount_.mountpoint, child.pid, how);
        if (quick_failures > 1) std::this_thread::sleep_for(std::chrono::milliseconds(250 << std::min(quick_failures - 2, 4)));
      }
      bool upgraded = upgrade;
      child = spawn(connection.fd(), state.fd());
      child.upgraded = upgraded;
    }
    connection.unmount();
    spdlog::info("unmounted {}", mount_.mountpoint);
    return 0;
  }

 private:
  Child spawn(int fuse_fd, int state_fd) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) throw UserError(std::string("cannot create a pipe: ") + std::strerror(errno));
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw UserError(std::string("cannot start the serving process: ") + std::strerror(errno));
    if (pid == 0) {
      // The supervisor has a single thread, so the child may call anything before exec.
      ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the mount ends with its holder
      if (::getppid() != parent) ::_exit(1);
      keep_across_exec(fuse_fd);
      keep_across_exec(state_fd);
      keep_across_exec(ready[1]);
      char fds[64];
      std::snprintf(fds, sizeof fds, "%d,%d,%d", fuse_fd, state_fd, ready[1]);
      ::setenv(kServeEnvironment, fds, 1);
      std::vector<char*> argv;
      for (auto& a : command_line_) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (!own_image_) ::execv(binary_.c_str(), argv.data());
      ::execv("/proc/self/exe", argv.data());  // the supervisor's own image (also when it was removed)
      ::_exit(127);
    }
    ::close(ready[1]);
    Child child;
    child.pid = pid;
    child.ready = FileDescriptor(ready[0]);
    child.started = Clock::now();
    return child;
  }

  fuse::MountOptions mount_;
  SupervisorOptions options_;
  std::vector<std::string> command_line_;
  std::string binary_;
  sigset_t original_mask_{};
  bool own_image_ = false;  // the binary on disk failed to take over after an upgrade
};

}  // namespace

std::optional<InheritedConnection> inherited_connection() {
  const char* value = std::getenv(kServeEnvironment);
  if (!value) return std::nullopt;
  InheritedConnection c{};
  if (std::sscanf(value, "%d,%d,%d", &c.fuse_fd, &c.state_fd, &c.ready_fd) != 3)
    throw UserError(std::string("malformed ") + kServeEnvironment + " '" + value + "'");
  ::unsetenv(kServeEnvironment);
  return c;
}

fuse::TakeoverState hold_new_connection(fuse::MountedConnection& connection, const std::string& mountpoint,
                                        ReplayChoice choice) {
  auto init = connection.read_init_request();
  auto replay = choice == ReplayChoice::automatic && fuse::MountedConnection::offers_resend(init)
                    ? fuse::InflightReplay::resend
                    : fuse::InflightReplay::journal;
  spdlog::debug("{}: requests in flight at a takeover will be answered by {}", mountpoint, fuse::to_string(replay));
  return fuse::TakeoverState::create(init, replay);
}

int run_supervisor(const fuse::MountOptions& mount, const SupervisorOptions& options) {
  return Supervisor(mount, options).run();
}

}  // namespace rookery::daemon
