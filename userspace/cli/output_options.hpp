// Output files shared by the commands that write a profile (profile, report).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/output_file.hpp"

namespace loopprof {

struct OutputPaths {
  std::string folded;      // -o: folded stacks
  std::string events;      // --events: JSON Lines
  std::string html;        // --html: self-contained HTML report
  std::string pprof;       // --pprof: gzip-compressed profile.proto
  std::string speedscope;  // --speedscope: speedscope JSON
  std::string trace;       // --trace: Chrome Trace Event JSON

  // Every output option with its path (empty: not requested), so checks that
  // concern all outputs (resolve_outputs: same file twice, directories,
  // devices) see each one. A new output option adds its row here.
  std::vector<NamedOutput> all() const {
    return {{"-o/--output", folded}, {"--events", events},         {"--html", html},
            {"--pprof", pprof},      {"--speedscope", speedscope}, {"--trace", trace}};
  }
};

// events: whether this command offers --events (report reads one instead).
void add_output_options(CLI::App& app, OutputPaths& paths, bool events = true);

}  // namespace loopprof
