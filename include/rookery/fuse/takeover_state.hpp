// What a serving process leaves for the one that takes over its FUSE connection.
//
// The kernel keeps a FUSE connection alive as long as one `/dev/fuse` descriptor of it is open. The
// holder (the supervisor of `rookery mount`) keeps the connection's descriptor and this state, a
// memfd, open while serving processes come and go.
// The state holds what the kernel will not say twice:
//
//  - the INIT request: the kernel sends it once per connection, and a libfuse session answers
//    every other request with EIO until it has processed one; a successor replays the saved bytes.
//    Replaying an INIT that was answered already is harmless: the kernel refuses the second reply
//    (ENOENT, an unknown unique) and nothing else changes.
//  - the requests read but not answered (the journal), on kernels without FUSE_NOTIFY_RESEND
//    (< 6.9; Debian 12 ships 6.1): a request the dead process had read sits in the kernel's
//    processing queue and its caller waits for ever unless someone answers that unique. Each
//    request is read straight into a slot of this memory, so no kill can fall between the kernel
//    handing it over and it being journaled; the slot is freed once its reply is written (at
//    once for requests that get none: FORGET, INTERRUPT). When all slots are taken, further
//    requests are read unjournaled (warned once) rather than wait. A
//    successor answers every request still in a slot (at least once: a reply the dead process
//    wrote just before dying is refused by the kernel as an unknown unique, which is harmless
//    for a read-only filesystem with stateless handles).
//  - counters for `rookery status` (takeovers, the serving pid and since when) and the versions
//    that were joined, so a successor joins them again at once.
//  - the files the kernel holds open (fs/open_handles.hpp), so a successor never evicts a release
//    a program holds open without reading it.
//
// Only one serving process runs at a time (the holder starts the next after the last has exited),
// so the memory has a single writer; the journal's free list lives in the serving process, the
// shared words only say which slots hold a request. Layout changes bump kLayout: a successor that
// finds another layout refuses to take over (one line) rather than misreading it.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "rookery/common/files.hpp"
#include "rookery/fs/open_handles.hpp"

namespace rookery::fuse {

// How requests in flight at a serving process's death are answered again.
enum class InflightReplay : std::uint32_t {
  resend = 1,   // the kernel requeues them on FUSE_NOTIFY_RESEND (kernels >= 6.9)
  journal = 2,  // this state's journal (every kernel)
};
std::string to_string(InflightReplay replay);

// The request journal's view of the state: fixed slots, each as large as the read buffer the kernel
// demands (max_write plus headers: libfuse's 1 MiB + 4 KiB; libfuse 3.14 derives the largest read
// from max_write, so it cannot be made smaller without making reads 4 KiB). Only the pages a
// request fills are ever touched, so the memfd's ~1 GiB is address space, not memory.
class RequestJournal {
 public:
  static constexpr std::size_t kSlotSize = 256 * 4096 + 4096;
  static constexpr std::uint32_t kSlots = 1024;

  RequestJournal(std::atomic<std::uint32_t>* in_use, char* slots);
  // A free slot with its header cleared and marked in use, or nothing when all are taken.
  std::optional<std::uint32_t> claim();
  char* data(std::uint32_t slot) const { return slots_ + std::size_t(slot) * kSlotSize; }
  void release(std::uint32_t slot);
  // For a successor, before it reads anything: the slots holding a whole request, oldest unique
  // first (they stay in use until answered); every other slot becomes free.
  std::vector<std::uint32_t> take_unanswered();

 private:
  std::atomic<std::uint32_t>* in_use_;
  char* slots_;
  std::mutex mutex_;  // guards free_
  std::vector<std::uint32_t> free_;
};

class TakeoverState {
 public:
  // The state of a connection whose INIT request the kernel has just sent.
  static TakeoverState create(std::span<const char> init_request, InflightReplay replay);
  // Maps the state a holder kept (a successor). Throws UserError when another layout wrote it.
  static TakeoverState attach(int fd);
  TakeoverState(TakeoverState&&) noexcept;
  ~TakeoverState();

  int fd() const { return fd_.get(); }
  std::vector<char> init_request() const;
  InflightReplay replay() const;
  // A serving process announces itself; true when another process served the connection before
  // (the takeover is counted).
  bool begin_serving(pid_t pid);
  void count_replayed(std::uint64_t requests);
  std::uint64_t takeovers() const;
  std::int64_t serving_since_ms() const;  // Unix time
  std::uint64_t replayed_total() const;   // requests answered again by successors
  std::vector<std::string> joined_versions() const;
  void set_joined_versions(const std::vector<std::string>& versions);
  RequestJournal& journal() { return *journal_; }
  // The files the kernel holds open, for garbage collection (fs/open_handles.hpp).
  fs::OpenHandles& open_handles() { return *open_handles_; }

 private:
  struct Header;
  TakeoverState(FileDescriptor fd, bool fresh);
  Header& header() const;

  FileDescriptor fd_;
  void* map_ = nullptr;
  std::unique_ptr<RequestJournal> journal_;
  std::unique_ptr<fs::OpenHandles> open_handles_;
};

}  // namespace rookery::fuse
