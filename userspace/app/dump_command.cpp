#include "app/dump_command.hpp"

#include <cstdio>

#include "app/exit_code.hpp"

namespace loopprof {

int run_dump(const DumpOptions&) {
  std::fprintf(stderr, "loopprof: 'dump' is not implemented yet\n");
  return kExitUsage;
}

}  // namespace loopprof
