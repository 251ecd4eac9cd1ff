#include "cli/dump_options.hpp"

#include "cli/bounded_number.hpp"

namespace loopprof {

CLI::App* add_dump_command(CLI::App& app, DumpOptions& o) {
  CLI::App* command = app.add_subcommand(
      "dump",
      "Every thread's stack right now (Python, native, kernel), its state, what it is blocked "
      "on and who holds it, without stopping the process");
  command->add_option("-p,--pid", o.pid, "Process to dump")->required()->check(pid_number());
  command->add_flag("--json", o.json, "One JSON object on stdout");
  command->add_flag("-v,--verbose", o.verbose, "Print libbpf's log");
  return command;
}

}  // namespace loopprof
