// The agent's stall profile, as a gzip pprof profile through the pprof
// encoder every other command uses (output/pprof_profile.hpp): served at
// /debug/pprof/stalls?seconds=N (the stalls of the last N seconds, at most
// the store's --profile-window) and pushed to Pyroscope (--pyroscope, the
// stalls of each interval). Each sample carries its process's pid, comm,
// service and runtime as labels; the comments name each process too.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/stall_store.hpp"

namespace loopprof::agent {

// `now_unix_ns`: the wall clock at `now` (the profile's time is now - window).
std::string stall_profile(const StallStore& store, std::chrono::steady_clock::time_point now,
                          uint64_t now_unix_ns, std::chrono::seconds window);

// The profile of these stalls, covering `duration_ns` from `begin_unix_ns`;
// `span` says which span in the profile's comment ("the last 30 s").
std::string stall_profile(const std::vector<StoredStall>& stalls, uint64_t begin_unix_ns,
                          uint64_t duration_ns, const std::string& span);

}  // namespace loopprof::agent
