// /debug/pprof/stalls?seconds=N: the stalls of the last N seconds (at most
// the store's --profile-window) as a gzip pprof profile, through the pprof
// encoder every other command uses (output/pprof_profile.hpp). Each stall's
// samples carry its pid; the profile's comments name each process (comm,
// service, runtime).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "agent/stall_store.hpp"

namespace loopprof::agent {

// `now_unix_ns`: the wall clock at `now` (the profile's time is now - window).
std::string stall_profile(const StallStore& store, std::chrono::steady_clock::time_point now,
                          uint64_t now_unix_ns, std::chrono::seconds window);

}  // namespace loopprof::agent
