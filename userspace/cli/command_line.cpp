#include "cli/command_line.hpp"

namespace loopprof {

std::variant<Command, int> parse_command_line(int argc, char** argv) {
  CLI::App app{
      "loopprof: what blocked my event loop, for how long, and why.\n"
      "Attaches to a running process (asyncio, uvloop, Node.js, any epoll/poll loop) with eBPF\n"
      "and reports every busy period of a loop thread at or above the threshold.\n\n"
      "  loopprof -p PID [options]     profile one process now\n"
      "  loopprof COMMAND --help       the other commands",
      "loopprof"};
  app.require_subcommand(0, 1);
  ProfileOptions profile;
  DumpOptions dump;
  TopOptions top;
  AgentOptions agent;
  ReportOptions report;
  add_profile_options(app, profile);
  CLI::App* dump_command = add_dump_command(app, dump);
  CLI::App* top_command = add_top_command(app, top);
  CLI::App* agent_command = add_agent_command(app, agent);
  CLI::App* report_command = add_report_command(app, report);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);    // prints help or the error
    return code == 0 ? 0 : 2;  // documented: 2 is bad usage
  }
  if (dump_command->parsed()) return Command{dump};
  if (top_command->parsed()) return Command{top};
  if (agent_command->parsed()) return Command{agent};
  if (report_command->parsed()) return Command{report};
  if (!validate_profile_options(profile)) return 2;
  return Command{profile};
}

}  // namespace loopprof
