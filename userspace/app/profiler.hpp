// One profiling run: attach to the target, collect until a stop condition,
// detach, and write every output completely.
#pragma once

#include "cli/options.hpp"

namespace loopprof {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitNotALoop = 3,
};

int run_profiler(const Options& options);

}  // namespace loopprof
