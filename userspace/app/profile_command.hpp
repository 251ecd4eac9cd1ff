// One profiling run (`loopprof -p PID`): attach to the target, collect until a
// stop condition, detach, and write every output completely.
#pragma once

#include "cli/profile_options.hpp"

namespace loopprof {

int run_profile(const ProfileOptions& options);

}  // namespace loopprof
