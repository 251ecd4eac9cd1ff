#include "app/agent_command.hpp"

#include <cstdio>

#include "app/exit_code.hpp"

namespace loopprof {

int run_agent(const AgentOptions&) {
  std::fprintf(stderr, "loopprof: 'agent' is not implemented yet\n");
  return kExitUsage;
}

}  // namespace loopprof
