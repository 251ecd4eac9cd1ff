#include "app/report_command.hpp"

#include <fmt/format.h>

#include "app/command_support.hpp"
#include "app/exit_code.hpp"
#include "output/events_reader.hpp"
#include "output/file_outputs.hpp"

namespace loopprof {

namespace {}  // namespace

int run_report(const ReportOptions& options) {
  auto run = read_events_file(options.events_file);
  if (!run) return fail(run.error());
  auto sinks = open_file_outputs(options.outputs);
  if (!sinks) return fail(sinks.error());
  // The same calls a live run makes, in the same order: the same bytes.
  for (const Stall& stall : run->stalls)
    for (const auto& sink : sinks.value()) sink->stall(stall);
  int exit_code = kExitOk;
  for (const auto& sink : sinks.value())
    if (auto written = sink->finish(run->summary); !written) exit_code = fail(written.error());
  if (exit_code == kExitOk)
    fmt::print(stderr, "loopprof: {} stalls of PID {} ({}) from {}\n", run->summary.stalls,
               run->summary.pid, run->summary.command, options.events_file);
  return exit_code;
}

}  // namespace loopprof
