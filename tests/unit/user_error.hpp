// For tests of failures a person sees: the message of the UserError an action throws.
#pragma once
#include <functional>
#include <string>

#include "rookery/common/error.hpp"

namespace rookery::test {

// The what() of the UserError `action` throws; "" when it throws none (other exceptions propagate).
inline std::string user_error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace rookery::test
