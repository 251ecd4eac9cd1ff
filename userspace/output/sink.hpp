// Output formats behind one interface: each sink sees every stall as it is
// reported and the summary at the end.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "model/stall.hpp"

namespace loopprof {

struct LoopThreadSummary {
  pid_t tid = 0;
  std::string thread;
  uint64_t iterations = 0;
  uint64_t stalls = 0;
  uint64_t blocked_ns = 0;
  uint64_t worst_ns = 0;
};

struct Summary {
  pid_t pid = 0;
  std::string command;
  double wall_seconds = 0;
  uint64_t threshold_ns = 0;
  uint64_t stalls = 0;
  uint64_t blocked_ns = 0;
  std::vector<Stall> worst;                 // heaviest first (a few)
  std::vector<LoopThreadSummary> loops;     // per loop thread
  std::vector<Stall> ongoing_at_exit;       // loops still blocked when we stopped
  std::map<std::string, uint64_t> dropped;  // record kind -> records lost
  std::string stop_reason;                  // "target exited", "interrupted", ...
};

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void stall(const Stall& stall) = 0;
  // Writes what is left and makes the output complete.
  virtual Status finish(const Summary& summary) = 0;
};

// Human report on a stream (stdout): a line per stall, a summary at the end.
std::unique_ptr<OutputSink> make_text_report(FILE* stream, bool verbose);
// Folded stacks of final stalls: "frame;frame;...;leaf WEIGHT_US" per line.
Result<std::unique_ptr<OutputSink>> make_folded_writer(const std::string& path);
// JSON Lines, one object per stall (and a summary object at the end).
Result<std::unique_ptr<OutputSink>> make_jsonl_writer(const std::string& path);

// The frame most worth naming for a stall: the deepest Python frame, else the
// deepest named user frame, of its heaviest stack.
std::string stall_culprit(const Stall& stall);

}  // namespace loopprof
