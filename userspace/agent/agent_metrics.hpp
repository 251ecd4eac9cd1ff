// /metrics: every loopprof_ family, rendered from the watched processes'
// metrics and the agent's own health. The metric names and labels are a
// documented, stable interface (README, "Always on").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/exposition.hpp"
#include "agent/process_metrics.hpp"
#include "agent/pyroscope_pusher.hpp"

namespace loopprof::agent {

struct AgentHealth {
  size_t watched_processes = 0;
  size_t max_processes = 0;
  uint64_t refused_processes = 0;
  std::map<std::string, uint64_t> dropped_records;  // by record kind
  std::map<std::string, uint64_t> attach_failures;  // by reason
  double cpu_seconds = 0;
  double resident_bytes = 0;
  uint64_t malformed_records = 0;
  uint64_t missed_switch_ins = 0;      // repaired in the kernel (BpfSession::missed_switch_ins)
  std::optional<PushStats> pyroscope;  // with --pyroscope
};

std::string render_metrics(const std::vector<const ProcessMetrics*>& processes,
                           const AgentHealth& health);

// The agent's own CPU seconds (user + system) and resident set size.
double self_cpu_seconds();
double self_resident_bytes();

}  // namespace loopprof::agent
