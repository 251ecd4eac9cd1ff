// `loopprof report`.
#pragma once

#include "cli/report_options.hpp"

namespace loopprof {

int run_report(const ReportOptions& options);

}  // namespace loopprof
