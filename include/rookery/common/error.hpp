// Errors that reach a person. Every failure a user sees is one line that says what failed, for which
// release, and what to do; code deeper down throws UserError with that line already written, so the
// CLI only prints e.what().
#pragma once
#include <stdexcept>
#include <string>

namespace rookery {

struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A release that fails an authenticity check (missing or wrong signature): EACCES, not EIO.
struct NotTrusted : UserError {
  using UserError::UserError;
};

// A value or an errno: the filesystem logic answers the FUSE adapter with these, never with
// exceptions, because every reply must carry a precise errno.
template <class T>
class Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}
  static Expected failure(int error) { return Expected(error, 0); }
  bool ok() const { return error_ == 0; }
  int error() const { return error_; }
  T& operator*() { return value_; }
  const T& operator*() const { return value_; }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }

 private:
  Expected(int error, int) : error_(error) {}
  T value_{};
  int error_ = 0;
};

}  // namespace rookery
