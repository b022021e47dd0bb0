#include "rookery/store/cache_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

#include "rookery/common/error.hpp"

namespace rookery::store {

CacheDir::CacheDir(std::filesystem::path root) : root_(std::filesystem::absolute(std::move(root))) {
  std::error_code ec;
  std::filesystem::create_directories(root_ / "releases", ec);
  if (ec) throw UserError("cannot create cache directory " + root_.string() + ": " + ec.message());
  std::filesystem::permissions(root_, std::filesystem::perms::owner_all, ec);
  lock_ = FileDescriptor(::open((root_ / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_.valid()) throw UserError("cannot open " + (root_ / ".lock").string() + ": " + std::strerror(errno));
  if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    throw UserError("cache directory " + root_.string() +
                    " is in use by another rookery daemon: give each mount its own --cache");
  }
}

CacheDir CacheDir::unlocked(std::filesystem::path root) {
  CacheDir dir;
  dir.root_ = std::filesystem::absolute(std::move(root));
  return dir;
}

}  // namespace rookery::store
