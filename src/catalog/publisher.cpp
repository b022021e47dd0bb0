#include "rookery/catalog/publisher.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <set>
#include <utility>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/hex.hpp>
#include <libtorrent/torrent_info.hpp>
#include <spdlog/spdlog.h>

#include "rookery/catalog/content_pool.hpp"
#include "rookery/catalog/hot_set.hpp"
#include "rookery/catalog/signature.hpp"
#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/common/version_name.hpp"

namespace fs = std::filesystem;

namespace rookery::catalog {
namespace {

void fail_errno(const std::string& what, const fs::path& path) {
  throw UserError(what + " " + path.string() + ": " + std::strerror(errno));
}

// A symlink is published only when it resolves inside the release: app servers must never be led
// out of /releases/<version> by a link the origin shipped.
void check_symlink_stays_inside(const fs::path& root, const fs::path& link) {
  fs::path target = fs::read_symlink(link);
  fs::path rel_link = link.lexically_relative(root);
  fs::path resolved = target.is_absolute() ? target : (rel_link.parent_path() / target).lexically_normal();
  auto first = resolved.begin();
  if (target.is_absolute() || resolved.empty() || (first != resolved.end() && *first == "..")) {
    throw UserError("symlink " + rel_link.string() + " -> " + target.string() +
                    " points outside the release: make it a relative link within the tree");
  }
}

struct CopyStats {
  std::int64_t stored = 0, linked = 0;
};

// Copies files, directories and symlinks (as links), keeping modes and modification times, which the
// torrent carries (BEP 47 executable bit, mtime); a file whose content the repository has is linked
// from the pool instead (and keeps the pooled mtime). Anything else (devices, sockets) is refused.
CopyStats copy_tree(const fs::path& src_root, const fs::path& dst_root, ContentPool& pool) {
  CopyStats stats;
  if (::mkdir(dst_root.c_str(), 0755) != 0) fail_errno("cannot create", dst_root);
  for (auto it = fs::recursive_directory_iterator(src_root); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& src = it->path();
    fs::path dst = dst_root / src.lexically_relative(src_root);  // fs::relative would follow links
    struct stat st;
    if (::lstat(src.c_str(), &st) != 0) fail_errno("cannot stat", src);
    if (S_ISLNK(st.st_mode)) {
      check_symlink_stays_inside(src_root, src);
      fs::create_symlink(fs::read_symlink(src), dst);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(dst.c_str(), 0755) != 0) fail_errno("cannot create", dst);
    } else if (S_ISREG(st.st_mode)) {
      // Published files are world-readable; only the executable bit is part of a release.
      if (pool.place(src, dst, (st.st_mode & S_IXUSR) != 0)) {
        stats.linked += st.st_size;
        continue;  // a shared inode: its mtime is the release's that first shipped the content
      }
      stats.stored += st.st_size;
    } else {
      throw UserError("cannot publish " + src.string() + ": only files, directories and symlinks can be released");
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }
  return stats;
}

// Bytes of regular files under `dir` whose inode is not among `known`.
std::int64_t bytes_not_in(const fs::path& dir, const std::set<std::pair<dev_t, ino_t>>& known) {
  std::int64_t bytes = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) == 0 && S_ISREG(st.st_mode) && !known.count({st.st_dev, st.st_ino}))
      bytes += st.st_size;
  }
  return bytes;
}

std::set<std::pair<dev_t, ino_t>> inodes_of(const fs::path& dir) {
  std::set<std::pair<dev_t, ino_t>> inodes;
  if (!fs::exists(dir)) return inodes;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) inodes.insert({st.st_dev, st.st_ino});
  }
  return inodes;
}

std::string utc_now_iso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int auto_piece_size(std::int64_t total_bytes) {
  constexpr int kMinPieces = 256, kMaxPieces = 8192;
  int piece = total_bytes < std::int64_t{kMinPieces} * (128 << 10) ? 64 << 10 : 128 << 10;
  while (piece < (64 << 20) && (total_bytes + piece - 1) / piece > kMaxPieces) piece *= 2;
  return piece;
}

namespace {

// Builds the private torrent of REPO/data/<version>. Files are piece-aligned (pad files, also for
// v1-only), so one piece never mixes two files: a lazy read of one file never waits on another's.
std::string make_torrent(const PublishOptions& o, const fs::path& release_dir, const std::vector<HotRange>& hot,
                         ReleaseRecord& record) {
  lt::file_storage files;
  lt::add_files(files, release_dir.string(), lt::create_torrent::symlinks);
  if (files.num_files() == 0) throw UserError("nothing to publish: " + o.source.string() + " holds no files");
  auto flags = lt::create_torrent::modification_time | lt::create_torrent::symlinks;
  if (o.format == TorrentFormat::v1) flags |= lt::create_torrent::v1_only | lt::create_torrent::canonical_files;
  int piece_size = o.piece_size ? o.piece_size : auto_piece_size(files.total_size());
  lt::create_torrent ct(files, piece_size, flags);
  ct.set_priv(true);
  ct.set_creator("rookery");
  int tier = 0;
  for (const auto& url : o.trackers) ct.add_tracker(url, tier++);
  if (!o.base_url.empty()) {
    std::string base = o.base_url.back() == '/' ? o.base_url : o.base_url + "/";
    ct.add_url_seed(base + "data/");
  }
  lt::error_code ec;
  lt::set_piece_hashes(ct, release_dir.parent_path().string(), ec);
  if (ec) throw UserError("cannot hash release " + o.version + ": " + ec.message());
  auto torrent = ct.generate();
  if (!hot.empty()) torrent["info"][kHotSetKey] = hot_set_entry(hot);
  std::vector<char> bytes;
  lt::bencode(std::back_inserter(bytes), torrent);

  lt::torrent_info info(bytes, lt::from_span);
  auto hashes = info.info_hashes();
  record.infohash_v1 = hashes.has_v1() ? lt::aux::to_hex(hashes.v1) : "";
  record.infohash_v2 = hashes.has_v2() ? lt::aux::to_hex(hashes.v2) : "";
  record.total_size = info.total_size();
  record.piece_size = info.piece_length();
  int real_files = 0;
  for (auto i : info.files().file_range())
    if (!(info.files().file_flags(i) & lt::file_storage::flag_pad_file)) ++real_files;
  record.files = real_files;
  return std::string(bytes.begin(), bytes.end());
}

// opentracker compares the 20-byte info-hash of each announce with this list. Hybrid torrents are
// announced under both the v1 hash and the truncated v2 hash, so both are admitted.
std::string whitelist_text(const Index& index) {
  std::string text;
  for (const auto& r : index.releases) {
    if (!r.infohash_v1.empty()) text += r.infohash_v1 + "\n";
    if (r.infohash_v2.size() >= 40) text += r.infohash_v2.substr(0, 40) + "\n";
  }
  return text;
}

void reload_tracker(const fs::path& pid_file) {
  std::string text = read_file(pid_file);
  pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
  if (pid <= 1 || ::kill(pid, SIGHUP) != 0) {
    throw UserError("published, but could not signal the tracker (pid file " + pid_file.string() +
                    "): send SIGHUP to opentracker so it admits the new release");
  }
}

// The hot set checked against the copied release: a range inside its file (a length past the end
// is cut at the end); a path that is not a regular file of the release is left out and counted (a
// trace recorded on an older release may name a file this one dropped).
std::vector<HotRange> resolve_hot_set(const std::vector<HotRange>& ranges, const fs::path& release_dir,
                                      Published& result) {
  std::vector<HotRange> out;
  for (auto r : ranges) {
    struct stat st;
    fs::path path(r.path);
    bool climbs = std::any_of(path.begin(), path.end(), [](const fs::path& e) { return e == ".."; });
    if (climbs || ::lstat((release_dir / path).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      ++result.hot_ranges_skipped;
      continue;
    }
    if (r.offset >= st.st_size) continue;  // nothing there to read (an empty file, or a trace of a longer one)
    std::int64_t end = r.length < 0 ? st.st_size : std::min<std::int64_t>(st.st_size, r.offset + r.length);
    r.length = end - r.offset;
    result.hot_bytes += r.length;
    out.push_back(std::move(r));
  }
  result.hot_ranges = out.size();
  return out;
}

}  // namespace

Index load_repository_index(const fs::path& repo) {
  fs::path path = repo / "index.json";
  if (!fs::exists(path)) return {};
  return Index::parse(read_file(path), path.string());
}

Published publish(const PublishOptions& o) {
  if (!is_valid_version_name(o.version)) {
    throw UserError("invalid version name '" + o.version +
                    "': use letters, digits, '.', '_' and '-', at most 128 characters");
  }
  if ((o.piece_size != 0 && o.piece_size < 16384) || (o.piece_size & (o.piece_size - 1)) != 0) {
    throw UserError("invalid piece size " + std::to_string(o.piece_size) + ": use a power of two, at least 16384");
  }
  struct stat st;
  if (::stat(o.source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UserError("cannot publish " + o.source.string() + ": not a directory");
  }
  if (!o.signing_key.empty()) sign_release(o.signing_key, "check the key before copying anything");
  std::vector<HotRange> hot;
  if (!o.hot_set.empty()) {
    if (!fs::is_regular_file(o.hot_set)) throw UserError("hot set " + o.hot_set.string() + ": no such file");
    hot = parse_hot_set(read_file(o.hot_set), o.hot_set.string());
  }
  for (auto sub : {"", "torrents", "data", "tracker"}) fs::create_directories(o.repo / sub);

  FileDescriptor lock(::open((o.repo / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock.valid() || ::flock(lock.get(), LOCK_EX) != 0) fail_errno("cannot lock repository", o.repo);

  Index index = load_repository_index(o.repo);
  fs::path release_dir = o.repo / "data" / o.version;
  if (index.find(o.version) || fs::exists(release_dir)) {
    throw UserError("version " + o.version + " is already published in " + o.repo.string() +
                    ": releases are immutable, publish under a new version");
  }

  // Copy under a hidden name first: a failed copy never leaves a partial release behind.
  fs::path staging = o.repo / "data" / ("." + o.version + ".staging." + std::to_string(::getpid()));
  Published result;
  ReleaseRecord& record = result.record;
  record.version = o.version;
  std::string torrent;
  fs::path torrent_path = o.repo / "torrents" / (o.version + ".torrent");
  fs::path signature_path = o.repo / "torrents" / (o.version + ".torrent.sig");
  // Until index.json lists the version nothing of it is published: a failure before then (a full
  // disk) takes back what was written, so the version can be published again.
  try {
    ContentPool pool(o.repo);
    auto copied = copy_tree(o.source, staging, pool);
    result.stored_bytes = copied.stored;
    result.linked_bytes = copied.linked;
    fs::rename(staging, release_dir);
    hot = resolve_hot_set(hot, release_dir, result);
    torrent = make_torrent(o, release_dir, hot, record);
    if (!index.releases.empty()) {
      result.previous = index.releases.back().version;
      result.new_vs_previous_bytes = bytes_not_in(release_dir, inodes_of(o.repo / "data" / result.previous));
    }
    record.published = utc_now_iso8601();
    if (!o.signing_key.empty())
      write_file_atomically(signature_path, sign_release(o.signing_key, release_message(o.version, record.infohash_v1,
                                                                                        record.infohash_v2)));
    write_file_atomically(torrent_path, torrent);
    index.releases.push_back(record);
    write_file_atomically(o.repo / "tracker" / "whitelist", whitelist_text(index));
    write_file_atomically(o.repo / "index.json", index.to_json());
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    fs::remove_all(release_dir, ignored);
    fs::remove(torrent_path, ignored);
    fs::remove(signature_path, ignored);
    // The whitelist may name the version now; rewritten from the index as it stands (best effort).
    try {
      write_file_atomically(o.repo / "tracker" / "whitelist", whitelist_text(load_repository_index(o.repo)));
    } catch (...) {
    }
    try {
      throw;
    } catch (const fs::filesystem_error& e) {
      throw UserError("cannot publish " + o.version + " in " + o.repo.string() + ": " + e.what());
    }
  }
  spdlog::info("published {} ({} files, {} bytes, infohash {})", o.version, record.files, record.total_size,
               record.infohash_v1);
  if (!o.tracker_pid_file.empty()) reload_tracker(o.tracker_pid_file);
  return result;
}

}  // namespace rookery::catalog
