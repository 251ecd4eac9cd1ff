// Options of `loopprof top`.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace loopprof {

struct TopOptions {
  std::vector<pid_t> pids;  // empty: every loop process of the host
  double interval_s = 1;
  uint32_t iterations = 0;  // refreshes before exiting; 0: until q or Ctrl-C
  double threshold_ms = 100;
  double window_s = 60;  // what stalls/min and the worst stall cover
  std::string sort = "p99";
  bool text = false;  // plain periodic text even on a terminal
  uint32_t sample_hz = 199;
  uint32_t ringbuf_mb = 8;
  bool verbose = false;
};

// Adds the `top` subcommand to the app; returns it.
CLI::App* add_top_command(CLI::App& app, TopOptions& options);

}  // namespace loopprof
