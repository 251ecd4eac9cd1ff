#include "top/top_render.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "output/sink.hpp"

namespace loopprof::top {

namespace {

std::string cut(std::string line, size_t width) {
  if (width && line.size() > width) line.resize(width);
  return line;
}

// The leaf end of a folded stack, cut from the root side to `width`.
std::string folded_tail(const Frames& frames, size_t width) {
  std::string folded;
  for (const Frame& frame : frames) folded += (folded.empty() ? "" : ";") + frame_label(frame);
  if (width && folded.size() > width && width > 3)
    folded = "..." + folded.substr(folded.size() - (width - 3));
  return folded;
}

// "run_step (/srv/app/handlers.py:110)" -> "run_step (handlers.py:110)".
std::string short_label(const std::string& label) {
  size_t open = label.rfind(" (");
  if (open == std::string::npos || label.empty() || label.back() != ')') return label;
  size_t slash = label.rfind('/');
  if (slash == std::string::npos || slash < open) return label;
  return label.substr(0, open + 2) + label.substr(slash + 1);
}

std::string lag_bound(uint64_t ns) {
  return ns ? "<" + format_duration(ns) : "-";
}

std::string now_state(const LoopRow& row, uint64_t threshold_ns) {
  if (row.open_busy_ns == 0) return "wait";
  return fmt::format("{} {}", row.open_busy_ns >= threshold_ns ? "STALLED" : "busy",
                     format_duration(row.open_busy_ns));
}

std::string row_line(const LoopRow& row, uint64_t threshold_ns) {
  std::string max = row.lag_max_ns == 0 ? "-"
                    : row.lag_max_exact ? format_duration(row.lag_max_ns)
                                        : "<" + format_duration(row.lag_max_ns);
  std::string worst =
      row.has_worst ? format_duration(row.worst.duration_ns) + (row.worst.ongoing ? "+" : "") : "-";
  return fmt::format(
      "{:>7} {:>7} {:<15.15} {:>6} {:>8} {:>8} {:>8} {:>6.1f}% {:>15} {:>7.1f} "
      "{:>9} {:<8} {}",
      row.pid, row.tid, row.thread, row.iterations, lag_bound(row.lag_p50_ns),
      lag_bound(row.lag_p99_ns), max, row.utilization * 100, now_state(row, threshold_ns),
      row.stalls_per_minute, worst, row.has_worst ? row.worst.cause : "",
      row.has_worst ? short_label(row.worst.culprit) : "");
}

}  // namespace

const char* sort_key_name(SortKey key) {
  switch (key) {
    case SortKey::lag_p99:
      return "lag p99";
    case SortKey::lag_max:
      return "lag max";
    case SortKey::stalls:
      return "stalls/min";
    case SortKey::utilization:
      return "utilization";
    case SortKey::tid:
      return "tid";
  }
  return "?";
}

std::optional<SortKey> parse_sort_key(const std::string& text) {
  if (text == "p99") return SortKey::lag_p99;
  if (text == "max") return SortKey::lag_max;
  if (text == "stalls") return SortKey::stalls;
  if (text == "util") return SortKey::utilization;
  if (text == "tid") return SortKey::tid;
  return std::nullopt;
}

std::optional<SortKey> sort_key_for_key(int key) {
  switch (key) {
    case 'p':
      return SortKey::lag_p99;
    case 'm':
      return SortKey::lag_max;
    case 's':
      return SortKey::stalls;
    case 'u':
      return SortKey::utilization;
    case 't':
      return SortKey::tid;
  }
  return std::nullopt;
}

void sort_rows(std::vector<LoopRow>& rows, SortKey key) {
  auto by_thread = [](const LoopRow& a, const LoopRow& b) {
    return std::pair(a.pid, a.tid) < std::pair(b.pid, b.tid);
  };
  auto order = [&](const LoopRow& a, const LoopRow& b) {
    switch (key) {
      case SortKey::lag_p99:
        if (a.lag_p99_ns != b.lag_p99_ns) return a.lag_p99_ns > b.lag_p99_ns;
        if (a.lag_max_ns != b.lag_max_ns) return a.lag_max_ns > b.lag_max_ns;
        break;
      case SortKey::lag_max:
        if (a.lag_max_ns != b.lag_max_ns) return a.lag_max_ns > b.lag_max_ns;
        break;
      case SortKey::stalls:
        if (a.stalls_per_minute != b.stalls_per_minute)
          return a.stalls_per_minute > b.stalls_per_minute;
        break;
      case SortKey::utilization:
        if (a.utilization != b.utilization) return a.utilization > b.utilization;
        break;
      case SortKey::tid:
        break;
    }
    return by_thread(a, b);
  };
  std::stable_sort(rows.begin(), rows.end(), order);
}

std::string format_duration(uint64_t ns) {
  if (ns < 1'000'000) return fmt::format("{}us", ns / 1000);
  if (ns < 1'000'000'000) return fmt::format("{:.1f}ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f}s", static_cast<double>(ns) / 1e9);
}

ScreenText render_top(const TopFrame& frame, const ScreenHeader& header,
                      const ScreenLimits& limits) {
  const size_t width = limits.width;
  ScreenText screen;
  std::vector<std::string>& lines = screen.lines;
  auto add = [&](std::string line) { lines.push_back(cut(std::move(line), width)); };
  add(fmt::format("loopprof top  {}  {}  interval {:.1f}s  threshold {}  sort: {}{}", header.clock,
                  header.targets, static_cast<double>(frame.interval_ns) / 1e9,
                  format_duration(header.threshold_ns), sort_key_name(header.sort),
                  header.paused ? "  [PAUSED]" : ""));
  if (header.keys)
    add("keys: sort by [p]99 lag, [m]ax lag, [s]talls, [u]tilization, [t]id; [space] pause; "
        "[q]uit");
  for (const std::string& notice : header.notices) add(notice);
  add("");
  screen.columns_line = lines.size();
  add(fmt::format("{:>7} {:>7} {:<15} {:>6} {:>8} {:>8} {:>8} {:>7} {:>15} {:>7} {:>9} {:<8} {}",
                  "PID", "TID", "THREAD", "ITER", "LAG p50", "LAG p99", "LAG max", "UTIL", "NOW",
                  "STALL/m", fmt::format("WORST {}s", frame.window_ns / 1'000'000'000), "CAUSE",
                  "CULPRIT"));
  if (frame.loops.empty())
    add("  (no loop thread seen yet: none has waited in epoll_wait/poll/select since attach)");
  std::vector<LoopRow> rows = frame.loops;
  sort_rows(rows, header.sort);
  for (const LoopRow& row : rows) add(row_line(row, header.threshold_ns));

  add("");
  if (frame.stacks.empty()) {
    add("no stalls yet");
    return screen;
  }
  uint64_t age_s = (frame.now_ns - frame.stacks_ns) / 1'000'000'000;
  add(age_s == 0 ? std::string("heaviest stall stacks of the last interval:")
                 : fmt::format("heaviest stall stacks (no stall since, {} s ago):", age_s));
  size_t stack_width = limits.stack_width;
  if (width > 6 && (stack_width == 0 || stack_width > width - 6)) stack_width = width - 6;
  for (size_t i = 0; i < frame.stacks.size() && i < limits.stacks; ++i) {
    const StackRow& stack = frame.stacks[i];
    if (limits.height && lines.size() + 2 > limits.height) break;
    std::string culprit = frames_culprit(stack.frames);
    add(fmt::format("  {:>9}  tid {} ({})  {}  in {}", format_duration(stack.weight_ns), stack.tid,
                    stack.thread, stack.state == CpuState::on_cpu ? "on-cpu" : "off-cpu",
                    culprit.empty() ? "?" : short_label(culprit)));
    add("      " + folded_tail(stack.frames, stack_width));
  }
  return screen;
}

}  // namespace loopprof::top
