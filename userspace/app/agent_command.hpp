// `loopprof agent`.
#pragma once

#include "cli/agent_options.hpp"

namespace loopprof {

int run_agent(const AgentOptions& options);

}  // namespace loopprof
