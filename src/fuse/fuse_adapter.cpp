#define FUSE_USE_VERSION 314
#include "rookery/fuse/fuse_adapter.hpp"

#include <fuse_lowlevel.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstring>
#include <spdlog/spdlog.h>
#include <thread>

namespace rookery::fuse {
namespace {

fs::Filesystem& filesystem_of(fuse_req_t req) { return *static_cast<fs::Filesystem*>(fuse_req_userdata(req)); }

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

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto handle = filesystem_of(req).opendir(ino);
  if (!handle.ok()) return void(fuse_reply_err(req, handle.error()));
  fi->fh = *handle;
  fuse_reply_open(req, fi);
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
  fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  filesystem_of(req).read(ino, fi->fh, offset, size, [req](fs::ReadReply r) {
    if (r.error) return void(fuse_reply_err(req, r.error));
    if (r.length == 0) return void(fuse_reply_buf(req, nullptr, 0));
    fuse_bufvec buf = FUSE_BUFVEC_INIT(r.length);
    buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    buf.buf[0].fd = r.file->get();
    buf.buf[0].pos = r.offset;
    if (int rc = fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE); rc != 0 && rc != -ENOENT) {
      spdlog::debug("fuse: read reply failed: {}", std::strerror(-rc));
    }
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

// A daemon killed with SIGKILL leaves its mount point answering ENOTCONN to everything; detach it
// so the new daemon can mount there without a manual fusermount -u.
void recover_stale_mount(const std::string& mountpoint) {
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) == 0 || errno != ENOTCONN) return;
  if (::umount2(mountpoint.c_str(), MNT_DETACH) == 0) {
    spdlog::warn("{}: detached a stale mount left by a previous daemon", mountpoint);
  } else {
    spdlog::warn("{}: stale mount could not be detached ({}): trying fusermount3", mountpoint, std::strerror(errno));
    std::string cmd = "fusermount3 -u -z '" + mountpoint + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) spdlog::warn("{}: fusermount3 -u -z failed", mountpoint);
  }
}

}  // namespace

FuseMount::FuseMount(fs::Filesystem& filesystem, MountOptions options)
    : filesystem_(filesystem), options_(std::move(options)) {
  recover_stale_mount(options_.mountpoint);
  struct stat st;
  if (::stat(options_.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UserError("mount point " + options_.mountpoint + " is not a directory: create it first");
  }
  // ro: the kernel itself refuses writes with EROFS. default_permissions: the kernel checks modes.
  // nosuid,nodev: a release can ship neither set-uid programs nor device nodes that take effect.
  std::string opts = "ro,default_permissions,nosuid,nodev,fsname=rookery,subtype=rookery";
  if (options_.allow_other) opts += ",allow_other";
  std::vector<const char*> argv = {"rookery", "-o", opts.c_str()};
  if (options_.debug) argv.push_back("-d");
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  session_ = fuse_session_new(&args, &kOperations, sizeof kOperations, &filesystem_);
  if (!session_) throw UserError("cannot create the FUSE session (is the fuse3 package installed?)");
  // libfuse only takes over signals whose disposition is the default; a daemon started in the
  // background by a shell inherits SIGINT ignored and could then only be killed hard.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_DFL);
  if (fuse_set_signal_handlers(session_) != 0) {
    fuse_session_destroy(session_);
    throw UserError("cannot install signal handlers for the FUSE session");
  }
  if (fuse_session_mount(session_, options_.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(session_);
    fuse_session_destroy(session_);
    throw UserError("cannot mount on " + options_.mountpoint +
                    ": is /dev/fuse available and are you root (or is fusermount3 installed)?");
  }
  filesystem_.on_joined = [this] { update_readahead(); };
  // An evicted release's directory must not linger in the kernel's dentry cache.
  filesystem_.on_evicted = [this](const std::string& version) {
    fuse_lowlevel_notify_inval_entry(session_, FUSE_ROOT_ID, version.c_str(), version.size());
  };
  spdlog::info("mounted at {}", options_.mountpoint);
}

void FuseMount::run() {
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(config, 1);
  fuse_loop_cfg_set_idle_threads(config, 8);
  fuse_loop_cfg_set_max_threads(config, 64);
  std::thread tune([this] { tune_readahead(); });
  int rc = fuse_session_loop_mt(session_, config);
  {
    std::lock_guard lock(readahead_mutex_);
    stopping_ = true;
    readahead_path_.clear();  // the mount's bdi number may be reused once it is gone
  }
  readahead_cv_.notify_all();
  fuse_loop_cfg_destroy(config);
  if (rc < 0) spdlog::error("fuse loop ended with error: {}", std::strerror(-rc));
  // Unmount before joining the tuner: its first stat() of the mount point may still be waiting for
  // an answer from the loop that just ended, and only the unmount releases it.
  fuse_session_unmount(session_);
  tune.join();
  spdlog::info("unmounted {}", options_.mountpoint);
}

// The kernel caps a FUSE mount's readahead at 128 KiB when it negotiates INIT; it can only be changed
// afterwards, through the mount's backing-device entry in sysfs. The stat() is answered by our own
// loop, so by the time it returns INIT is done and the values written stick.
void FuseMount::tune_readahead() {
  struct stat st;
  if (::stat(options_.mountpoint.c_str(), &st) != 0) return;
  std::unique_lock lock(readahead_mutex_);
  if (stopping_) return;
  readahead_path_ = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) +
                    "/read_ahead_kb";
  do {
    lock.unlock();
    update_readahead();
    lock.lock();
  } while (!readahead_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; }));
}

// Decides and writes under one lock, so a decision taken before a join cannot overwrite the one
// taken after it (on_joined runs once the joined release is visible to all_landed()).
void FuseMount::update_readahead() {
  std::lock_guard lock(readahead_mutex_);
  unsigned kb = filesystem_.all_landed() ? options_.readahead_kb : options_.partial_readahead_kb;
  if (kb == 0) kb = 128;  // the kernel's default
  if (kb == readahead_applied_ || readahead_path_.empty()) return;
  FILE* f = std::fopen(readahead_path_.c_str(), "w");
  bool written = f && std::fprintf(f, "%u\n", kb) > 0;
  if (f && std::fclose(f) != 0) written = false;
  if (!written) {
    if (readahead_applied_ == 0)
      spdlog::warn("cannot set kernel readahead to {} KiB via {} (not root?): reads use the kernel default", kb,
                   readahead_path_);
    readahead_path_.clear();  // do not retry every second
    return;
  }
  readahead_applied_ = kb;
  spdlog::debug("kernel readahead for {} set to {} KiB", options_.mountpoint, kb);
}

FuseMount::~FuseMount() {
  filesystem_.on_joined = nullptr;
  filesystem_.on_evicted = nullptr;
  fuse_remove_signal_handlers(session_);
  fuse_session_destroy(session_);
}

}  // namespace rookery::fuse
