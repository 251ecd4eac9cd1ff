// Command-line options.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <variant>

namespace loopprof {

struct Options {
  pid_t pid = 0;
  double threshold_ms = 100;
  double duration_s = 0;  // 0 = until Ctrl-C or the target exits
  std::string folded_path;
  std::string events_path;
  uint32_t sample_hz = 199;
  double loop_timeout_s = 10;
  uint32_t ringbuf_mb = 8;
  bool verbose = false;
  bool precise = false;  // per-callback times from uprobes instead of sampling
};

// The options, or the exit code when parsing ended the run (--help, errors).
std::variant<Options, int> parse_options(int argc, char** argv);

}  // namespace loopprof
