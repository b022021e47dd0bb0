// Release names appear as directory names under the mount and as file names in the repository, so
// they are restricted to a set that is safe in both: letters, digits, '.', '_', '-', at most 128
// characters, and never "." or "..".
#pragma once
#include <string_view>

namespace rookery {

constexpr std::size_t kMaxVersionNameLength = 128;

bool is_valid_version_name(std::string_view name);

}  // namespace rookery
