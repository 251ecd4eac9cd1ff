// `loopprof top`'s screen as lines of text: the same for the terminal view
// (cut to its size) and for the plain periodic text of a pipe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "top/interval_stats.hpp"

namespace loopprof::top {

enum class SortKey { lag_p99, lag_max, stalls, utilization, tid };

const char* sort_key_name(SortKey key);  // "lag p99", ...
// --sort values: "p99", "max", "stalls", "util", "tid".
std::optional<SortKey> parse_sort_key(const std::string& text);
// Keys of the terminal view: 'p', 'm', 's', 'u', 't'.
std::optional<SortKey> sort_key_for_key(int key);
// Most interesting first (tid: ascending).
void sort_rows(std::vector<LoopRow>& rows, SortKey key);

struct ScreenHeader {
  std::string targets;  // "PID 4242 (python3)"
  std::string clock;    // "12:00:01"
  uint64_t threshold_ns = 0;
  SortKey sort = SortKey::lag_p99;
  bool paused = false;
  bool keys = false;                 // show the key help (terminal view)
  std::vector<std::string> notices;  // "PID 4242 exited", ...
};

// "850us", "12.5ms", "2.40s".
std::string format_duration(uint64_t ns);

struct ScreenText {
  std::vector<std::string> lines;
  size_t columns_line = 0;  // the column titles of the loop table
};

struct ScreenLimits {
  size_t width = 0;          // lines are cut to this (0: not cut)
  size_t height = 0;         // stacks stop before this many lines (0: no limit)
  size_t stacks = 5;         // at most this many stacks
  size_t stack_width = 200;  // folded stacks keep this many characters of their leaf end
};

// The screen: header, one row per loop thread, then the heaviest stall stacks.
ScreenText render_top(const TopFrame& frame, const ScreenHeader& header,
                      const ScreenLimits& limits = {});

}  // namespace loopprof::top
