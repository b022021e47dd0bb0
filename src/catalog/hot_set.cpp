#include "rookery/catalog/hot_set.hpp"

#include <libtorrent/bdecode.hpp>
#include <nlohmann/json.hpp>

#include "rookery/common/error.hpp"

namespace rookery::catalog {

std::vector<HotRange> parse_hot_set(const std::string& text, const std::string& origin) {
  return hot_set_from_json(nlohmann::json::parse(text, nullptr, false), origin);
}

std::vector<HotRange> hot_set_from_json(const nlohmann::json& doc, const std::string& origin) {
  auto fail = [&](const std::string& why) {
    return UserError("hot set " + origin + ": " + why +
                     " (expected {\"ranges\": [{\"path\": P, \"offset\": O, \"length\": L}, ...]})");
  };
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("ranges") || !doc["ranges"].is_array())
    throw fail("not a JSON object with a \"ranges\" list");
  std::vector<HotRange> ranges;
  for (const auto& item : doc["ranges"]) {
    auto where = "range " + std::to_string(ranges.size() + 1);
    if (!item.is_object() || !item.contains("path") || !item["path"].is_string()) throw fail(where + " has no path");
    auto number = [&](const char* key, std::int64_t absent) {
      if (!item.contains(key)) return absent;
      if (!item[key].is_number_integer()) throw fail(where + ": " + key + " is not an integer");
      return item[key].get<std::int64_t>();
    };
    HotRange r{item["path"].get<std::string>(), number("offset", 0), number("length", -1)};
    if (r.path.empty() || r.path.front() == '/') throw fail(where + ": the path must be relative to the release's root");
    if (r.offset < 0 || r.length < -1 || r.length == 0) throw fail(where + ": offset >= 0 and length > 0 (or none)");
    ranges.push_back(std::move(r));
  }
  return ranges;
}

nlohmann::json hot_set_to_json(const std::vector<HotRange>& ranges) {
  auto list = nlohmann::json::array();
  for (const auto& r : ranges) {
    nlohmann::json item{{"path", r.path}, {"offset", r.offset}};
    if (r.length >= 0) item["length"] = r.length;
    list.push_back(std::move(item));
  }
  return nlohmann::json{{"ranges", list}};
}

lt::entry hot_set_entry(const std::vector<HotRange>& ranges) {
  lt::entry::list_type list;
  for (const auto& r : ranges) list.emplace_back(lt::entry::list_type{lt::entry(r.path), lt::entry(r.offset), lt::entry(r.length)});
  return lt::entry(list);
}

std::vector<HotRange> hot_set_of(const lt::torrent_info& info) {
  auto section = info.info_section();
  lt::error_code ec;
  auto dict = lt::bdecode(section, ec);
  if (ec || dict.type() != lt::bdecode_node::dict_t) return {};
  auto list = dict.dict_find_list(kHotSetKey);
  std::vector<HotRange> ranges;
  for (int i = 0; list && i < list.list_size(); ++i) {
    auto item = list.list_at(i);
    if (item.type() != lt::bdecode_node::list_t || item.list_size() != 3) return {};
    auto path = item.list_at(0), offset = item.list_at(1), length = item.list_at(2);
    if (path.type() != lt::bdecode_node::string_t || offset.type() != lt::bdecode_node::int_t ||
        length.type() != lt::bdecode_node::int_t)
      return {};
    ranges.push_back({std::string(path.string_value()), offset.int_value(), length.int_value()});
  }
  return ranges;
}

}  // namespace rookery::catalog
