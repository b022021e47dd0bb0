#include "rookery/catalog/index.hpp"

#include <nlohmann/json.hpp>

#include "rookery/common/error.hpp"
#include "rookery/common/version_name.hpp"

namespace rookery::catalog {

const ReleaseRecord* Index::find(const std::string& version) const {
  for (const auto& r : releases)
    if (r.version == version) return &r;
  return nullptr;
}

std::string Index::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : releases) {
    list.push_back({{"version", r.version},
                    {"infohash_v1", r.infohash_v1},
                    {"infohash_v2", r.infohash_v2},
                    {"total_size", r.total_size},
                    {"files", r.files},
                    {"piece_size", r.piece_size},
                    {"published", r.published}});
  }
  return nlohmann::json{{"format", 1}, {"releases", list}}.dump(2) + "\n";
}

Index Index::parse(const std::string& text, const std::string& origin) {
  Index index;
  try {
    auto doc = nlohmann::json::parse(text);
    for (const auto& item : doc.at("releases")) {
      ReleaseRecord r;
      r.version = item.at("version").get<std::string>();
      // A hostile or damaged index must not smuggle path components into the mount.
      if (!is_valid_version_name(r.version)) continue;
      r.infohash_v1 = item.value("infohash_v1", "");
      r.infohash_v2 = item.value("infohash_v2", "");
      r.total_size = item.value("total_size", std::int64_t{0});
      r.files = item.value("files", 0);
      r.piece_size = item.value("piece_size", 0);
      r.published = item.value("published", "");
      index.releases.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    throw UserError("catalog index " + origin + " is not valid JSON of the expected shape (" + e.what() +
                    "): check the repository or republish");
  }
  return index;
}

}  // namespace rookery::catalog
