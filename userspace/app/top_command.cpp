#include "app/top_command.hpp"

#include <cstdio>

#include "app/exit_code.hpp"

namespace loopprof {

int run_top(const TopOptions&) {
  std::fprintf(stderr, "loopprof: 'top' is not implemented yet\n");
  return kExitUsage;
}

}  // namespace loopprof
