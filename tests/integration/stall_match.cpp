#include "stall_match.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace loopprof::test {

std::vector<nlohmann::json> stall_events(const std::vector<nlohmann::json>& events, bool ongoing,
                                         pid_t tid) {
  std::vector<nlohmann::json> out;
  for (const auto& e : events) {
    if (e.value("event", "") != "stall") continue;
    if (e.value("ongoing", false) != ongoing) continue;
    if (tid != 0 && e.value("tid", -1) != tid) continue;
    out.push_back(e);
  }
  return out;
}

uint64_t overlap_ns(const nlohmann::json& stall, const Injection& injection) {
  uint64_t start = stall.value("start_ns", uint64_t{0});
  uint64_t end = start + static_cast<uint64_t>(stall.value("duration_ms", 0.0) * 1e6);
  uint64_t lo = std::max(start, injection.begin_ns);
  uint64_t hi = std::min(end, injection.end_ns);
  return hi > lo ? hi - lo : 0;
}

const nlohmann::json* stall_for(const std::vector<nlohmann::json>& stalls,
                                const Injection& injection) {
  const nlohmann::json* best = nullptr;
  uint64_t best_overlap = 0;
  for (const auto& s : stalls) {
    uint64_t o = overlap_ns(s, injection);
    if (o > best_overlap) {
      best = &s;
      best_overlap = o;
    }
  }
  uint64_t length = injection.end_ns - injection.begin_ns;
  return best_overlap * 2 >= length ? best : nullptr;
}

std::string stall_schema_error(const nlohmann::json& s) {
  auto need = [&](const char* key, auto check, const char* type) -> std::string {
    if (!s.contains(key)) return std::string("missing \"") + key + "\"";
    if (!check(s[key])) return std::string("\"") + key + "\" is not " + type;
    return "";
  };
  auto is_uint = [](const nlohmann::json& v) { return v.is_number_unsigned(); };
  auto is_num = [](const nlohmann::json& v) { return v.is_number(); };
  auto is_str = [](const nlohmann::json& v) { return v.is_string(); };
  auto is_bool = [](const nlohmann::json& v) { return v.is_boolean(); };
  auto is_arr = [](const nlohmann::json& v) { return v.is_array(); };
  for (auto err :
       {need("pid", is_uint, "an unsigned integer"), need("tid", is_uint, "an unsigned integer"),
        need("thread", is_str, "a string"), need("seq", is_uint, "an unsigned integer"),
        need("start_ns", is_uint, "an unsigned integer"), need("duration_ms", is_num, "a number"),
        need("on_cpu_ms", is_num, "a number"), need("off_cpu_ms", is_num, "a number"),
        need("ongoing", is_bool, "a boolean"), need("stacks", is_arr, "an array")}) {
    if (!err.empty()) return err;
  }
  for (const auto& stack : s["stacks"]) {
    if (!stack.is_object()) return "a stack is not an object";
    if (!stack.contains("frames") || !stack["frames"].is_array()) return "a stack has no frames";
    for (const auto& f : stack["frames"]) {
      if (!f.is_string()) return "a frame is not a string";
    }
    if (!stack.contains("weight_us") || !stack["weight_us"].is_number_unsigned()) {
      return "a stack has no unsigned weight_us";
    }
    std::string state = stack.value("state", "");
    if (state != "on_cpu" && state != "off_cpu") return "a stack's state is not on_cpu/off_cpu";
  }
  return "";
}

double duration_tolerance_ms(double expected_ms) {
  return std::max(0.1 * expected_ms, 20.0);
}

bool duration_matches(double measured_ms, double expected_ms) {
  return std::fabs(measured_ms - expected_ms) <= duration_tolerance_ms(expected_ms);
}

}  // namespace loopprof::test

namespace loopprof::test {

std::string stall_duration_error(double reported_ms, const Injection& injection) {
  double low = injection.measured_ms() - 1.0;
  double window = std::max(injection.window_ms(), injection.measured_ms());
  double high = window + duration_tolerance_ms(injection.ms);
  if (reported_ms >= low && reported_ms <= high) return "";
  return fmt::format(
      "{}: reported {:.1f} ms, expected {:.1f}..{:.1f} (fixture measured {:.1f} ms in the "
      "callback, {:.1f} ms up to the next iteration)",
      injection.step(), reported_ms, low, high, injection.measured_ms(), injection.window_ms());
}

}  // namespace loopprof::test
