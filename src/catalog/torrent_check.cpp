#include "rookery/catalog/torrent_check.hpp"

#include <libtorrent/bdecode.hpp>

#include "rookery/common/error.hpp"

namespace rookery::catalog {
namespace {

bool safe_element(lt::string_view e) {
  return !e.empty() && e != "." && e != ".." && e.find_first_of(lt::string_view("/\\\0", 3)) == lt::string_view::npos;
}

void check_element(lt::string_view e, const char* where) {
  if (!safe_element(e)) {
    throw UserError(std::string("torrent has an unsafe ") + where + " '" + std::string(e.substr(0, 64)) + "'");
  }
}

// A BEP 47 symlink target is stored relative to the link's own directory (`depth` levels below the
// release's top directory); resolved, it must never climb above the top.
void check_symlink(const lt::bdecode_node& target, int depth) {
  for (int i = 0; i < target.list_size(); ++i) {
    auto e = target.list_string_value_at(i);
    if (e == "..") --depth;
    else if (e.empty() || e == ".") continue;
    else ++depth;
    if (depth < 0 || e.find('\0') != lt::string_view::npos) throw UserError("torrent has a symlink that points outside the release");
  }
}

void check_file_tree(const lt::bdecode_node& tree, int depth, int& files, int max_files) {
  if (depth > 64) throw UserError("torrent's file tree is nested too deeply");
  for (int i = 0; i < tree.dict_size(); ++i) {
    auto [name, child] = tree.dict_at(i);
    if (name.empty()) {  // a file entry: {"": {"length": ...}}
      if (++files > max_files) throw UserError("torrent has more than " + std::to_string(max_files) + " files");
      if (auto link = child.dict_find_list("symlink path")) check_symlink(link, depth - 1);
      continue;
    }
    check_element(name, "path element");
    if (child.type() == lt::bdecode_node::dict_t) check_file_tree(child, depth + 1, files, max_files);
  }
}

}  // namespace

std::shared_ptr<const lt::torrent_info> load_release_torrent(const std::string& bytes, int max_files) {
  lt::error_code ec;
  int error_pos = 0;
  lt::bdecode_node root = lt::bdecode(lt::span<char const>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())),
                                      ec, &error_pos, 100, 10000000);
  if (ec) throw UserError("torrent is malformed (" + ec.message() + ")");
  lt::bdecode_node info = root.dict_find_dict("info");
  if (!info) throw UserError("torrent is malformed (no info dictionary)");
  check_element(info.dict_find_string_value("name"), "name");
  int files = 0;
  if (auto list = info.dict_find_list("files")) {
    for (int i = 0; i < list.list_size(); ++i) {
      auto entry = list.list_at(i);
      if (++files > max_files) throw UserError("torrent has more than " + std::to_string(max_files) + " files");
      auto path = entry.dict_find_list("path");
      if (!path) throw UserError("torrent is malformed (a file without a path)");
      bool pad = entry.dict_find_string_value("attr").find('p') != lt::string_view::npos;
      for (int j = 0; j < path.list_size() && !pad; ++j) check_element(path.list_string_value_at(j), "path element");
      if (auto link = entry.dict_find_list("symlink path")) check_symlink(link, path.list_size() - 1);
    }
  }
  if (auto tree = info.dict_find_dict("file tree")) {
    int v2_files = 0;
    check_file_tree(tree, 0, v2_files, max_files);
  }
  lt::load_torrent_limits limits;
  limits.max_buffer_size = 64 << 20;
  limits.max_pieces = 0x800000;
  try {
    return std::make_shared<lt::torrent_info>(
        lt::span<char const>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())), limits, lt::from_span);
  } catch (const std::exception& e) {  // libtorrent throws boost::system::system_error
    throw UserError(std::string("torrent is malformed (") + e.what() + ")");
  }
}

}  // namespace rookery::catalog
