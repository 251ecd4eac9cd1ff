// Options of `loopprof report`: turn a saved --events file into other formats.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/output_options.hpp"

namespace loopprof {

struct ReportOptions {
  std::string events_file;
  OutputPaths outputs;
};

// Adds the `report` subcommand to the app; returns it.
CLI::App* add_report_command(CLI::App& app, ReportOptions& options);

}  // namespace loopprof
