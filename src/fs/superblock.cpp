#include "rookery/fs/superblock.hpp"

#include <algorithm>
#include <random>
#include <sstream>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"
#include "rookery/common/version_name.hpp"

namespace rookery::fs {
namespace {

constexpr const char* kMagic = "rookery-superblock 1";

std::uint64_t random_instance() {
  std::random_device rd;
  std::uint64_t v = 0;
  // Never 0: a zero fh is what a kernel sends for requests without an open file.
  while (v == 0) v = rd() & 0xffffffffu;
  return v;
}

}  // namespace

Superblock::Superblock(std::filesystem::path path, std::time_t now)
    : path_(std::move(path)), created_(now), instance_(random_instance()) {
  if (path_.empty() || !std::filesystem::exists(path_)) return;
  auto fail = [&](const std::string& why) {
    throw UserError("superblock " + path_.string() + " " + why +
                    ": it was not written by this rookery version; move it away (running programs that hold "
                    "files of the mount must then be restarted)");
  };
  std::istringstream in(read_file(path_));
  std::string line;
  if (!std::getline(in, line) || line != kMagic) fail("has no '" + std::string(kMagic) + "' header");
  std::string word;
  if (!(in >> word >> created_) || word != "created") fail("has no creation time");
  std::getline(in, line);  // the rest of the "created" line
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::uint32_t id = 0;
    std::time_t first_seen = 0;
    std::string version, extra;
    // Exactly four fields: a truncated line must not pass for a shorter valid one.
    if (!(fields >> word >> id >> first_seen >> version) || (fields >> extra) || word != "release" || id == 0 ||
        !is_valid_version_name(version) || by_id_.count(id) || by_version_.count(version))
      fail("has a bad release line");
    by_version_[version] = {id, first_seen};
    by_id_[id] = version;
    next_id_ = std::max(next_id_, id + 1);
  }
}

Superblock::ReleaseId Superblock::assign_locked(const std::string& version, std::vector<std::string>& added) {
  auto it = by_version_.find(version);
  if (it != by_version_.end()) return it->second;
  ReleaseId r{next_id_++, std::time(nullptr)};
  by_version_[version] = r;
  by_id_[r.id] = version;
  added.push_back(version);
  return r;
}

void Superblock::persist_locked(const std::vector<std::string>& added) {
  if (added.empty() || path_.empty()) return;
  std::string text = std::string(kMagic) + "\ncreated " + std::to_string(created_) + "\n";
  for (const auto& [id, version] : by_id_)
    text += "release " + std::to_string(id) + " " + std::to_string(by_version_[version].first_seen) + " " + version + "\n";
  try {
    write_file_atomically(path_, text, 0600);
  } catch (const UserError& e) {
    for (const auto& version : added) {
      next_id_ = std::min(next_id_, by_version_[version].id);
      by_id_.erase(by_version_[version].id);
      by_version_.erase(version);
    }
    throw UserError(std::string(e.what()) + ": new releases get no inode numbers until it can be written; free space "
                    "on the cache disk or check that it is writable");
  }
}

Superblock::ReleaseId Superblock::release(const std::string& version) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> added;
  auto r = assign_locked(version, added);
  persist_locked(added);
  return r;
}

std::vector<Superblock::ReleaseId> Superblock::releases(const std::vector<std::string>& versions) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> added;
  std::vector<ReleaseId> out;
  out.reserve(versions.size());
  for (const auto& v : versions) out.push_back(assign_locked(v, added));
  persist_locked(added);
  return out;
}

std::optional<Superblock::ReleaseId> Superblock::find(const std::string& version) const {
  std::lock_guard lock(mutex_);
  auto it = by_version_.find(version);
  if (it == by_version_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Superblock::version_of(std::uint32_t id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::uint64_t Superblock::new_handle() { return (instance_ << 32) | ++serial_; }

}  // namespace rookery::fs
