// /debug/pprof/stalls?seconds=N: the stalls of the last N seconds as a gzip
// pprof profile (the pprof encoder of userspace/output), with the process
// labels as comments.
#pragma once

#include <chrono>
#include <string>

#include "agent/stall_store.hpp"

namespace loopprof::agent {

std::string stall_profile(const StallStore& store, std::chrono::steady_clock::time_point now,
                          std::chrono::seconds window);

}  // namespace loopprof::agent
