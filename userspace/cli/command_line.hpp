// The command line: the default command (profile one process, `-p PID`) or a
// subcommand (dump, top, agent, report), each with its own options.
#pragma once

#include <variant>

#include "cli/agent_options.hpp"
#include "cli/dump_options.hpp"
#include "cli/profile_options.hpp"
#include "cli/report_options.hpp"
#include "cli/top_options.hpp"

namespace loopprof {

using Command = std::variant<ProfileOptions, DumpOptions, TopOptions, AgentOptions, ReportOptions>;

// The command to run, or the exit code when parsing ended the run (--help,
// usage errors: 2).
std::variant<Command, int> parse_command_line(int argc, char** argv);

}  // namespace loopprof
