#include "cli/report_options.hpp"

namespace loopprof {

CLI::App* add_report_command(CLI::App& app, ReportOptions& o) {
  CLI::App* command = app.add_subcommand(
      "report",
      "Turn a saved --events file into an HTML report, pprof, speedscope, trace or folded "
      "stacks (the same bytes a live run writes)");
  command->add_option("EVENTS_FILE", o.events_file, "A file written by loopprof --events")
      ->required();
  add_output_options(*command, o.outputs, /*events=*/false);
  command->callback([&o] {
    const OutputPaths& p = o.outputs;
    if (p.folded.empty() && p.html.empty() && p.pprof.empty() && p.speedscope.empty() &&
        p.trace.empty())
      throw CLI::ValidationError(
          "report",
          "nothing to write: give one or more of --html, --pprof, --speedscope, "
          "--trace, -o");
  });
  return command;
}

}  // namespace loopprof
