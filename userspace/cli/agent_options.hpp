// Options of `loopprof agent`.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace loopprof {

struct AgentOptions {
  std::string listen = "127.0.0.1:9464";
  std::vector<pid_t> pids;  // --pid, repeatable: only these
  std::string match;        // --match REGEX on the command line
  std::string cgroup;       // --cgroup PATH
  double threshold_ms = 100;
  uint32_t sample_hz = 199;
  std::string events;      // --events FILE: JSON lines, reopened on SIGHUP
  bool log_stdout = true;  // one JSON line per stall on stdout
  uint32_t max_processes = 1024;
  double grace_s = 60;                 // an exited process's series stay this long
  double duration_s = 0;               // 0: until SIGINT/SIGTERM
  uint32_t ringbuf_mb = 8;             // mapped twice: counts 2x in RSS
  uint32_t profile_window_s = 600;     // stalls kept for /debug/pprof/stalls
  std::string pyroscope;               // --pyroscope URL: push the stall profile
  uint32_t pyroscope_interval_s = 15;  // every this many seconds
  std::string pyroscope_app_name = "loopprof.stalls";
  bool verbose = false;
};

// Adds the `agent` subcommand to the app; returns it.
CLI::App* add_agent_command(CLI::App& app, AgentOptions& options);
// Checks what CLI11 cannot; prints the problem and returns false.
bool validate_agent_options(const AgentOptions& options);

}  // namespace loopprof
