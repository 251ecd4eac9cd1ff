// `loopprof top`.
#pragma once

#include "cli/top_options.hpp"

namespace loopprof {

int run_top(const TopOptions& options);

}  // namespace loopprof
