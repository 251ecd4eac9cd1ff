// Output files shared by the commands that write a profile (profile, report).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace loopprof {

struct OutputPaths {
  std::string folded;      // -o: folded stacks
  std::string events;      // --events: JSON Lines
  std::string html;        // --html: self-contained HTML report
  std::string pprof;       // --pprof: gzip-compressed profile.proto
  std::string speedscope;  // --speedscope: speedscope JSON
  std::string trace;       // --trace: Chrome Trace Event JSON
};

// events: whether this command offers --events (report reads one instead).
void add_output_options(CLI::App& app, OutputPaths& paths, bool events = true);

}  // namespace loopprof
