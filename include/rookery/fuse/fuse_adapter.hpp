// The thin FUSE adapter: libfuse3 low-level API, multithreaded loop, read-only. Each callback turns
// a kernel request into a call on fs::Filesystem and its answer into the matching reply; no
// filesystem decisions are made here. Reads are answered asynchronously: a read of pieces not yet
// downloaded parks in the swarm engine and is replied to from whichever thread opens its pieces,
// so waiting reads never hold FUSE threads.
//
// A FuseServer serves a connection it did not open: the holder (connection.hpp) mounted it and
// keeps it, with the takeover state (takeover_state.hpp), across serving processes. Starting, the
// server answers the saved INIT (its own first one or a replay), has the requests a dead
// predecessor left unanswered answered again (the kernel's FUSE_NOTIFY_RESEND, or the journal),
// and only then reads new requests. It reads through libfuse's custom I/O hooks so each request
// lands in a journal slot first; the slot is released when the reply is written (the writev
// hook matches the reply's unique; an asynchronous read carries its slot to its reply). One
// descriptor for all threads, no cloned ones: the kernel fails the requests in flight on a cloned
// descriptor when it closes, while those on the shared one wait for a successor.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rookery/fs/filesystem.hpp"
#include "rookery/fuse/mount_options.hpp"
#include "rookery/fuse/takeover_state.hpp"

struct fuse_session;

namespace rookery::fuse {

class FuseServer {
 public:
  // Serves `connection_fd` (a /dev/fuse descriptor of a live mount; the server closes its copy).
  FuseServer(fs::Filesystem& filesystem, MountOptions options, int connection_fd, TakeoverState& state);
  ~FuseServer();
  FuseServer(const FuseServer&) = delete;
  FuseServer& operator=(const FuseServer&) = delete;

  // Takes the connection over, calls `serving` once requests are answered, and serves until the
  // mount goes away or SIGINT/SIGTERM/SIGHUP; 0, or 1 when the loop failed.
  int run(const std::function<void()>& serving);
  // True when a previous process served this connection.
  bool takeover() const { return takeover_; }

  // Shared with the libfuse callbacks (fuse_req_userdata).
  struct Context {
    fs::Filesystem* filesystem;
    TakeoverState* state;
    RequestJournal* journal;  // null: requests are not journaled (the kernel resends them)
  };

 private:
  void replay_init();
  void replay_unanswered();
  void tune_readahead();
  void update_readahead();
  void record_joined(const std::string& evicted);

  fs::Filesystem& filesystem_;
  MountOptions options_;
  TakeoverState& state_;
  Context context_;
  fuse_session* session_ = nullptr;
  bool takeover_ = false;
  std::vector<std::thread> replays_;
  std::mutex joined_mutex_;  // guards inherited_; one writer of the state's joined list at a time
  std::set<std::string> inherited_;  // versions the predecessor had joined
  std::mutex readahead_mutex_;
  std::condition_variable readahead_cv_;
  bool stopping_ = false;
  std::string readahead_path_;  // the mount's /sys/class/bdi/*/read_ahead_kb
  std::optional<unsigned> readahead_applied_;  // none until the first write
};

}  // namespace rookery::fuse
