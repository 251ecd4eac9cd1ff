// Options of `loopprof report`.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace loopprof {

struct ReportOptions {
  pid_t pid = 0;
};

// Adds the `report` subcommand to the app; returns it.
CLI::App* add_report_command(CLI::App& app, ReportOptions& options);

}  // namespace loopprof
