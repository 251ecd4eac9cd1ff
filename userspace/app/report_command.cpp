#include "app/report_command.hpp"

#include <cstdio>

#include "app/exit_code.hpp"

namespace loopprof {

int run_report(const ReportOptions&) {
  std::fprintf(stderr, "loopprof: 'report' is not implemented yet\n");
  return kExitUsage;
}

}  // namespace loopprof
