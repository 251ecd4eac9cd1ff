#include <variant>

#include "app/agent_command.hpp"
#include "app/dump_command.hpp"
#include "app/profile_command.hpp"
#include "app/report_command.hpp"
#include "app/top_command.hpp"
#include "cli/command_line.hpp"

namespace {

struct RunCommand {
  int operator()(const loopprof::ProfileOptions& o) const { return loopprof::run_profile(o); }
  int operator()(const loopprof::DumpOptions& o) const { return loopprof::run_dump(o); }
  int operator()(const loopprof::TopOptions& o) const { return loopprof::run_top(o); }
  int operator()(const loopprof::AgentOptions& o) const { return loopprof::run_agent(o); }
  int operator()(const loopprof::ReportOptions& o) const { return loopprof::run_report(o); }
};

}  // namespace

int main(int argc, char** argv) {
  auto parsed = loopprof::parse_command_line(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  return std::visit(RunCommand{}, std::get<loopprof::Command>(parsed));
}
