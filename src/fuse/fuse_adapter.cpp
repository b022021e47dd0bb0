#define FUSE_USE_VERSION 314
#include "rookery/fuse/fuse_adapter.hpp"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstring>
#include <optional>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/fuse/connection.hpp"

namespace rookery::fuse {
namespace {

using Context = FuseServer::Context;

Context& context_of(fuse_req_t req) { return *static_cast<Context*>(fuse_req_userdata(req)); }
fs::Filesystem& filesystem_of(fuse_req_t req) { return *context_of(req).filesystem; }

// The journal slot of the request this thread is processing (set by the read hook or a replay).
struct CurrentRequest {
  std::optional<std::uint32_t> slot;
  std::uint64_t unique = 0;
  RequestJournal* journal = nullptr;
  // libfuse retires idle worker threads: a slot still held then (a request that got no reply) is
  // freed with the thread.
  ~CurrentRequest() {
    if (journal && slot) journal->release(*slot);
  }
};
thread_local CurrentRequest current_request;

// Requests the kernel expects no reply to: they never stay in the journal.
bool gets_no_reply(std::uint32_t opcode) {
  return opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET || opcode == FUSE_INTERRUPT ||
         opcode == FUSE_NOTIFY_REPLY;
}

// A request whose reply is written later, elsewhere (a parked read): its slot travels with it.
struct JournalTicket {
  RequestJournal* journal = nullptr;
  std::uint32_t slot = 0;
  void answered() const {
    if (journal) journal->release(slot);
  }
};

JournalTicket take_current_request(fuse_req_t req) {
  auto* journal = context_of(req).journal;
  if (!journal || !current_request.slot) return {};
  JournalTicket ticket{journal, *current_request.slot};
  current_request.slot.reset();
  return ticket;
}

// A request that got no reply (FORGET, INTERRUPT) or whose reply was refused: its slot is freed
// when its thread moves on.
void finish_current_request(RequestJournal* journal) {
  if (journal && current_request.slot) journal->release(*current_request.slot);
  current_request.slot.reset();
}

// libfuse's custom I/O: every request is read straight into a journal slot.
ssize_t journaled_read(int fd, void* buf, size_t len, void* userdata) {
  auto& context = *static_cast<Context*>(userdata);
  auto* journal = context.journal;
  finish_current_request(journal);
  std::optional<std::uint32_t> slot;
  if (journal) {
    slot = journal->claim();
    static std::atomic<bool> warned{false};
    if (!slot && !warned.exchange(true))
      spdlog::warn("fuse: all {} request journal slots are in use: further requests are not journaled (a takeover "
                   "now would leave them unanswered)", RequestJournal::kSlots);
  }
  char* target = slot ? journal->data(*slot) : static_cast<char*>(buf);
  ssize_t n = ::read(fd, target, slot ? std::min(len, RequestJournal::kSlotSize) : len);
  if (n < static_cast<ssize_t>(sizeof(fuse_in_header))) {
    int error = errno;
    if (slot) journal->release(*slot);
    errno = error;
    return n;
  }
  fuse_in_header header;
  std::memcpy(&header, target, sizeof header);
  if (header.unique & (1ULL << 63)) context.state->count_replayed(1);  // FUSE_UNIQUE_RESEND: the kernel's replay
  if (slot) {
    std::memcpy(buf, target, static_cast<size_t>(n));
    if (gets_no_reply(header.opcode)) {
      journal->release(*slot);
    } else {
      current_request.slot = slot;
      current_request.unique = header.unique;
      current_request.journal = journal;
    }
  }
  return n;
}

ssize_t journaled_writev(int fd, struct iovec* iov, int count, void* userdata) {
  ssize_t n = ::writev(fd, iov, count);
  int error = errno;
  fuse_out_header out;
  if (count > 0 && iov[0].iov_len >= sizeof out) {
    std::memcpy(&out, iov[0].iov_base, sizeof out);
    if (current_request.slot && out.unique == current_request.unique)
      finish_current_request(static_cast<Context*>(userdata)->journal);
  }
  errno = error;
  return n;
}

ssize_t plain_splice_send(int fdin, off_t* offin, int fdout, off_t* offout, size_t len, unsigned int flags, void*) {
  return ::splice(fdin, offin, fdout, offout, len, flags);
}

const fuse_custom_io kJournaledIo = {
    .writev = journaled_writev, .read = journaled_read, .splice_receive = nullptr, .splice_send = plain_splice_send};

void reply_entry(fuse_req_t req, const fs::Entry& e) {
  fuse_entry_param param{};
  param.ino = e.ino;
  param.generation = e.generation;
  param.attr = e.attr;
  param.attr_timeout = e.ttl;
  param.entry_timeout = e.ttl;
  fuse_reply_entry(req, &param);
}

void op_init(void*, fuse_conn_info* conn) {
  // Splice cache-file bytes straight into the reply: no copy through our memory.
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
  // Parallel reads of one file: the kernel's readahead and several readers at once.
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;  // releases never change: never drop cached pages
  spdlog::debug("fuse: max_readahead {} KiB, max_read {} KiB, capable {:#x}", conn->max_readahead / 1024,
                conn->max_read / 1024, conn->capable);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto e = filesystem_of(req).lookup(parent, name);
  if (!e.ok()) return void(fuse_reply_err(req, e.error()));
  reply_entry(req, *e);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  auto e = filesystem_of(req).getattr(ino);
  if (!e.ok()) return void(fuse_reply_err(req, e.error()));
  fuse_reply_attr(req, &e->attr, e->ttl);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  auto target = filesystem_of(req).readlink(ino);
  if (!target.ok()) return void(fuse_reply_err(req, target.error()));
  fuse_reply_readlink(req, target->c_str());
}

// size 0 asks for the length; a buffer too small is ERANGE (getxattr(2)).
void reply_xattr_value(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) return void(fuse_reply_xattr(req, value.size()));
  if (size < value.size()) return void(fuse_reply_err(req, ERANGE));
  fuse_reply_buf(req, value.data(), value.size());
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  auto value = filesystem_of(req).getxattr(ino, name);
  if (!value.ok()) return void(fuse_reply_err(req, value.error()));
  reply_xattr_value(req, *value, size);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  reply_xattr_value(req, filesystem_of(req).listxattr(ino), size);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto handle = filesystem_of(req).opendir(ino);
  if (!handle.ok()) return void(fuse_reply_err(req, handle.error()));
  fi->fh = *handle;
  // Refused (the request was interrupted): no releasedir will come for it.
  if (fuse_reply_open(req, fi) != 0) filesystem_of(req).releasedir(*handle);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  auto listing = filesystem_of(req).listing(ino, fi->fh);
  if (!listing.ok()) return void(fuse_reply_err(req, listing.error()));
  const auto& list = **listing;
  std::vector<char> buf(size);
  size_t used = 0;
  for (auto i = static_cast<size_t>(offset); i < list.size(); ++i) {
    struct stat st {};
    st.st_ino = list[i].ino;
    st.st_mode = list[i].type;
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, list[i].name.c_str(), &st,
                                    static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  filesystem_of(req).releasedir(fi->fh);
  fuse_reply_err(req, 0);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto handle = filesystem_of(req).open(ino, fi->flags);
  if (!handle.ok()) return void(fuse_reply_err(req, handle.error()));
  fi->fh = *handle;
  fi->keep_cache = 1;  // immutable release: pages cached by earlier opens stay valid
  // Refused when the kernel has no such request (an OPEN the dead predecessor answered, replayed):
  // nobody holds the handle, so it must not keep its release from garbage collection.
  if (fuse_reply_open(req, fi) != 0) filesystem_of(req).release(*handle);
}

void reply_read(fuse_req_t req, const fs::ReadReply& r) {
  if (r.error) return void(fuse_reply_err(req, r.error));
  if (r.length == 0) return void(fuse_reply_buf(req, nullptr, 0));
  fuse_bufvec buf = FUSE_BUFVEC_INIT(r.length);
  buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = r.file->get();
  buf.buf[0].pos = r.offset;
  if (int rc = fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE); rc != 0 && rc != -ENOENT) {
    spdlog::debug("fuse: read reply failed: {}", std::strerror(-rc));
  }
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  filesystem_of(req).read(ino, fi->fh, offset, size, [req, ticket = take_current_request(req)](fs::ReadReply r) {
    reply_read(req, r);
    ticket.answered();
  });
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  filesystem_of(req).release(fi->fh);
  fuse_reply_err(req, 0);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  auto st = filesystem_of(req).statfs();
  fuse_reply_statfs(req, &st);
}

// Every operation that would change a release answers EROFS.
void erofs(fuse_req_t req) { fuse_reply_err(req, EROFS); }
void op_setattr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { erofs(req); }
void op_mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { erofs(req); }
void op_mkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { erofs(req); }
void op_unlink(fuse_req_t req, fuse_ino_t, const char*) { erofs(req); }
void op_symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { erofs(req); }
void op_rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) { erofs(req); }
void op_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { erofs(req); }
void op_write(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) { erofs(req); }
void op_create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { erofs(req); }
void op_setxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { erofs(req); }
void op_removexattr(fuse_req_t req, fuse_ino_t, const char*) { erofs(req); }
void op_fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { erofs(req); }

const fuse_lowlevel_ops kOperations = [] {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.getattr = op_getattr;
  ops.readlink = op_readlink;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.open = op_open;
  ops.read = op_read;
  ops.release = op_release;
  ops.statfs = op_statfs;
  ops.setattr = op_setattr;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_unlink;
  ops.symlink = op_symlink;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.write = op_write;
  ops.create = op_create;
  ops.setxattr = op_setxattr;
  ops.removexattr = op_removexattr;
  ops.fallocate = op_fallocate;
  return ops;
}();

}  // namespace

FuseServer::FuseServer(fs::Filesystem& filesystem, MountOptions options, int connection_fd, TakeoverState& state)
    : filesystem_(filesystem),
      options_(std::move(options)),
      state_(state),
      context_{&filesystem, &state,
               state.replay() == InflightReplay::journal ? &state.journal() : nullptr} {
  std::vector<const char*> argv = {"rookery"};
  if (options_.debug) argv.push_back("-d");
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  session_ = fuse_session_new(&args, &kOperations, sizeof kOperations, &context_);
  if (!session_) throw UserError("cannot create the FUSE session (is the fuse3 package installed?)");
  if (fuse_session_custom_io(session_, &kJournaledIo, connection_fd) != 0) {
    fuse_session_destroy(session_);
    throw UserError("cannot serve the FUSE connection of " + options_.mountpoint + " (descriptor " +
                    std::to_string(connection_fd) + ")");
  }
  // libfuse only takes over signals whose disposition is the default; a daemon started in the
  // background by a shell inherits SIGINT ignored and could then only be killed hard.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_DFL);
  if (fuse_set_signal_handlers(session_) != 0) {
    fuse_session_destroy(session_);
    throw UserError("cannot install signal handlers for the FUSE session");
  }
  filesystem_.on_joined = [this] {
    update_readahead();
    record_joined("");
  };
  // An evicted release's directory must not linger in the kernel's dentry cache.
  filesystem_.on_evicted = [this](const std::string& version) {
    fuse_lowlevel_notify_inval_entry(session_, FUSE_ROOT_ID, version.c_str(), version.size());
    record_joined(version);
  };
}

FuseServer::~FuseServer() {
  for (auto& t : replays_) t.join();  // first: their joins call the callbacks cleared below
  filesystem_.on_joined = nullptr;
  filesystem_.on_evicted = nullptr;
  fuse_remove_signal_handlers(session_);
  fuse_session_destroy(session_);
}

// The INIT the kernel sent when the connection was made, answered by this session: the reply
// reaches the kernel if nobody answered it yet, and is refused (ENOENT, ignored by libfuse) if a
// predecessor did. Either way the session now knows the connection's parameters.
void FuseServer::replay_init() {
  auto init = state_.init_request();
  fuse_buf buf{};
  buf.size = init.size();
  buf.mem = init.data();
  fuse_session_process_buf(session_, &buf);
}

// The requests a dead predecessor had read but not answered. Each is processed on its own thread:
// one that must wait (a lookup joining a release, a read of missing pieces) holds up no other.
void FuseServer::replay_unanswered() {
  if (!context_.journal) {
    if (!takeover_) return;
    // FUSE_NOTIFY_RESEND: the kernel puts the requests it handed out back in its queue.
    fuse_out_header resend{};
    resend.len = sizeof resend;
    resend.error = 7;  // FUSE_NOTIFY_RESEND (kernel 6.9's fuse.h; Debian 12's headers predate it)
    if (::write(fuse_session_fd(session_), &resend, sizeof resend) != static_cast<ssize_t>(sizeof resend)) {
      throw UserError("the kernel refused FUSE_NOTIFY_RESEND on " + options_.mountpoint + " (" + std::strerror(errno) +
                      "): requests in flight at the takeover would hang; mount with --takeover-replay journal");
    }
    return;
  }
  auto slots = context_.journal->take_unanswered();
  if (slots.empty()) return;
  spdlog::info("takeover: answering {} requests the previous serving process left unanswered", slots.size());
  state_.count_replayed(slots.size());
  for (auto slot : slots) {
    replays_.emplace_back([this, slot] {
      const char* data = context_.journal->data(slot);
      fuse_in_header header;
      std::memcpy(&header, data, sizeof header);
      std::vector<char> request(data, data + header.len);
      current_request.slot = slot;
      current_request.unique = header.unique;
      current_request.journal = context_.journal;
      fuse_buf buf{};
      buf.size = request.size();
      buf.mem = request.data();
      fuse_session_process_buf(session_, &buf);
      finish_current_request(context_.journal);
    });
  }
}

// The list a successor rejoins: what this process has joined, plus what it inherited and has not
// joined yet (a process killed while rejoining must not shrink the list).
void FuseServer::record_joined(const std::string& evicted) {
  std::lock_guard lock(joined_mutex_);
  if (!evicted.empty()) inherited_.erase(evicted);
  std::set<std::string> all(inherited_.begin(), inherited_.end());
  for (auto& v : filesystem_.joined_versions()) all.insert(std::move(v));
  state_.set_joined_versions({all.begin(), all.end()});
}

int FuseServer::run(const std::function<void()>& serving) {
  takeover_ = state_.begin_serving(::getpid());
  {
    std::lock_guard lock(joined_mutex_);
    auto inherited = state_.joined_versions();  // before any replay can join (and record) a release
    inherited_.insert(inherited.begin(), inherited.end());
  }
  replay_init();
  replay_unanswered();
  if (takeover_) {
    // Every release the predecessor had joined is joined again (from the cache: resume data, no
    // refetch), so background fetching and seeding go on without waiting for a lookup.
    std::set<std::string> inherited;
    {
      std::lock_guard lock(joined_mutex_);
      inherited = inherited_;
    }
    for (const auto& version : inherited) {
      replays_.emplace_back([this, version] {
        if (int error = filesystem_.join_version(version))
          spdlog::warn("takeover: release {} could not be joined again: {}", version, std::strerror(error));
      });
    }
  }
  serving();
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(config, 0);  // see the header: cloned descriptors lose their requests
  fuse_loop_cfg_set_idle_threads(config, 8);
  fuse_loop_cfg_set_max_threads(config, 64);
  std::thread tune([this] { tune_readahead(); });
  int rc = fuse_session_loop_mt(session_, config);
  {
    std::lock_guard lock(readahead_mutex_);
    stopping_ = true;
  }
  readahead_cv_.notify_all();
  tune.join();
  fuse_loop_cfg_destroy(config);
  if (rc < 0) spdlog::error("fuse loop ended with error: {}", std::strerror(-rc));
  return rc < 0 ? 1 : 0;
}

// The kernel caps a FUSE mount's readahead at 128 KiB when it negotiates INIT; it can only be changed
// afterwards, through the mount's backing-device entry in sysfs (INIT is answered before this runs).
void FuseServer::tune_readahead() {
  auto dev = mount_device(options_.mountpoint);
  std::unique_lock lock(readahead_mutex_);
  if (stopping_ || !dev) return;
  readahead_path_ = "/sys/class/bdi/" + std::to_string(major(*dev)) + ":" + std::to_string(minor(*dev)) +
                    "/read_ahead_kb";
  do {
    lock.unlock();
    update_readahead();
    lock.lock();
  } while (!readahead_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; }));
  readahead_path_.clear();  // the mount's bdi number may be reused once it is gone
}

// Decides and writes under one lock, so a decision taken before a join cannot overwrite the one
// taken after it (on_joined runs once the joined release is visible to all_landed()).
void FuseServer::update_readahead() {
  std::lock_guard lock(readahead_mutex_);
  unsigned kb = filesystem_.all_landed()        ? options_.readahead_kb
                : filesystem_.hot_sets_landed() ? options_.partial_readahead_kb
                                                : options_.hot_set_readahead_kb;
  if (kb == readahead_applied_ || readahead_path_.empty()) return;
  FILE* f = std::fopen(readahead_path_.c_str(), "w");
  bool written = f && std::fprintf(f, "%u\n", kb) > 0;
  if (f && std::fclose(f) != 0) written = false;
  if (!written) {
    if (!readahead_applied_)
      spdlog::warn("cannot set kernel readahead to {} KiB via {} (not root?): reads use the kernel default", kb,
                   readahead_path_);
    readahead_path_.clear();  // do not retry every second
    return;
  }
  readahead_applied_ = kb;
  spdlog::debug("kernel readahead for {} set to {} KiB", options_.mountpoint, kb);
}

}  // namespace rookery::fuse
