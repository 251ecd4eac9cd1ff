# cmake -DIN=report.html -DOUT=html_template.cpp -P embed.cmake
file(READ ${IN} content)
string(FIND "${content}" ")LOOPPROF_HTML\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter")
endif()
file(WRITE ${OUT} "// Generated from ${IN} by embed.cmake: do not edit.\n"
                  "#include \"output/html/html_template.hpp\"\n\n"
                  "namespace loopprof {\n\n"
                  "std::string_view html_report_template() {\n"
                  "  static constexpr std::string_view kPage = R\"LOOPPROF_HTML(${content})LOOPPROF_HTML\";\n"
                  "  return kPage;\n"
                  "}\n\n"
                  "}  // namespace loopprof\n")
