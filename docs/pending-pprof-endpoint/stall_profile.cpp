#include "agent/stall_profile.hpp"

#include <time.h>

#include "output/pprof_profile.hpp"

namespace loopprof::agent {

std::string stall_profile(const StallStore& store, std::chrono::steady_clock::time_point now,
                          std::chrono::seconds window) {
  PprofBuilder builder;
  for (const StoredStall& s : store.since(now, window)) builder.add(s.stall);
  timespec wall{};
  clock_gettime(CLOCK_REALTIME, &wall);
  uint64_t now_unix_ns = static_cast<uint64_t>(wall.tv_sec) * 1000000000ull +
                         static_cast<uint64_t>(wall.tv_nsec);
  uint64_t window_ns = static_cast<uint64_t>(window.count()) * 1000000000ull;
  PprofMetadata metadata{.time_unix_ns = now_unix_ns - window_ns, .duration_ns = window_ns};
  metadata.comments.push_back("loopprof agent: stalls of the last " +
                              std::to_string(window.count()) + " s");
  return builder.encode(metadata);
}

}  // namespace loopprof::agent
