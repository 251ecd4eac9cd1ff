#include "cli/output_options.hpp"

namespace loopprof {

void add_output_options(CLI::App& app, OutputPaths& paths, bool events) {
  app.add_option("-o,--output", paths.folded,
                 "Write folded stacks of the stalls (flame-graph input, weights in us); "
                 "'-' for stdout");
  if (events)
    app.add_option("--events", paths.events,
                   "Write one JSON object per stall (JSON Lines); '-' for stdout");
  app.add_option("--html", paths.html,
                 "Write a self-contained HTML report (flame graph, timeline, summary)");
  app.add_option("--pprof", paths.pprof,
                 "Write a pprof profile (gzip-compressed profile.proto; go tool pprof, Pyroscope)");
  app.add_option("--speedscope", paths.speedscope, "Write a speedscope JSON profile");
  app.add_option("--trace", paths.trace,
                 "Write Chrome Trace Event JSON (Perfetto, chrome://tracing): a track per thread");
}

}  // namespace loopprof
