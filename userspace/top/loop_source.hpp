// Where `loopprof top` gets its data: the loop threads of a set of target
// processes, their counters at the end of each interval and the stalls seen
// during it. The set of targets is the source's business: a list of PIDs
// (process_sessions.cpp) or every loop process of the host (host_session.cpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "model/stall.hpp"
#include "top/loop_snapshot.hpp"

namespace loopprof::top {

struct IntervalInput {
  std::vector<LoopSnapshot> loops;  // every loop thread now
  std::vector<Stall> stalls;        // ended since the last collect(), and under way now
};

struct SourceConfig {
  uint64_t threshold_ns = 100'000'000;
  uint32_t sample_hz = 199;
  uint32_t ringbuf_bytes = 8u << 20;
  bool verbose = false;
};

class LoopSource {
 public:
  virtual ~LoopSource() = default;
  // Descriptors that become readable when pump() has work (records, exits).
  virtual std::vector<int> fds() const = 0;
  // Consumes what the kernel produced; notices exits; periodic upkeep.
  virtual Status pump() = 0;
  virtual IntervalInput collect(uint64_t now_ns) = 0;
  // Things worth a line on the screen ("PID 42 (python3) exited"), once each.
  virtual std::vector<std::string> take_notices() = 0;
  // No target is left to watch.
  virtual bool done() const = 0;
  // "PID 4242 (python3)".
  virtual std::string describe() const = 0;
};

// One BPF session per process of `pids` (each must exist and be traceable).
// Progress and warnings go to stderr while attaching.
Result<std::unique_ptr<LoopSource>> open_process_sessions(const std::vector<pid_t>& pids,
                                                          const SourceConfig& config);

// Every loop process of the host, present and future, in one BPF session
// (the agent's discovery and process manager).
Result<std::unique_ptr<LoopSource>> open_host_session(const SourceConfig& config);

}  // namespace loopprof::top
