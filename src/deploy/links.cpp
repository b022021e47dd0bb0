#include "rookery/deploy/links.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <random>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/common/version_name.hpp"

namespace fs = std::filesystem;

namespace rookery::deploy {
namespace {

fs::path beside(const fs::path& link, const std::string& suffix) {
  return link.parent_path() / ("." + link.filename().string() + suffix);
}

// Serialises activate/rollback of one link (not of different links).
FileDescriptor lock_link(const fs::path& link) {
  FileDescriptor fd(::open(beside(link, ".rookery-lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid() || ::flock(fd.get(), LOCK_EX) != 0) {
    throw UserError("cannot lock " + link.string() + ": " + std::strerror(errno) + ": is its directory writable?");
  }
  return fd;
}

std::string current_target(const fs::path& link) {
  std::error_code ec;
  auto target = fs::read_symlink(link, ec);
  if (!ec) return target.string();
  if (fs::exists(fs::symlink_status(link))) {
    throw UserError(link.string() + " exists and is not a symlink: refusing to replace it");
  }
  return "";
}

void register_link(const store::CacheDir& cache, const fs::path& link) {
  auto absolute = fs::absolute(link).lexically_normal().string();
  std::error_code ec;
  fs::create_directories(cache.links_dir(), ec);
  auto id = std::to_string(std::hash<std::string>{}(absolute));
  try {
    write_file_atomically(cache.links_dir() / id, absolute + "\n", 0600);
  } catch (const UserError&) {
    // Without the registration GC might evict the release; say so but keep the deploy.
    throw UserError("link flipped, but cannot register it in " + cache.links_dir().string() +
                    ": garbage collection may not know the release is in use (run as the daemon's user)");
  }
}

}  // namespace

std::string flip_link(const fs::path& link, const fs::path& target) {
  std::string previous = current_target(link);
  std::random_device rd;
  fs::path tmp = beside(link, ".rookery-new." + std::to_string(::getpid()) + "." + std::to_string(rd()));
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    throw UserError("cannot create a symlink beside " + link.string() + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw UserError("cannot replace " + link.string() + ": " + std::strerror(err));
  }
  return previous;
}

void activate(const fs::path& mountpoint, const std::string& version, const fs::path& link,
              const store::CacheDir& cache) {
  if (!is_valid_version_name(version))
    throw UserError("cannot activate '" + version + "': not a version name (letters, digits, '.', '_', '-')");
  // Absolute: the link is read relative to its own directory, not to where the command ran.
  fs::path target = fs::absolute(mountpoint) / version;
  struct stat st;
  if (::stat(target.c_str(), &st) != 0) {
    throw UserError("cannot activate " + version + ": " + target.string() + " is not available (" +
                    std::strerror(errno) + "): is it published, and is the mount running?");
  }
  if (!S_ISDIR(st.st_mode))
    throw UserError("cannot activate " + version + ": " + target.string() + " is not a directory: is " +
                    mountpoint.string() + " the rookery mount?");
  auto lock = lock_link(link);
  std::string previous = flip_link(link, target);
  if (!previous.empty() && previous != target.string()) {
    write_file_atomically(beside(link, ".rookery-previous"), previous + "\n");
  }
  register_link(cache, link);
}

std::string rollback(const fs::path& link, const store::CacheDir& cache) {
  auto lock = lock_link(link);
  auto record = beside(link, ".rookery-previous");
  if (!fs::exists(record)) throw UserError("cannot roll back " + link.string() + ": no previous target recorded");
  std::string previous = read_file(record);
  while (!previous.empty() && previous.back() == '\n') previous.pop_back();
  std::string current = flip_link(link, previous);
  if (!current.empty()) write_file_atomically(record, current + "\n");  // a second rollback goes forward again
  register_link(cache, link);
  return previous;
}

std::set<std::string> linked_versions(const store::CacheDir& cache) {
  std::set<std::string> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cache.links_dir(), ec)) {
    try {
      std::string link = read_file(entry.path());
      while (!link.empty() && link.back() == '\n') link.pop_back();
      auto target = fs::read_symlink(link, ec);
      if (!ec) versions.insert(target.filename().string());
    } catch (const UserError&) {
    }
  }
  return versions;
}

}  // namespace rookery::deploy
