#include "cli/profile_options.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdio>

namespace loopprof {

namespace {

// A finite number in [min, max] (or 0 when `zero_means` says what 0 means),
// with a message a person can read: nan, inf and 1e30 are refused here, before
// they reach an integer conversion.
CLI::Validator bounded(double min, double max, const char* unit, const char* zero_means = nullptr) {
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

}  // namespace

void add_profile_options(CLI::App& app, ProfileOptions& o) {
  app.add_option("-p,--pid", o.pid, "Process to trace (all its threads)");
  app.add_option("-t,--threshold", o.threshold_ms, "Stall threshold in milliseconds")
      ->check(bounded(kMinThresholdMs, kMaxThresholdMs, "ms"))
      ->capture_default_str();
  app.add_option("-d,--duration", o.duration_s,
                 "Stop after this many seconds (default: until "
                 "Ctrl-C or the target exits)")
      ->check(bounded(kMinDurationS, kMaxDurationS, "s", "until stopped"));
  add_output_options(app, o.outputs);
  app.add_option("-F,--frequency", o.sample_hz, "CPU sampling frequency in Hz (0: off)")
      ->check(bounded(1, kMaxFrequencyHz, "Hz", "no sampling"))
      ->capture_default_str();
  app.add_option("--loop-timeout", o.loop_timeout_s,
                 "Give up if no thread waits in a poll-family call within this many seconds")
      ->check(bounded(kMinLoopTimeoutS, kMaxLoopTimeoutS, "s"))
      ->capture_default_str();
  app.add_option("--ringbuf-size", o.ringbuf_mb, "Ring buffer size in MiB (power of two)")
      ->check(bounded(1, kMaxRingbufMb, "MiB"))
      ->capture_default_str();
  app.add_flag("--precise", o.precise,
               "Time every asyncio callback step with a uprobe pair on CPython's context_run "
               "(needs an unstripped libpython; costs a few tens of us per callback) instead of "
               "estimating per-callback times from samples");
  app.add_flag("-v,--verbose", o.verbose, "Print probed features, hooks and stacks of each stall");
}

bool validate_profile_options(const ProfileOptions& o) {
  if (o.pid <= 0) {
    std::fprintf(stderr,
                 "loopprof: -p/--pid is required (or a command: dump, top, agent, report)\n"
                 "Run with --help for more information.\n");
    return false;
  }
  if ((o.ringbuf_mb & (o.ringbuf_mb - 1)) != 0) {
    std::fprintf(stderr, "loopprof: --ringbuf-size must be a power of two\n");
    return false;
  }
  return true;
}

}  // namespace loopprof
