#include "rookery/common/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "rookery/common/error.hpp"

namespace rookery {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

namespace {

// Writes all of `contents` at the descriptor's offset; throws naming `path` (what the user knows).
void write_all(int fd, std::string_view contents, const std::filesystem::path& path) {
  const char* p = contents.data();
  std::size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw UserError("cannot write " + path.string() + ": " + std::strerror(errno));
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view contents, int mode,
                           Durability durability) {
  std::random_device rd;
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) throw UserError("cannot write " + tmp.string() + ": " + std::strerror(errno));
  try {
    write_all(fd.get(), contents, tmp);
  } catch (const UserError&) {
    ::unlink(tmp.c_str());
    throw;
  }
  ::fchmod(fd.get(), mode);  // O_CREAT's mode is filtered by the umask; the published mode is not
  if ((durability == Durability::synced && ::fsync(fd.get()) != 0) || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw UserError("cannot replace " + path.string() + ": " + std::strerror(err));
  }
}

void rewrite_snapshot_file(const std::filesystem::path& path, std::string_view contents, int mode) {
  auto twin = path.parent_path() / ("." + path.filename().string() + ".next");
  FileDescriptor fd(::open(twin.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) throw UserError("cannot write " + twin.string() + ": " + std::strerror(errno));
  write_all(fd.get(), contents, twin);
  if (::ftruncate(fd.get(), static_cast<off_t>(contents.size())) != 0)
    throw UserError("cannot write " + twin.string() + ": " + std::strerror(errno));
  ::fchmod(fd.get(), mode);
  if (::renameat2(AT_FDCWD, twin.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) return;
  // ENOENT: the first write, nothing to exchange with yet. EINVAL: a file system without exchange.
  if ((errno != ENOENT && errno != EINVAL) || ::rename(twin.c_str(), path.c_str()) != 0)
    throw UserError("cannot replace " + path.string() + ": " + std::strerror(errno));
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

}  // namespace rookery
