#include "rookery/common/version_name.hpp"

namespace rookery {

bool is_valid_version_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxVersionNameLength || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace rookery
