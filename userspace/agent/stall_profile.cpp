#include "agent/stall_profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "output/pprof_profile.hpp"

namespace loopprof::agent {

std::string stall_profile(const StallStore& store, std::chrono::steady_clock::time_point now,
                          uint64_t now_unix_ns, std::chrono::seconds window) {
  window = std::min(window, store.keep());
  uint64_t window_ns = static_cast<uint64_t>(window.count()) * 1'000'000'000ull;
  return stall_profile(store.since(now, window),
                       now_unix_ns > window_ns ? now_unix_ns - window_ns : 0, window_ns,
                       fmt::format("the last {} s", window.count()));
}

std::string stall_profile(const std::vector<StoredStall>& stalls, uint64_t begin_unix_ns,
                          uint64_t duration_ns, const std::string& span) {
  PprofBuilder builder;
  std::map<pid_t, const ProcessLabels*> processes;
  for (const StoredStall& s : stalls) {
    builder.add(s.stall);
    processes.emplace(s.labels.pid, &s.labels);
  }
  PprofMetadata metadata{.time_unix_ns = begin_unix_ns, .duration_ns = duration_ns};
  metadata.comments.push_back(fmt::format("loopprof agent: {} stalls of {}", stalls.size(), span));
  for (const auto& [pid, labels] : processes) {
    std::string runtime = labels->runtime.empty() ? "native" : labels->runtime;
    metadata.comments.push_back(fmt::format("pid {}: comm {}, service {}, runtime {}", pid,
                                            labels->comm, labels->service, runtime));
    metadata.process_labels[pid] = {
        {"comm", labels->comm}, {"service", labels->service}, {"runtime", runtime}};
  }
  return builder.encode(metadata);
}

}  // namespace loopprof::agent
