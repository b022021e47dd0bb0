#include "rookery/fs/filesystem.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <spdlog/spdlog.h>

#include "rookery/common/version_name.hpp"

namespace rookery::fs {
namespace {

mode_t mode_of(const Node& n) {
  switch (n.kind) {
    case Node::Kind::directory: return S_IFDIR | 0555;
    case Node::Kind::symlink: return S_IFLNK | 0777;
    case Node::Kind::file: return S_IFREG | (n.executable ? 0555 : 0444);
  }
  return 0;
}

}  // namespace


// Open files a filesystem without a holder's table can record: far more than programs hold.
constexpr std::size_t kOwnOpenHandles = 16384;

Filesystem::Filesystem(ReleaseSource& source, Superblock& superblock, FilesystemOptions options,
                       OpenHandles* open_handles)
    : source_(source),
      superblock_(superblock),
      options_(options),
      uid_(::geteuid()),
      gid_(::getegid()),
      own_open_handles_(open_handles ? nullptr : std::make_unique<OpenHandles>(kOwnOpenHandles)),
      open_handles_(open_handles ? *open_handles : *own_open_handles_) {}

Filesystem::~Filesystem() = default;

Filesystem::Slot& Filesystem::slot_locked(std::uint32_t id, const std::string& version) {
  auto& slot = slots_[id];
  if (slot.version.empty()) slot.version = version;
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
  e.attr.st_mtime = e.attr.st_atime = e.attr.st_ctime = superblock_.created();
  e.attr.st_blksize = 4096;
  e.ttl = options_.root_ttl;
  return e;
}

Entry Filesystem::entry_for(std::uint32_t id, const Mounted& m, NodeId node) const {
  const Node& n = m.tree.node(node);
  Entry e;
  e.ino = make_ino(id, node);
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

// An inode of a release this process has never loaded is one the kernel got from a previous
// process: the superblock names its version, which is joined as a lookup would, and a join that
// fails answers with its errno (EIO, EACCES). A release this process evicted keeps its slot, so its
// stale inodes stay ENOENT until a lookup joins it again.
Expected<std::shared_ptr<Filesystem::Mounted>> Filesystem::mounted_for(Ino ino, NodeId* node) {
  using Result = Expected<std::shared_ptr<Mounted>>;
  std::uint32_t id = release_of(ino);
  std::shared_ptr<Mounted> mounted;
  bool seen = false, evicted = false;
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(id);
    seen = it != slots_.end();
    if (seen) {
      mounted = it->second.mounted;
      evicted = it->second.evicted;
    }
  }
  if (!mounted) {
    // An evicted release stays gone for the kernel's old inodes; any other slot without a release
    // is being joined (by a lookup, or a successor's rejoin) or failed, and load() waits or says so.
    if (seen && evicted) return Result::failure(ENOENT);
    auto version = id == 0 ? std::nullopt : superblock_.version_of(id);
    if (!version) return Result::failure(ENOENT);
    auto loaded = load(id, *version);
    if (!loaded.ok()) return Result::failure(loaded.error());
    mounted = loaded->second;
  }
  if (node_of(ino) >= mounted->tree.size()) return Result::failure(ENOENT);
  *node = node_of(ino);
  return mounted;
}

bool Filesystem::still_mounted(const std::shared_ptr<Mounted>& mounted, Ino ino) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(release_of(ino));
  return it != slots_.end() && it->second.mounted == mounted;
}

// Numbered (superblock) once the source has the version: a name that is not published gets no
// inode number, and costs no superblock write.
std::pair<std::uint32_t, std::shared_ptr<Filesystem::Mounted>> Filesystem::join(const std::string& version) {
  auto joined = source_.join(version);
  if (!joined) return {0, nullptr};
  auto mounted = std::make_shared<Mounted>();
  Superblock::ReleaseId numbered;
  try {
    numbered = superblock_.release(version);
    mounted->tree = InodeTree::from_files(joined->files(), numbered.first_seen);
  } catch (const UserError&) {
    source_.evict(version, joined);  // never keep a release that cannot be shown
    throw;
  }
  mounted->joined = std::move(joined);
  mounted->joined->mark_used();
  return {numbered.id, std::move(mounted)};
}

// `id` 0: the version has no number yet (never joined here, nor by a previous process).
Expected<Filesystem::Loaded> Filesystem::load(std::uint32_t id, const std::string& version) {
  using Result = Expected<Loaded>;
  // A joined release, or a failure recent enough to answer again without a new attempt.
  auto known = [&](std::uint32_t id) -> std::optional<Result> {
    if (id == 0) return std::nullopt;
    std::lock_guard lock(mutex_);
    Slot& s = slot_locked(id, version);
    if (s.mounted) return Loaded{id, s.mounted};
    if (s.error && std::chrono::steady_clock::now() - s.failed_at < options_.retry_failed) return Result::failure(s.error);
    return std::nullopt;
  };
  if (auto r = known(id)) return *r;
  std::lock_guard join_lock(join_mutex_);
  // Whoever held the lock before us may have joined it, numbered it, or failed.
  if (id == 0)
    if (auto numbered = superblock_.find(version)) id = numbered->id;
  if (auto r = known(id)) return *r;
  std::shared_ptr<Mounted> mounted;
  int error = 0;
  try {
    std::tie(id, mounted) = join(version);
    if (!mounted) error = ENOENT;
  } catch (const NotTrusted& e) {
    spdlog::error("release {}: refused: {}: publish it signed with the trusted key (rookery publish --sign)",
                  version, e.what());
    error = EACCES;
  } catch (const std::exception& e) {
    std::string why = e.what();  // errors from the join often name the release already
    if (why.rfind("release " + version + ":", 0) != 0) why = "release " + version + ": cannot load: " + why;
    spdlog::error("{}; retried in {} s", why, options_.retry_failed.count());
    error = EIO;
  }
  // Unknown versions are not remembered as failures (they may be published a second from now) and
  // get no number; a version that exists but failed is numbered, so that its failure is remembered.
  if (error == ENOENT) return Result::failure(error);
  if (id == 0) {
    try {
      id = superblock_.release(version).id;
    } catch (const UserError& e) {  // the failure is answered, but cannot be remembered without a number
      spdlog::warn("release {}: {}", version, e.what());
      return Result::failure(error);
    }
  }
  {
    std::lock_guard lock(mutex_);
    Slot& s = slot_locked(id, version);
    if (error) {
      s.error = error;
      s.failed_at = std::chrono::steady_clock::now();
      return Result::failure(error);
    }
    s.mounted = mounted;
    s.error = 0;
    s.evicted = false;
    missing_.erase(version);
  }
  if (on_joined) on_joined();
  return Loaded{id, mounted};
}

int Filesystem::join_version(const std::string& version) {
  if (!is_valid_version_name(version)) return ENOENT;
  auto numbered = superblock_.find(version);
  auto loaded = load(numbered ? numbered->id : 0, version);
  return loaded.ok() ? 0 : loaded.error();
}

int Filesystem::open_files(const std::string& version) {
  auto r = superblock_.find(version);
  if (!r) return 0;
  return open_handles_.open_in(r->id);
}

bool Filesystem::every_joined(bool (JoinedRelease::*holds)() const) {
  std::lock_guard lock(mutex_);
  return std::all_of(slots_.begin(), slots_.end(),
                     [holds](const auto& s) { return !s.second.mounted || (*s.second.mounted->joined.*holds)(); });
}

bool Filesystem::all_landed() { return every_joined(&JoinedRelease::landed); }

bool Filesystem::hot_sets_landed() { return every_joined(&JoinedRelease::hot_set_landed); }

std::vector<std::string> Filesystem::joined_versions() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> versions;
  for (const auto& [id, slot] : slots_)
    if (slot.mounted) versions.push_back(slot.version);
  std::sort(versions.begin(), versions.end());
  return versions;
}

// A name the catalog did not have is answered from memory for `root_ttl`, as a listing is: each
// miss costs the catalog two requests, serialized with real joins, and programs probe the root in
// bursts (git looks for .git in every parent). A join by name (prefetch, activate) always asks the
// catalog, and a version it joins is forgotten here at once.
bool Filesystem::recently_missing(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = missing_.find(name);
  if (it == missing_.end()) return false;
  if (std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count() < options_.root_ttl) return true;
  missing_.erase(it);
  return false;
}

void Filesystem::remember_missing(const std::string& name) {
  constexpr std::size_t kMaxMissing = 4096;  // bounded: names are anyone's to make up
  std::lock_guard lock(mutex_);
  if (missing_.size() >= kMaxMissing) missing_.clear();
  missing_[name] = std::chrono::steady_clock::now();
}

// Under the join lock: a release is never taken from the cache while it is being joined (the join
// would then mount a release whose files are gone).
bool Filesystem::evict(const std::string& version) {
  std::lock_guard join_lock(join_mutex_);
  std::shared_ptr<Mounted> mounted;
  if (auto r = superblock_.find(version)) {
    // Checked under `mutex_`: an open records its handle first and then checks, under `mutex_`,
    // that the release is still mounted, so either it is counted here or it fails.
    std::lock_guard lock(mutex_);
    if (open_handles_.open_in(r->id) > 0) return false;  // also files a previous process opened
    auto& slot = slot_locked(r->id, version);
    mounted = std::move(slot.mounted);
    slot.evicted = true;
  }
  source_.evict(version, mounted ? mounted->joined : nullptr);
  if (on_evicted) on_evicted(version);
  return true;
}

// A name a release does not have is answered as an entry with inode 0: the kernel then caches the
// miss (a negative dentry) as long as anything in the release, so repeated probes (a dynamic
// loader's search path, `git` looking for .git in every parent) do not come back here. Misses at
// the root are not cached: a version published a moment later must be found at once (a deploy
// joins it and flips a link to it straight away).
Expected<Entry> Filesystem::lookup(Ino parent, const std::string& name) {
  if (parent == kRootIno) {
    if (!is_valid_version_name(name)) return Expected<Entry>::failure(ENOENT);
    auto numbered = superblock_.find(name);
    if (!numbered && recently_missing(name)) return Expected<Entry>::failure(ENOENT);
    auto loaded = load(numbered ? numbered->id : 0, name);
    if (!loaded.ok()) {
      if (loaded.error() == ENOENT && !numbered) remember_missing(name);
      return Expected<Entry>::failure(loaded.error());
    }
    return entry_for(loaded->first, *loaded->second, 0);
  }
  NodeId dir;
  auto mounted = mounted_for(parent, &dir);
  if (!mounted.ok()) return Expected<Entry>::failure(mounted.error());
  if ((*mounted)->tree.node(dir).kind != Node::Kind::directory) return Expected<Entry>::failure(ENOTDIR);
  auto child = (*mounted)->tree.child(dir, name);
  if (!child) {
    Entry miss;
    miss.ttl = options_.release_ttl;
    return miss;
  }
  return entry_for(release_of(parent), **mounted, *child);
}

Expected<Entry> Filesystem::getattr(Ino ino) {
  if (ino == kRootIno) return root_entry();
  NodeId node;
  auto mounted = mounted_for(ino, &node);
  if (!mounted.ok()) return Expected<Entry>::failure(mounted.error());
  return entry_for(release_of(ino), **mounted, node);
}

Expected<std::string> Filesystem::readlink(Ino ino) {
  NodeId node;
  auto mounted = mounted_for(ino, &node);
  if (!mounted.ok()) return Expected<std::string>::failure(mounted.error());
  const Node& n = (*mounted)->tree.node(node);
  if (n.kind != Node::Kind::symlink) return Expected<std::string>::failure(EINVAL);
  return n.link_target;
}

Expected<std::string> Filesystem::getxattr(Ino ino, const std::string& name) {
  if (ino == kRootIno) {
    if (auto it = options_.root_xattrs.find(name); it != options_.root_xattrs.end()) return it->second;
  }
  return Expected<std::string>::failure(ENODATA);
}

std::string Filesystem::listxattr(Ino ino) {
  std::string names;
  if (ino == kRootIno)
    for (const auto& [name, value] : options_.root_xattrs) names += name + '\0';
  return names;
}

Expected<std::vector<DirEntry>> Filesystem::readdir(Ino ino) {
  std::vector<DirEntry> out;
  if (ino == kRootIno) {
    out.push_back({".", kRootIno, S_IFDIR});
    out.push_back({"..", kRootIno, S_IFDIR});
    std::vector<std::string> versions;
    try {
      versions = source_.versions();
    } catch (const UserError& e) {
      // Catalog unreachable and never fetched: still list what this host has joined.
      spdlog::warn("{}", e.what());
      std::lock_guard lock(mutex_);
      for (const auto& [id, s] : slots_)
        if (s.mounted) versions.push_back(s.version);
    }
    std::erase_if(versions, [](const std::string& v) { return !is_valid_version_name(v); });
    std::vector<Superblock::ReleaseId> ids;
    try {
      ids = superblock_.releases(versions);
    } catch (const UserError& e) {
      // The superblock cannot be written: list only the versions that have their numbers already.
      spdlog::warn("{}", e.what());
      std::erase_if(versions, [this](const std::string& v) { return !superblock_.find(v); });
      for (const auto& v : versions) ids.push_back(*superblock_.find(v));
    }
    for (std::size_t i = 0; i < versions.size(); ++i) out.push_back({versions[i], make_ino(ids[i].id, 0), S_IFDIR});
    return out;
  }
  NodeId dir;
  auto loaded = mounted_for(ino, &dir);
  if (!loaded.ok()) return Expected<std::vector<DirEntry>>::failure(loaded.error());
  const auto& mounted = *loaded;
  const Node& d = mounted->tree.node(dir);
  if (d.kind != Node::Kind::directory) return Expected<std::vector<DirEntry>>::failure(ENOTDIR);
  std::uint32_t id = release_of(ino);
  out.push_back({".", ino, S_IFDIR});
  out.push_back({"..", dir == 0 ? kRootIno : make_ino(id, d.parent), S_IFDIR});
  for (NodeId c : d.children) {
    const Node& n = mounted->tree.node(c);
    out.push_back({n.name, make_ino(id, c), static_cast<mode_t>(mode_of(n) & S_IFMT)});
  }
  return out;
}

struct statvfs Filesystem::statfs() {
  struct statvfs st {};
  st.f_bsize = st.f_frsize = 4096;
  st.f_namemax = 255;
  std::lock_guard lock(mutex_);
  for (const auto& [id, s] : slots_) {
    if (!s.mounted) continue;
    st.f_blocks += static_cast<fsblkcnt_t>((s.mounted->joined->total_size() + 4095) / 4096);
    st.f_files += s.mounted->tree.size();
  }
  return st;
}

}  // namespace rookery::fs
