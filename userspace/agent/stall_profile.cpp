#include "agent/stall_profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "output/pprof_profile.hpp"

namespace loopprof::agent {

std::string stall_profile(const StallStore& store, std::chrono::steady_clock::time_point now,
                          uint64_t now_unix_ns, std::chrono::seconds window) {
  window = std::min(window, store.keep());
  PprofBuilder builder;
  std::map<pid_t, const ProcessLabels*> processes;
  std::vector<StoredStall> stalls = store.since(now, window);
  for (const StoredStall& s : stalls) {
    builder.add(s.stall);
    processes.emplace(s.labels.pid, &s.labels);
  }
  uint64_t window_ns = static_cast<uint64_t>(window.count()) * 1'000'000'000ull;
  PprofMetadata metadata{.time_unix_ns = now_unix_ns > window_ns ? now_unix_ns - window_ns : 0,
                         .duration_ns = window_ns};
  metadata.comments.push_back(
      fmt::format("loopprof agent: {} stalls of the last {} s", stalls.size(), window.count()));
  for (const auto& [pid, labels] : processes)
    metadata.comments.push_back(fmt::format("pid {}: comm {}, service {}, runtime {}", pid,
                                            labels->comm, labels->service,
                                            labels->runtime.empty() ? "native" : labels->runtime));
  return builder.encode(metadata);
}

}  // namespace loopprof::agent
