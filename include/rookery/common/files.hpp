// Small file helpers shared by the origin tools and the daemon: whole-file reads, atomic replacement
// (write a temporary beside the target, fsync, rename) so that readers such as nginx or a mount
// daemon polling index.json never see a half-written file, and an RAII file descriptor.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace rookery {

std::string read_file(const std::filesystem::path& path);
enum class Durability { synced, snapshot };
// `snapshot`: skips the fsync, for files rewritten every second whose loss in a crash costs nothing
// (status.json, metrics): readers still see the old or the new file whole.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents, int mode = 0644,
                           Durability durability = Durability::synced);

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace rookery
