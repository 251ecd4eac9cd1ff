// The HTML report's page (output/html/report.html), compiled into loopprof by
// output/html/embed.cmake. "__LOOPPROF_DATA__" marks where the data goes.
#pragma once

#include <string_view>

namespace loopprof {

std::string_view html_report_template();

}  // namespace loopprof
