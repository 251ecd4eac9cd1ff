#include "cli/report_options.hpp"

namespace loopprof {

CLI::App* add_report_command(CLI::App& app, ReportOptions& o) {
  CLI::App* command = app.add_subcommand("report", "(not implemented yet)");
  command->add_option("-p,--pid", o.pid, "Process");
  return command;
}

}  // namespace loopprof
