#include "cli/profile_options.hpp"

#include <cstdio>

#include "cli/bounded_number.hpp"

namespace loopprof {

void add_profile_options(CLI::App& app, ProfileOptions& o) {
  app.add_option("-p,--pid", o.pid, "Process to trace (all its threads)")->check(pid_number());
  app.add_option("-t,--threshold", o.threshold_ms, "Stall threshold in milliseconds")
      ->check(bounded_number(kMinThresholdMs, kMaxThresholdMs, "ms"))
      ->capture_default_str();
  app.add_option("-d,--duration", o.duration_s,
                 "Stop after this many seconds (default: until "
                 "Ctrl-C or the target exits)")
      ->check(bounded_number(kMinDurationS, kMaxDurationS, "s", "until stopped"));
  add_output_options(app, o.outputs);
  app.add_option("-F,--frequency", o.sample_hz, "CPU sampling frequency in Hz (0: off)")
      ->check(bounded_number(1, kMaxFrequencyHz, "Hz", "no sampling"))
      ->capture_default_str();
  app.add_option("--loop-timeout", o.loop_timeout_s,
                 "Give up if no thread waits in a poll-family call within this many seconds")
      ->check(bounded_number(kMinLoopTimeoutS, kMaxLoopTimeoutS, "s"))
      ->capture_default_str();
  app.add_option("--ringbuf-size", o.ringbuf_mb, "Ring buffer size in MiB (power of two)")
      ->check(bounded_number(1, kMaxRingbufMb, "MiB"))
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
