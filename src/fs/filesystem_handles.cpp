// Filesystem: the handle tables. A handle is a number from the superblock, never a pointer, so a
// successor process can honour the ones the kernel already holds: a handle it does not know is
// adopted from the inode number the kernel sends with every request (a file opened again, a
// directory listed again).
#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "rookery/fs/filesystem.hpp"

namespace rookery::fs {

struct Filesystem::OpenFile {
  std::shared_ptr<Mounted> mounted;
  int file;
  std::int64_t size;
  std::mutex mutex;  // the kernel may issue reads of one handle in parallel
  ReadaheadWindow window;
};

Expected<std::uint64_t> Filesystem::opendir(Ino ino) {
  auto list = readdir(ino);
  if (!list.ok()) return Expected<std::uint64_t>::failure(list.error());
  auto handle = superblock_.new_handle();
  std::lock_guard lock(handles_mutex_);
  listings_[handle] = std::make_shared<const std::vector<DirEntry>>(std::move(*list));
  return handle;
}

// A handle the previous process opened: list the directory again (releases are immutable; only
// the root's listing may have grown since).
Expected<Listing> Filesystem::listing(Ino ino, std::uint64_t handle) {
  {
    std::lock_guard lock(handles_mutex_);
    if (auto it = listings_.find(handle); it != listings_.end()) return it->second;
  }
  auto list = readdir(ino);
  if (!list.ok()) return Expected<Listing>::failure(list.error());
  auto adopted = std::make_shared<const std::vector<DirEntry>>(std::move(*list));
  std::lock_guard lock(handles_mutex_);
  return listings_.try_emplace(handle, std::move(adopted)).first->second;
}

void Filesystem::releasedir(std::uint64_t handle) {
  std::lock_guard lock(handles_mutex_);
  listings_.erase(handle);
}

Expected<std::shared_ptr<Filesystem::OpenFile>> Filesystem::open_file(Ino ino, std::uint64_t handle) {
  NodeId node;
  auto loaded = mounted_for(ino, &node);
  if (!loaded.ok()) return Expected<std::shared_ptr<OpenFile>>::failure(loaded.error());
  const auto& mounted = *loaded;
  const Node& n = mounted->tree.node(node);
  if (n.kind == Node::Kind::directory) return Expected<std::shared_ptr<OpenFile>>::failure(EISDIR);
  if (n.kind != Node::Kind::file) return Expected<std::shared_ptr<OpenFile>>::failure(ELOOP);
  auto file = std::shared_ptr<OpenFile>(new OpenFile{mounted, n.file_index, n.size, {}, ReadaheadWindow(options_.readahead)});
  // Recorded first, then checked: an eviction either sees this file open and refuses, or has taken
  // the release already and this open fails.
  open_handles_.opened(handle, release_of(ino));
  if (!still_mounted(mounted, ino)) {
    open_handles_.released(handle);
    return Expected<std::shared_ptr<OpenFile>>::failure(ENOENT);
  }
  mounted->joined->mark_used();
  return file;
}

Expected<std::uint64_t> Filesystem::open(Ino ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return Expected<std::uint64_t>::failure(EROFS);
  auto handle = superblock_.new_handle();
  auto file = open_file(ino, handle);
  if (!file.ok()) return Expected<std::uint64_t>::failure(file.error());
  std::lock_guard lock(handles_mutex_);
  open_files_[handle] = std::move(*file);
  return handle;
}

// A handle the previous process opened (or one this process does not know): the kernel still
// holds the file open, so open it again under the same handle (recorded already, by the process
// that opened it: recording is idempotent).
Expected<std::shared_ptr<Filesystem::OpenFile>> Filesystem::adopt(Ino ino, std::uint64_t handle) {
  auto file = open_file(ino, handle);
  if (!file.ok()) return file;
  std::lock_guard lock(handles_mutex_);
  return open_files_.try_emplace(handle, *file).first->second;  // or the one a concurrent read adopted
}

void Filesystem::read(Ino ino, std::uint64_t handle, std::int64_t offset, std::size_t size,
                      std::function<void(ReadReply)> reply) {
  if (offset < 0) return reply({EINVAL});
  std::shared_ptr<OpenFile> h;
  {
    std::lock_guard lock(handles_mutex_);
    if (auto it = open_files_.find(handle); it != open_files_.end()) h = it->second;
  }
  if (!h) {
    auto adopted = adopt(ino, handle);
    if (!adopted.ok()) return reply({adopted.error() == ENOENT ? EBADF : adopted.error()});
    h = *adopted;
  }
  std::int64_t length = std::min<std::int64_t>(static_cast<std::int64_t>(size), h->size - offset);
  if (length <= 0) return reply({0, nullptr, offset, 0});  // at or past end of file
  ByteRange ahead;
  {
    std::lock_guard lock(h->mutex);
    ahead = h->window.on_read(offset, length);
  }
  h->mounted->joined->read(h->file, offset, static_cast<std::size_t>(length), ahead.offset, ahead.length,
                           std::move(reply));
}

void Filesystem::release(std::uint64_t handle) {
  open_handles_.released(handle);  // also one opened by a previous process and never read here
  std::lock_guard lock(handles_mutex_);
  open_files_.erase(handle);
}

}  // namespace rookery::fs
