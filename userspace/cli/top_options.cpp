#include "cli/top_options.hpp"

namespace loopprof {

CLI::App* add_top_command(CLI::App& app, TopOptions& o) {
  CLI::App* command = app.add_subcommand("top", "(not implemented yet)");
  command->add_option("-p,--pid", o.pid, "Process");
  return command;
}

}  // namespace loopprof
