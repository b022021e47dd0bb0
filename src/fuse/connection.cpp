#define FUSE_USE_VERSION 314
#include "rookery/fuse/connection.hpp"

#include <fuse_lowlevel.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <spdlog/spdlog.h>
#include <sstream>

#include "rookery/common/error.hpp"

namespace rookery::fuse {
namespace {

// Kernels >= 6.9 (FUSE 7.40, flags2 bit 7 of INIT: FUSE_HAS_RESEND): requests can be requeued with FUSE_NOTIFY_RESEND.
constexpr std::uint32_t kHasResendFlags2 = 1u << (39 - 32);
// The largest request a new connection can send before INIT fixes max_write (libfuse's default buffer).
constexpr std::size_t kInitReadBuffer = 256 * 4096 + 4096;

// Lazily, as libfuse unmounts its own: a program with a file open keeps it until it closes it.
// fusermount3 (setuid) does it where umount2 is not permitted; run without a shell, so a mount
// point's name is never interpreted.
bool detach(const std::string& mountpoint) {
  if (::umount2(mountpoint.c_str(), MNT_DETACH) == 0) return true;
  std::string program = "fusermount3", u = "-u", z = "-z", path = mountpoint;
  char* argv[] = {program.data(), u.data(), z.data(), path.data(), nullptr};
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int status = 0;
  bool ok = posix_spawnp(&pid, "fusermount3", &quiet, nullptr, argv, environ) == 0 &&
            ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  posix_spawn_file_actions_destroy(&quiet);
  return ok;
}

// A daemon killed with SIGKILL leaves its mount point answering ENOTCONN to everything; detach it
// so the new daemon can mount there without a manual fusermount -u.
void recover_stale_mount(const std::string& mountpoint) {
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) == 0 || errno != ENOTCONN) return;
  if (detach(mountpoint)) spdlog::warn("{}: detached a stale mount left by a previous daemon", mountpoint);
  else spdlog::warn("{}: a stale mount left by a previous daemon could not be detached", mountpoint);
}

// /proc/self/mountinfo escapes space, tab, newline and backslash as octal.
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// The absolute path the kernel shows for the mount point, found without stat()ing it.
std::string kernel_path(const std::string& mountpoint) {
  std::filesystem::path p = std::filesystem::absolute(mountpoint).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::error_code ec;
  auto parent = std::filesystem::canonical(p.parent_path(), ec);
  return (ec ? p : parent / p.filename()).string();
}

}  // namespace

MountedConnection::MountedConnection(const MountOptions& options) : mountpoint_(options.mountpoint) {
  recover_stale_mount(mountpoint_);
  struct stat st;
  if (::stat(mountpoint_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UserError("mount point " + mountpoint_ + " is not a directory: create it first");
  }
  // ro: the kernel itself refuses writes with EROFS. default_permissions: the kernel checks modes.
  // nosuid,nodev: a release can ship neither set-uid programs nor device nodes that take effect.
  std::string opts = "ro,default_permissions,nosuid,nodev,fsname=rookery,subtype=rookery";
  if (options.allow_other) opts += ",allow_other";
  std::vector<const char*> argv = {"rookery", "-o", opts.c_str()};
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  static const fuse_lowlevel_ops kNoOperations{};  // this session only mounts; serving is elsewhere
  session_ = fuse_session_new(&args, &kNoOperations, sizeof kNoOperations, nullptr);
  if (!session_) throw UserError("cannot create the FUSE session (is the fuse3 package installed?)");
  if (fuse_session_mount(session_, mountpoint_.c_str()) != 0) {
    fuse_session_destroy(session_);
    throw UserError("cannot mount on " + mountpoint_ +
                    ": is /dev/fuse available and are you root (or is fusermount3 installed)?");
  }
  mounted_ = true;
}

MountedConnection::MountedConnection(const MountOptions& options, int fd)
    : mountpoint_(options.mountpoint), adopted_fd_(fd), mounted_(true) {}

MountedConnection::~MountedConnection() {
  unmount();
  if (session_) fuse_session_destroy(session_);
  if (adopted_fd_ >= 0) ::close(adopted_fd_);
}

int MountedConnection::fd() const { return session_ ? fuse_session_fd(session_) : adopted_fd_; }

std::vector<char> MountedConnection::read_init_request() {
  std::vector<char> buf(kInitReadBuffer);
  ssize_t n;
  do n = ::read(fd(), buf.data(), buf.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) throw UserError("cannot read the kernel's first FUSE request on " + mountpoint_ + ": " + std::strerror(errno));
  fuse_in_header header{};
  if (static_cast<std::size_t>(n) >= sizeof header) std::memcpy(&header, buf.data(), sizeof header);
  if (static_cast<std::size_t>(n) < sizeof header + 4 * sizeof(std::uint32_t) || header.opcode != FUSE_INIT ||
      header.len != static_cast<std::uint32_t>(n)) {
    throw UserError("the kernel's first request on " + mountpoint_ + " is not a FUSE INIT (opcode " +
                    std::to_string(header.opcode) + "): the connection is in an unexpected state");
  }
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

bool MountedConnection::offers_resend(const std::vector<char>& init) {
  if (init.size() < sizeof(fuse_in_header) + 5 * sizeof(std::uint32_t)) return false;
  std::uint32_t words[5];  // major, minor, max_readahead, flags, flags2
  std::memcpy(words, init.data() + sizeof(fuse_in_header), sizeof words);
  return (words[3] & FUSE_INIT_EXT) && (words[4] & kHasResendFlags2);
}

void MountedConnection::unmount() {
  if (!mounted_) return;
  mounted_ = false;
  if (session_) {
    fuse_session_unmount(session_);
  } else if (!detach(mountpoint_)) {
    spdlog::warn("{}: could not detach the mount", mountpoint_);
  }
}

std::optional<dev_t> mount_device(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string want = kernel_path(mountpoint), line;
  std::optional<dev_t> found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    fields >> id >> parent >> device >> root >> point;
    auto type_at = line.find(" - ");
    if (type_at == std::string::npos || line.compare(type_at + 3, 4, "fuse") != 0) continue;
    if (unescape_mountinfo(point) != want) continue;
    unsigned major_no = 0, minor_no = 0;
    if (std::sscanf(device.c_str(), "%u:%u", &major_no, &minor_no) == 2) found = makedev(major_no, minor_no);
  }
  return found;  // the last one listed is the one on top
}

void MountedConnection::abort() {
  if (!mounted_) return;
  mounted_ = false;
  const std::string& mountpoint = mountpoint_;
  if (auto dev = mount_device(mountpoint)) {
    // The fusectl entry is named by the kernel's device number (major << 20 | minor).
    auto name = std::to_string((major(*dev) << 20) | minor(*dev));
    std::ofstream abort_file("/sys/fs/fuse/connections/" + name + "/abort");
    if (abort_file) abort_file << "1\n";
  }
  if (!detach(mountpoint)) spdlog::warn("{}: could not detach the mount", mountpoint);
  // Closing the last descriptor of the connection (this one, as the process exits) aborts it too.
}

}  // namespace rookery::fuse
