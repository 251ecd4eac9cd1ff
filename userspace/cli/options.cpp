#include "cli/options.hpp"

#include <CLI/CLI.hpp>

namespace loopprof {

std::variant<Options, int> parse_options(int argc, char** argv) {
  Options o;
  CLI::App app{
      "loopprof: what blocked my event loop, for how long, and why.\n"
      "Attaches to a running process (asyncio, uvloop, Node.js, any epoll/poll loop) with eBPF\n"
      "and reports every busy period of a loop thread at or above the threshold.",
      "loopprof"};
  app.add_option("-p,--pid", o.pid, "Process to trace (all its threads)")->required();
  app.add_option("-t,--threshold", o.threshold_ms, "Stall threshold in milliseconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("-d,--duration", o.duration_s,
                 "Stop after this many seconds (default: until "
                 "Ctrl-C or the target exits)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-o,--output", o.folded_path,
                 "Write folded stacks of the stalls (flame-graph input, weights in us)");
  app.add_option("--events", o.events_path, "Write one JSON object per stall (JSON Lines)");
  app.add_option("-F,--frequency", o.sample_hz, "CPU sampling frequency in Hz (0: off)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  app.add_option("--loop-timeout", o.loop_timeout_s,
                 "Give up if no thread waits in a poll-family call within this many seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ringbuf-size", o.ringbuf_mb, "Ring buffer size in MiB (power of two)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_flag("--precise", o.precise,
               "Time every asyncio callback step with a uprobe pair on CPython's context_run "
               "(needs an unstripped libpython; costs a few tens of us per callback) instead of "
               "estimating per-callback times from samples");
  app.add_flag("-v,--verbose", o.verbose, "Print probed features, hooks and stacks of each stall");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);    // prints help or the error
    return code == 0 ? 0 : 2;  // documented: 2 is bad usage
  }
  if ((o.ringbuf_mb & (o.ringbuf_mb - 1)) != 0) {
    std::fprintf(stderr, "loopprof: --ringbuf-size must be a power of two\n");
    return 2;
  }
  return o;
}

}  // namespace loopprof
