#include "cli/agent_options.hpp"

#include <cstdio>

#include "cli/bounded_number.hpp"
#include "cli/profile_options.hpp"

namespace loopprof {

CLI::App* add_agent_command(CLI::App& app, AgentOptions& o) {
  CLI::App* command = app.add_subcommand(
      "agent",
      "Watch every event loop on the host (or those selected), always on: Prometheus metrics, "
      "a JSON line per stall, stall profiles over HTTP");
  command
      ->add_option("--listen", o.listen, "HTTP listener for /metrics and /debug/pprof (HOST:PORT)")
      ->capture_default_str();
  command->add_option("-p,--pid", o.pids, "Watch only this process (repeatable)")
      ->check(pid_number());
  command->add_option("--match", o.match,
                      "Watch only processes whose command line matches this regular expression");
  command->add_option("--cgroup", o.cgroup,
                      "Watch only processes in this cgroup or below (a systemd unit's or a "
                      "container's cgroup directory)");
  command->add_option("-t,--threshold", o.threshold_ms, "Stall threshold in milliseconds")
      ->check(bounded_number(kMinThresholdMs, kMaxThresholdMs, "ms"))
      ->capture_default_str();
  command->add_option("-F,--frequency", o.sample_hz, "CPU sampling frequency in Hz (0: off)")
      ->check(bounded_number(1, kMaxFrequencyHz, "Hz", "no sampling"))
      ->capture_default_str();
  command->add_option("--events", o.events,
                      "Also append the JSON stall lines to this file (reopened on SIGHUP)");
  command->add_flag("!--no-log", o.log_stdout, "Do not write the JSON stall lines on stdout");
  command->add_option("--max-processes", o.max_processes, "Processes watched at once at most")
      ->check(bounded_number(1, 65536, "processes"))
      ->capture_default_str();
  command->add_option("--grace", o.grace_s, "Seconds an exited process's series stay in /metrics")
      ->check(bounded_number(kMinDurationS, kMaxDurationS, "s", "removed at once"))
      ->capture_default_str();
  command->add_option("-d,--duration", o.duration_s, "Stop after this many seconds")
      ->check(bounded_number(kMinDurationS, kMaxDurationS, "s", "until stopped"));
  command->add_option("--ringbuf-size", o.ringbuf_mb, "Ring buffer size in MiB (power of two)")
      ->check(bounded_number(1, kMaxRingbufMb, "MiB"))
      ->capture_default_str();
  command
      ->add_option("--profile-window", o.profile_window_s,
                   "Seconds of stall stacks kept for /debug/pprof/stalls")
      ->check(bounded_number(1, 86400, "s"))
      ->capture_default_str();
  command->add_option("--pyroscope", o.pyroscope,
                      "Push the stall profile to this Pyroscope server every interval "
                      "(http://HOST:PORT, its /ingest API)");
  command
      ->add_option("--pyroscope-interval", o.pyroscope_interval_s,
                   "Seconds between two pushes to Pyroscope")
      ->check(bounded_number(1, 3600, "s"))
      ->capture_default_str();
  command
      ->add_option("--pyroscope-app-name", o.pyroscope_app_name,
                   "Application name of the pushed profiles in Pyroscope")
      ->capture_default_str();
  command->add_flag("-v,--verbose", o.verbose, "Print probed features and libbpf's log");
  return command;
}

bool validate_agent_options(const AgentOptions& o) {
  if ((o.ringbuf_mb & (o.ringbuf_mb - 1)) != 0) {
    std::fprintf(stderr, "loopprof: --ringbuf-size must be a power of two\n");
    return false;
  }
  if (!o.pyroscope.empty() && o.pyroscope_interval_s > o.profile_window_s) {
    std::fprintf(stderr,
                 "loopprof: --pyroscope-interval (%u s) must not exceed --profile-window (%u s): "
                 "the stalls of an interval are pushed from the stall store\n",
                 o.pyroscope_interval_s, o.profile_window_s);
    return false;
  }
  return true;
}

}  // namespace loopprof
