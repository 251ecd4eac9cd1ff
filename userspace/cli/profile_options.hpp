// Options of the default command: profile one process (`loopprof -p PID`).
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/output_options.hpp"

namespace loopprof {

// Accepted ranges (documented in the README).
constexpr double kMinThresholdMs = 0.1;
constexpr double kMaxThresholdMs = 3'600'000;  // one hour
constexpr double kMinDurationS = 0.001;
constexpr double kMaxDurationS = 30 * 86'400;  // thirty days
constexpr double kMaxFrequencyHz = 10'000;
constexpr double kMinLoopTimeoutS = 0.1;
constexpr double kMaxLoopTimeoutS = 86'400;
constexpr double kMaxRingbufMb = 1024;

struct ProfileOptions {
  pid_t pid = 0;
  double threshold_ms = 100;
  double duration_s = 0;  // 0 = until Ctrl-C or the target exits
  OutputPaths outputs;
  uint32_t sample_hz = 199;
  double loop_timeout_s = 10;
  uint32_t ringbuf_mb = 8;
  bool verbose = false;
  bool precise = false;  // per-callback times from uprobes instead of sampling
};

// Registers the profile options on the top-level app (no subcommand).
void add_profile_options(CLI::App& app, ProfileOptions& options);
// Checks what CLI11 cannot; prints the problem and returns false.
bool validate_profile_options(const ProfileOptions& options);

}  // namespace loopprof
