// One error style for the whole program: Result<T> carries a value or an Error
// whose message reads "failed to <verb> <object>: <reason>", plus an optional hint.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace loopprof {

struct Error {
  std::string message;  // "failed to attach sched_switch: Permission denied"
  std::string hint;     // "run as root, or grant CAP_BPF and CAP_PERFMON"

  static Error failed(const std::string& what, const std::string& reason, std::string hint = {}) {
    return Error{"failed to " + what + ": " + reason, std::move(hint)};
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T& value() const& { return std::get<T>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

}  // namespace loopprof
