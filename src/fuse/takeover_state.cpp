#include "rookery/fuse/takeover_state.hpp"

#include <linux/fuse.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "rookery/common/error.hpp"

namespace rookery::fuse {
namespace {

constexpr char kMagic[8] = {'r', 'o', 'o', 'k', 'e', 'r', 'y', 'T'};
constexpr std::uint32_t kLayout = 2;  // 2: the open handle table
constexpr std::size_t kMaxInit = 1024;
constexpr std::size_t kJoinedBytes = 64 * 1024;  // per copy; two copies, switched when whole
constexpr std::size_t kHeaderBytes = 4096;
constexpr std::size_t kJoinedOffset = kHeaderBytes;
constexpr std::size_t kInUseOffset = kJoinedOffset + 2 * kJoinedBytes;
constexpr std::size_t kOpenHandlesOffset = kInUseOffset + 4096;
constexpr std::size_t kOpenHandleSlots = 65536;  // files open on the mount at once (1 MiB)
constexpr std::size_t kSlotsOffset = kOpenHandlesOffset + kOpenHandleSlots * sizeof(fs::OpenHandles::Slot);
constexpr std::size_t kTotalBytes = kSlotsOffset + RequestJournal::kSlots * RequestJournal::kSlotSize;
static_assert(RequestJournal::kSlots * sizeof(std::uint32_t) <= 4096);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct TakeoverState::Header {
  char magic[8];
  std::uint32_t layout;
  std::uint32_t slot_size;
  std::uint32_t slot_count;
  std::uint32_t replay;
  std::uint32_t init_length;
  std::uint32_t joined_length[2];
  std::atomic<std::uint32_t> joined_current;
  std::atomic<std::uint64_t> takeovers;
  std::atomic<std::int64_t> server_pid;
  std::atomic<std::int64_t> serving_since_ms;
  std::atomic<std::uint64_t> replayed_total;
  std::atomic<std::uint32_t> open_handles_full;
  char init[kMaxInit];
};

std::string to_string(InflightReplay replay) { return replay == InflightReplay::resend ? "resend" : "journal"; }

RequestJournal::RequestJournal(std::atomic<std::uint32_t>* in_use, char* slots) : in_use_(in_use), slots_(slots) {
  for (std::uint32_t i = kSlots; i-- > 0;) free_.push_back(i);  // slot 0 first: few pages touched
}

std::optional<std::uint32_t> RequestJournal::claim() {
  std::uint32_t slot;
  {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return std::nullopt;
    slot = free_.back();
    free_.pop_back();
  }
  // Cleared first: a slot marked in use whose header is still zero was never filled.
  std::memset(data(slot), 0, sizeof(fuse_in_header));
  in_use_[slot].store(1, std::memory_order_release);
  return slot;
}

void RequestJournal::release(std::uint32_t slot) {
  in_use_[slot].store(0, std::memory_order_release);
  std::lock_guard lock(mutex_);
  free_.push_back(slot);
}

std::vector<std::uint32_t> RequestJournal::take_unanswered() {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> held;
  std::lock_guard lock(mutex_);
  free_.clear();
  for (std::uint32_t i = kSlots; i-- > 0;) {
    fuse_in_header header;
    std::memcpy(&header, data(i), sizeof header);
    bool whole = in_use_[i].load(std::memory_order_acquire) == 1 && header.unique != 0 &&
                 header.len >= sizeof header && header.len <= kSlotSize;
    if (whole) {
      held.emplace_back(header.unique, i);
    } else {
      in_use_[i].store(0, std::memory_order_relaxed);
      free_.push_back(i);
    }
  }
  std::sort(held.begin(), held.end());
  std::vector<std::uint32_t> slots;
  for (auto& [unique, slot] : held) slots.push_back(slot);
  return slots;
}

TakeoverState::TakeoverState(FileDescriptor fd, bool fresh) : fd_(std::move(fd)) {
  static_assert(sizeof(Header) <= kHeaderBytes);
  if (fresh && ::ftruncate(fd_.get(), static_cast<off_t>(kTotalBytes)) != 0)
    throw UserError(std::string("cannot size the takeover state: ") + std::strerror(errno));
  off_t size = ::lseek(fd_.get(), 0, SEEK_END);
  if (size != static_cast<off_t>(kTotalBytes))
    throw UserError("the takeover state kept for this mount has another size (written by an incompatible rookery "
                    "version): unmount and mount again");
  map_ = ::mmap(nullptr, kTotalBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (map_ == MAP_FAILED) throw UserError(std::string("cannot map the takeover state: ") + std::strerror(errno));
  // A crashing serving process must not stream the journal's ~1 GiB of address space into a core.
  ::madvise(static_cast<char*>(map_) + kSlotsOffset, kTotalBytes - kSlotsOffset, MADV_DONTDUMP);
  auto* base = static_cast<char*>(map_);
  journal_ = std::make_unique<RequestJournal>(reinterpret_cast<std::atomic<std::uint32_t>*>(base + kInUseOffset),
                                              base + kSlotsOffset);
  open_handles_ = std::make_unique<fs::OpenHandles>(reinterpret_cast<fs::OpenHandles::Slot*>(base + kOpenHandlesOffset),
                                                    kOpenHandleSlots, &header().open_handles_full);
}

TakeoverState::TakeoverState(TakeoverState&& other) noexcept
    : fd_(std::move(other.fd_)),
      map_(std::exchange(other.map_, nullptr)),
      journal_(std::move(other.journal_)),
      open_handles_(std::move(other.open_handles_)) {}

TakeoverState::~TakeoverState() {
  if (map_) ::munmap(map_, kTotalBytes);
}

TakeoverState::Header& TakeoverState::header() const { return *static_cast<Header*>(map_); }

TakeoverState TakeoverState::create(std::span<const char> init_request, InflightReplay replay) {
  if (replay == InflightReplay::journal && ::getpagesize() != 4096)
    throw UserError("the request journal is sized for 4 KiB pages (this system has " +
                    std::to_string(::getpagesize()) + "): use a kernel with FUSE_NOTIFY_RESEND (>= 6.9)");
  if (init_request.size() > kMaxInit) throw UserError("the kernel's FUSE INIT request is larger than expected");
  FileDescriptor fd(::memfd_create("rookery-takeover", MFD_CLOEXEC));
  if (!fd.valid()) throw UserError(std::string("cannot create the takeover state (memfd): ") + std::strerror(errno));
  TakeoverState state(std::move(fd), true);
  auto& h = state.header();
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.layout = kLayout;
  h.slot_size = RequestJournal::kSlotSize;
  h.slot_count = RequestJournal::kSlots;
  h.replay = static_cast<std::uint32_t>(replay);
  h.init_length = static_cast<std::uint32_t>(init_request.size());
  std::memcpy(h.init, init_request.data(), init_request.size());
  return state;
}

TakeoverState TakeoverState::attach(int fd) {
  TakeoverState state(FileDescriptor(fd), false);
  auto& h = state.header();
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.layout != kLayout ||
      h.slot_size != RequestJournal::kSlotSize || h.slot_count != RequestJournal::kSlots ||
      h.init_length > kMaxInit || (h.replay != 1 && h.replay != 2)) {
    throw UserError("the takeover state kept for this mount was written by an incompatible rookery version (layout " +
                    std::to_string(h.layout) + ", this binary reads " + std::to_string(kLayout) +
                    "): this binary cannot take the mount over; unmount and mount again");
  }
  return state;
}

std::vector<char> TakeoverState::init_request() const {
  auto& h = header();
  return {h.init, h.init + h.init_length};
}

InflightReplay TakeoverState::replay() const { return static_cast<InflightReplay>(header().replay); }

bool TakeoverState::begin_serving(pid_t pid) {
  auto& h = header();
  bool takeover = h.server_pid.exchange(pid) != 0;
  if (takeover) h.takeovers.fetch_add(1);
  h.serving_since_ms.store(now_ms());
  return takeover;
}

void TakeoverState::count_replayed(std::uint64_t requests) { header().replayed_total.fetch_add(requests); }

std::uint64_t TakeoverState::takeovers() const { return header().takeovers.load(); }
std::int64_t TakeoverState::serving_since_ms() const { return header().serving_since_ms.load(); }
std::uint64_t TakeoverState::replayed_total() const { return header().replayed_total.load(); }

std::vector<std::string> TakeoverState::joined_versions() const {
  auto& h = header();
  std::uint32_t current = h.joined_current.load(std::memory_order_acquire) & 1;
  const char* text = static_cast<const char*>(map_) + kJoinedOffset + current * kJoinedBytes;
  std::vector<std::string> versions;
  std::string line;
  for (std::uint32_t i = 0; i < std::min<std::size_t>(h.joined_length[current], kJoinedBytes); ++i) {
    if (text[i] != '\n') {
      line += text[i];
    } else if (!line.empty()) {
      versions.push_back(std::move(line));
      line.clear();
    }
  }
  return versions;
}

// Written into the copy not in use, then switched to: a process killed while writing leaves the
// previous list whole.
void TakeoverState::set_joined_versions(const std::vector<std::string>& versions) {
  std::string text;
  for (const auto& v : versions) {
    if (text.size() + v.size() + 1 > kJoinedBytes) break;  // ~1,000 versions; the rest join on use
    text += v + '\n';
  }
  auto& h = header();
  std::uint32_t next = (h.joined_current.load(std::memory_order_relaxed) + 1) & 1;
  std::memcpy(static_cast<char*>(map_) + kJoinedOffset + next * kJoinedBytes, text.data(), text.size());
  h.joined_length[next] = static_cast<std::uint32_t>(text.size());
  h.joined_current.store(next, std::memory_order_release);
}

}  // namespace rookery::fuse
