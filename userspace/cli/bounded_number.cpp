#include "cli/bounded_number.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace loopprof {

CLI::Validator bounded_number(double min, double max, const char* unit, const char* zero_means) {
  const bool zero_ok = zero_means != nullptr;
  std::string range =
      fmt::format("{}{} to {} {}", zero_ok ? fmt::format("0 ({}) or ", zero_means) : std::string(),
                  min, max, unit);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        auto [p, ec] = std::from_chars(text.data(), end, value);
        if (ec != std::errc() || p != end || !std::isfinite(value))
          return fmt::format("'{}' is not a number (expected {})", text, range);
        if ((value == 0 && zero_ok) || (value >= min && value <= max)) return {};
        return fmt::format("{} is out of range (expected {})", text, range);
      },
      range);
}

CLI::Validator pid_number() {
  const std::string range = fmt::format("a process ID, 1 to {}", kMaxPid);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        long long value = 0;
        const char* end = text.data() + text.size();
        auto [p, ec] = std::from_chars(text.data(), end, value);
        if (ec != std::errc() || p != end || value < 1 || value > kMaxPid)
          return fmt::format("'{}' is not {}", text, range);
        return {};
      },
      range);
}

}  // namespace loopprof
