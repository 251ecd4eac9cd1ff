#include "cli/output_options.hpp"

namespace loopprof {

void add_output_options(CLI::App& app, OutputPaths& paths) {
  app.add_option("-o,--output", paths.folded,
                 "Write folded stacks of the stalls (flame-graph input, weights in us); "
                 "'-' for stdout");
  app.add_option("--events", paths.events,
                 "Write one JSON object per stall (JSON Lines); '-' for stdout");
}

}  // namespace loopprof
