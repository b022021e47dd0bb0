#include "rookery/swarm/manifest.hpp"

#include <spdlog/spdlog.h>
#include <unordered_map>

#include "rookery/catalog/hot_set.hpp"

namespace rookery::swarm {
namespace {

// "name/a/b" -> "a/b" for paths under a multi-file torrent's top directory.
std::string below_top(const std::string& path, bool nested) {
  if (!nested) return path;
  auto slash = path.find('/');
  return slash == std::string::npos ? std::string() : path.substr(slash + 1);
}

}  // namespace

std::vector<fs::ReleaseFile> release_files(const lt::file_storage& files) {
  const bool nested = files.num_files() > 1 || files.file_path(lt::file_index_t(0)).find('/') != std::string::npos;
  std::vector<fs::ReleaseFile> out;
  for (auto f : files.file_range()) {
    if (files.pad_file_at(f)) continue;
    auto flags = files.file_flags(f);
    fs::ReleaseFile rf;
    rf.index = static_cast<int>(f);
    rf.path = below_top(files.file_path(f), nested);
    rf.size = files.file_size(f);
    rf.mtime = files.mtime(f);
    rf.executable = (flags & lt::file_storage::flag_executable) != lt::file_flags_t{};
    rf.symlink = (flags & lt::file_storage::flag_symlink) != lt::file_flags_t{};
    // libtorrent stores a link's target as a path from the torrent's top directory too.
    if (rf.symlink) rf.link_target = below_top(files.symlink(f), nested);
    out.push_back(std::move(rf));
  }
  return out;
}

std::vector<FileRange> hot_set_ranges(const std::string& version, const lt::torrent_info& info) {
  auto hot = catalog::hot_set_of(info);
  if (hot.empty()) return {};
  std::unordered_map<std::string, int> index;
  for (const auto& f : release_files(info.files()))
    if (!f.symlink) index.emplace(f.path, f.index);
  std::vector<FileRange> ranges;
  for (const auto& r : hot) {
    auto it = index.find(r.path);
    if (it == index.end()) {
      spdlog::debug("release {}: hot set names {}, which the release does not hold", version, r.path);
      continue;
    }
    ranges.push_back({it->second, r.offset, r.length});
  }
  return ranges;
}

}  // namespace rookery::swarm
