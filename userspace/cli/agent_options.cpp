#include "cli/agent_options.hpp"

namespace loopprof {

CLI::App* add_agent_command(CLI::App& app, AgentOptions& o) {
  CLI::App* command = app.add_subcommand("agent", "(not implemented yet)");
  command->add_option("-p,--pid", o.pid, "Process");
  return command;
}

}  // namespace loopprof
