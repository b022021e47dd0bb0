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
// `snapshot`: skips the fsync, for files whose loss in a crash costs nothing.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents, int mode = 0644,
                           Durability durability = Durability::synced);
// For a small file rewritten every second or two (status.json, metrics): the contents go into a hidden
// twin beside it (`.NAME.next`), which is then swapped with the file (renameat2 RENAME_EXCHANGE). The
// two inodes are reused for ever, where a temporary + rename allocates and frees one per rewrite: on
// an ext4 without a journal every allocation steps over the inodes freed in the last minutes, which
// cost a 64-daemon lab ~5% of its CPU. Readers see the old or the new contents whole, unless they
// still read a copy they opened before the previous rewrite (it is then being overwritten). Where the
// file system cannot exchange, it falls back to a rename. No fsync: a crash loses a snapshot.
void rewrite_snapshot_file(const std::filesystem::path& path, std::string_view contents, int mode = 0644);

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
