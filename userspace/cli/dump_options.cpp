#include "cli/dump_options.hpp"

namespace loopprof {

CLI::App* add_dump_command(CLI::App& app, DumpOptions& o) {
  CLI::App* command = app.add_subcommand("dump", "(not implemented yet)");
  command->add_option("-p,--pid", o.pid, "Process");
  return command;
}

}  // namespace loopprof
