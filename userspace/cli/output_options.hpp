// Output files shared by the commands that write a profile (profile, report).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace loopprof {

struct OutputPaths {
  std::string folded;  // -o: folded stacks
  std::string events;  // --events: JSON Lines
};

void add_output_options(CLI::App& app, OutputPaths& paths);

}  // namespace loopprof
