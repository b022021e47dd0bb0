#include "rookery/fs/filesystem.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <libtorrent/hex.hpp>
#include <spdlog/spdlog.h>

#include "rookery/catalog/signature.hpp"
#include "rookery/catalog/torrent_check.hpp"
#include "rookery/common/version_name.hpp"
#include "rookery/fs/piece_map.hpp"

namespace rookery::fs {
namespace {


constexpr Ino make_ino(std::uint32_t slot, NodeId node) { return (static_cast<Ino>(slot) << 32) | node; }
constexpr std::uint32_t slot_of(Ino ino) { return static_cast<std::uint32_t>(ino >> 32); }
constexpr NodeId node_of(Ino ino) { return static_cast<NodeId>(ino & 0xffffffffu); }

mode_t mode_of(const Node& n) {
  switch (n.kind) {
    case Node::Kind::directory: return S_IFDIR | 0555;
    case Node::Kind::symlink: return S_IFLNK | 0777;
    case Node::Kind::file: return S_IFREG | (n.executable ? 0555 : 0444);
  }
  return 0;
}

}  // namespace

struct Filesystem::Handle {
  std::shared_ptr<Mounted> mounted;
  lt::file_index_t file;
  std::int64_t size;
  std::mutex mutex;  // the kernel may issue reads of one handle in parallel
  ReadaheadWindow window;
};

Filesystem::Filesystem(catalog::Catalog& catalog, swarm::Engine& engine, store::CacheDir& cache,
                       FilesystemOptions options)
    : catalog_(catalog),
      engine_(engine),
      cache_(cache),
      options_(options),
      mount_time_(std::time(nullptr)),
      uid_(::geteuid()),
      gid_(::getegid()) {}

Filesystem::~Filesystem() = default;

std::uint32_t Filesystem::slot_for(const std::string& version) {
  auto it = slot_by_version_.find(version);
  if (it != slot_by_version_.end()) return it->second;
  slots_.push_back(Slot{version, nullptr, 0, {}});
  auto slot = static_cast<std::uint32_t>(slots_.size());
  slot_by_version_.emplace(version, slot);
  return slot;
}

Entry Filesystem::root_entry() const {
  Entry e;
  e.ino = kRootIno;
  e.attr.st_ino = kRootIno;
  e.attr.st_mode = S_IFDIR | 0555;
  e.attr.st_nlink = 2;
  e.attr.st_uid = uid_;
  e.attr.st_gid = gid_;
  e.attr.st_mtime = e.attr.st_atime = e.attr.st_ctime = mount_time_;
  e.attr.st_blksize = 4096;
  e.ttl = options_.root_ttl;
  return e;
}

Entry Filesystem::entry_for(std::uint32_t slot, const Mounted& m, NodeId node) const {
  const Node& n = m.tree.node(node);
  Entry e;
  e.ino = make_ino(slot, node);
  e.attr.st_ino = e.ino;
  e.attr.st_mode = mode_of(n);
  e.attr.st_nlink = n.kind == Node::Kind::directory ? 2 : 1;
  e.attr.st_uid = uid_;
  e.attr.st_gid = gid_;
  e.attr.st_size = n.size;
  e.attr.st_blocks = (n.size + 511) / 512;
  // Large preferred I/O size: tools like cp and cat then read in big chunks.
  e.attr.st_blksize = 1 << 20;
  e.attr.st_mtime = e.attr.st_atime = e.attr.st_ctime = n.mtime;
  e.ttl = options_.release_ttl;
  return e;
}

std::shared_ptr<Filesystem::Mounted> Filesystem::mounted_for(Ino ino, NodeId* node) {
  std::lock_guard lock(mutex_);
  std::uint32_t slot = slot_of(ino);
  if (slot == 0 || slot > slots_.size()) return nullptr;
  auto mounted = slots_[slot - 1].mounted;
  if (!mounted || node_of(ino) >= mounted->tree.size()) return nullptr;
  *node = node_of(ino);
  return mounted;
}

std::shared_ptr<Filesystem::Mounted> Filesystem::join(const std::string& version) {
  // Versions are immutable: a torrent already in the cache is the release, and needs no catalog.
  auto cached = cache_.torrent_path(version);
  auto cached_signature = cache_.signature_path(version);
  const bool from_cache = std::filesystem::exists(cached);
  const bool check_signature = !options_.trusted_key.empty();
  std::string bytes, signature;
  std::optional<catalog::ReleaseRecord> record;
  if (from_cache) {
    bytes = read_file(cached);
    if (check_signature && std::filesystem::exists(cached_signature)) signature = read_file(cached_signature);
  } else {
    auto index = catalog_.index(options_.catalog_max_age);
    // A version missing from the held index may have been published a moment ago: look again.
    // (Each lookup of an unknown name costs one index fetch; the catalog is a static file.)
    if (!index.find(version)) index = catalog_.index(std::chrono::milliseconds(0));
    if (auto* r = index.find(version)) record = *r;
    if (!record) return nullptr;
    bytes = catalog_.fetch_torrent(version);
  }
  if (check_signature && signature.empty()) {
    try {
      signature = catalog_.fetch_signature(version);
    } catch (const UserError& e) {
      throw NotTrusted(std::string("no signature (") + e.what() + ")");
    }
  }
  auto info = catalog::load_release_torrent(bytes);
  auto hashes = info->info_hashes();
  std::string v1 = hashes.has_v1() ? lt::aux::to_hex(hashes.v1) : "";
  std::string v2 = hashes.has_v2() ? lt::aux::to_hex(hashes.v2) : "";
  if (record && !record->infohash_v1.empty() && v1 != record->infohash_v1) {
    throw UserError("torrent does not match the catalog's info-hash " + record->infohash_v1);
  }
  if (check_signature &&
      !catalog::verify_release(options_.trusted_key, catalog::release_message(version, v1, v2), signature)) {
    throw NotTrusted("signature does not match " + options_.trusted_key.string() +
                     " (signed by another key, or for another version)");
  }
  auto tree = InodeTree::from_files(info->files(), mount_time_);
  auto release = engine_.join(version, info);
  std::filesystem::create_directories(cache_.release_dir(version));
  if (!from_cache) write_file_atomically(cached, bytes, 0600);
  if (check_signature) write_file_atomically(cached_signature, signature, 0600);
  auto mounted = std::make_shared<Mounted>();
  mounted->tree = std::move(tree);
  mounted->release = std::move(release);
  touch_last_used(*mounted);
  return mounted;
}

// The garbage collector evicts the least recently used releases first; "used" is stamped on the
// cache directory's last-used file at join and, at most once a minute, when a file is opened.
void Filesystem::touch_last_used(Mounted& m) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  auto last = m.last_touch.load();
  if (last != 0 && now - last < 60) return;
  m.last_touch = now;
  FileDescriptor fd(::open(cache_.last_used_path(m.release->version()).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (fd.valid()) ::futimens(fd.get(), nullptr);
}

Expected<std::shared_ptr<swarm::Release>> Filesystem::join_version(const std::string& version) {
  if (!is_valid_version_name(version)) return Expected<std::shared_ptr<swarm::Release>>::failure(ENOENT);
  std::uint32_t slot;
  {
    std::lock_guard lock(mutex_);
    slot = slot_for(version);
  }
  auto mounted = load(slot);
  if (!mounted.ok()) return Expected<std::shared_ptr<swarm::Release>>::failure(mounted.error());
  return (*mounted)->release;
}

int Filesystem::open_files(const std::string& version) {
  std::lock_guard lock(mutex_);
  auto it = slot_by_version_.find(version);
  if (it == slot_by_version_.end()) return 0;
  auto& mounted = slots_[it->second - 1].mounted;
  return mounted ? mounted->open_files.load() : 0;
}

bool Filesystem::all_landed() {
  std::lock_guard lock(mutex_);
  for (const auto& s : slots_) {
    if (s.mounted && s.mounted->release->verified_payload_bytes() < s.mounted->release->payload_bytes()) return false;
  }
  return true;
}

bool Filesystem::evict(const std::string& version) {
  std::shared_ptr<Mounted> mounted;
  {
    std::lock_guard lock(mutex_);
    auto it = slot_by_version_.find(version);
    if (it != slot_by_version_.end()) {
      auto& slot = slots_[it->second - 1];
      if (slot.mounted && slot.mounted->open_files > 0) return false;
      mounted = std::move(slot.mounted);
    }
  }
  if (mounted) {
    engine_.remove(mounted->release);
  } else {
    std::error_code ec;
    std::filesystem::remove_all(cache_.release_dir(version), ec);
  }
  if (on_evicted) on_evicted(version);
  return true;
}

Expected<std::shared_ptr<Filesystem::Mounted>> Filesystem::load(std::uint32_t slot) {
  std::string version;
  {
    std::lock_guard lock(mutex_);
    Slot& s = slots_[slot - 1];
    if (s.mounted) return s.mounted;
    if (s.error && std::chrono::steady_clock::now() - s.failed_at < options_.retry_failed) {
      return Expected<std::shared_ptr<Mounted>>::failure(s.error);
    }
    version = s.version;
  }
  std::lock_guard join_lock(join_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (slots_[slot - 1].mounted) return slots_[slot - 1].mounted;  // joined while we waited
  }
  std::shared_ptr<Mounted> mounted;
  int error = 0;
  try {
    mounted = join(version);
    if (!mounted) error = ENOENT;
  } catch (const NotTrusted& e) {
    spdlog::error("release {}: refused: {}: publish it signed with the trusted key (rookery publish --sign)",
                  version, e.what());
    error = EACCES;
  } catch (const std::exception& e) {
    spdlog::error("release {}: cannot load: {}: fix the catalog entry, retried in {} s", version, e.what(),
                  options_.retry_failed.count());
    error = EIO;
  }
  {
    std::lock_guard lock(mutex_);
    Slot& s = slots_[slot - 1];
    if (error) {
      // Unknown versions are not remembered as failures: they may be published a second from now.
      if (error != ENOENT) {
        s.error = error;
        s.failed_at = std::chrono::steady_clock::now();
      }
      return Expected<std::shared_ptr<Mounted>>::failure(error);
    }
    s.mounted = mounted;
    s.error = 0;
  }
  if (on_joined) on_joined();
  return mounted;
}

Expected<Entry> Filesystem::lookup(Ino parent, const std::string& name) {
  if (parent == kRootIno) {
    if (!is_valid_version_name(name)) return Expected<Entry>::failure(ENOENT);
    std::uint32_t slot;
    {
      std::lock_guard lock(mutex_);
      slot = slot_for(name);
    }
    auto mounted = load(slot);
    if (!mounted.ok()) return Expected<Entry>::failure(mounted.error());
    return entry_for(slot, **mounted, 0);
  }
  NodeId dir;
  auto mounted = mounted_for(parent, &dir);
  if (!mounted) return Expected<Entry>::failure(ENOENT);
  if (mounted->tree.node(dir).kind != Node::Kind::directory) return Expected<Entry>::failure(ENOTDIR);
  auto child = mounted->tree.child(dir, name);
  if (!child) return Expected<Entry>::failure(ENOENT);
  return entry_for(slot_of(parent), *mounted, *child);
}

Expected<Entry> Filesystem::getattr(Ino ino) {
  if (ino == kRootIno) return root_entry();
  NodeId node;
  auto mounted = mounted_for(ino, &node);
  if (!mounted) return Expected<Entry>::failure(ENOENT);
  return entry_for(slot_of(ino), *mounted, node);
}

Expected<std::string> Filesystem::readlink(Ino ino) {
  NodeId node;
  auto mounted = mounted_for(ino, &node);
  if (!mounted) return Expected<std::string>::failure(ENOENT);
  const Node& n = mounted->tree.node(node);
  if (n.kind != Node::Kind::symlink) return Expected<std::string>::failure(EINVAL);
  return n.link_target;
}

Expected<std::vector<DirEntry>> Filesystem::readdir(Ino ino) {
  std::vector<DirEntry> out;
  if (ino == kRootIno) {
    out.push_back({".", kRootIno, S_IFDIR});
    out.push_back({"..", kRootIno, S_IFDIR});
    std::vector<std::string> versions;
    try {
      for (const auto& r : catalog_.index(options_.catalog_max_age).releases) versions.push_back(r.version);
    } catch (const UserError& e) {
      // Catalog unreachable and never fetched: still list what this host has joined.
      spdlog::warn("{}", e.what());
      std::lock_guard lock(mutex_);
      for (const auto& s : slots_)
        if (s.mounted) versions.push_back(s.version);
    }
    std::lock_guard lock(mutex_);
    for (const auto& v : versions) out.push_back({v, make_ino(slot_for(v), 0), S_IFDIR});
    return out;
  }
  NodeId dir;
  auto mounted = mounted_for(ino, &dir);
  if (!mounted) return Expected<std::vector<DirEntry>>::failure(ENOENT);
  const Node& d = mounted->tree.node(dir);
  if (d.kind != Node::Kind::directory) return Expected<std::vector<DirEntry>>::failure(ENOTDIR);
  std::uint32_t slot = slot_of(ino);
  out.push_back({".", ino, S_IFDIR});
  out.push_back({"..", dir == 0 ? kRootIno : make_ino(slot, d.parent), S_IFDIR});
  for (NodeId c : d.children) {
    const Node& n = mounted->tree.node(c);
    out.push_back({n.name, make_ino(slot, c), static_cast<mode_t>(mode_of(n) & S_IFMT)});
  }
  return out;
}

Expected<std::uint64_t> Filesystem::open(Ino ino, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return Expected<std::uint64_t>::failure(EROFS);
  NodeId node;
  auto mounted = mounted_for(ino, &node);
  if (!mounted) return Expected<std::uint64_t>::failure(ENOENT);
  const Node& n = mounted->tree.node(node);
  if (n.kind == Node::Kind::directory) return Expected<std::uint64_t>::failure(EISDIR);
  if (n.kind != Node::Kind::file) return Expected<std::uint64_t>::failure(ELOOP);
  auto* h = new Handle{mounted, lt::file_index_t(n.file_index), n.size, {}, ReadaheadWindow(options_.readahead)};
  ++mounted->open_files;
  touch_last_used(*mounted);
  return reinterpret_cast<std::uint64_t>(h);
}

void Filesystem::read(std::uint64_t handle, std::int64_t offset, std::size_t size, std::function<void(ReadReply)> reply) {
  auto* h = reinterpret_cast<Handle*>(handle);
  if (offset < 0) return reply({EINVAL});
  std::int64_t length = std::min<std::int64_t>(static_cast<std::int64_t>(size), h->size - offset);
  if (length <= 0) return reply({0, nullptr, offset, 0});  // at or past end of file
  const auto& files = h->mounted->release->info().files();
  ByteRange ahead;
  {
    std::lock_guard lock(h->mutex);
    ahead = h->window.on_read(offset, length);
  }
  auto need = pieces_for(files, h->file, offset, length);
  auto prefetch = pieces_for(files, h->file, ahead.offset, ahead.length);
  auto release = h->mounted->release;
  engine_.await(release, need, prefetch,
                [release, file = h->file, offset, length, reply = std::move(reply)](int error, bool) {
                  if (error) return reply({error});
                  auto fd = release->cache_file(file);
                  if (!fd) return reply({EIO});
                  reply({0, std::move(fd), offset, static_cast<std::size_t>(length)});
                });
}

void Filesystem::release(std::uint64_t handle) {
  auto* h = reinterpret_cast<Handle*>(handle);
  --h->mounted->open_files;
  delete h;
}

struct statvfs Filesystem::statfs() {
  struct statvfs st {};
  st.f_bsize = st.f_frsize = 4096;
  st.f_namemax = 255;
  std::lock_guard lock(mutex_);
  for (const auto& s : slots_) {
    if (!s.mounted) continue;
    st.f_blocks += static_cast<fsblkcnt_t>((s.mounted->release->info().total_size() + 4095) / 4096);
    st.f_files += s.mounted->tree.size();
  }
  return st;
}

}  // namespace rookery::fs
