// `loopprof dump`.
#pragma once

#include "cli/dump_options.hpp"

namespace loopprof {

int run_dump(const DumpOptions& options);

}  // namespace loopprof
