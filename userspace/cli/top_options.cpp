#include "cli/top_options.hpp"

#include "cli/bounded_number.hpp"
#include "cli/profile_options.hpp"

namespace loopprof {

CLI::App* add_top_command(CLI::App& app, TopOptions& o) {
  CLI::App* command = app.add_subcommand(
      "top",
      "Live view of loop threads: loop lag, utilization, stalls and their culprits, refreshed "
      "every interval (plain text when stdout is not a terminal)");
  command->add_option("-p,--pid", o.pids, "Process to watch (repeatable: -p 1 -p 2)")
      ->allow_extra_args(false)
      ->check(pid_number());
  command->add_option("-i,--interval", o.interval_s, "Refresh interval in seconds")
      ->check(bounded_number(0.1, 3600, "s"))
      ->capture_default_str();
  command
      ->add_option("-n,--iterations", o.iterations,
                   "Exit after this many refreshes (default: until q or Ctrl-C)")
      ->check(bounded_number(1, 1e9, "refreshes", "until q or Ctrl-C"));
  command->add_option("-t,--threshold", o.threshold_ms, "Stall threshold in milliseconds")
      ->check(bounded_number(kMinThresholdMs, kMaxThresholdMs, "ms"))
      ->capture_default_str();
  command
      ->add_option("--window", o.window_s,
                   "Seconds that stalls per minute and the worst stall cover")
      ->check(bounded_number(1, 86400, "s"))
      ->capture_default_str();
  command->add_option("--sort", o.sort, "Initial order of the loop rows")
      ->check(CLI::IsMember({"p99", "max", "stalls", "util", "tid"}))
      ->capture_default_str();
  command->add_flag("--text", o.text, "Plain periodic text even when stdout is a terminal");
  command->add_option("-F,--frequency", o.sample_hz, "CPU sampling frequency in Hz (0: off)")
      ->check(bounded_number(1, kMaxFrequencyHz, "Hz", "no sampling"))
      ->capture_default_str();
  command
      ->add_option("--ringbuf-size", o.ringbuf_mb,
                   "Ring buffer size in MiB per process (power of two)")
      ->check(bounded_number(1, kMaxRingbufMb, "MiB"))
      ->check([](const std::string& text) -> std::string {
        unsigned long mb = std::stoul(text);
        return (mb & (mb - 1)) == 0 ? "" : "must be a power of two";
      })
      ->capture_default_str();
  command->add_flag("-v,--verbose", o.verbose, "Print probed features and libbpf messages");
  return command;
}

}  // namespace loopprof
