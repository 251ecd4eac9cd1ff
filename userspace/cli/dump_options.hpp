// Options of `loopprof dump`.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace loopprof {

struct DumpOptions {
  pid_t pid = 0;
  bool json = false;
  bool verbose = false;
};

// Adds the `dump` subcommand to the app; returns it.
CLI::App* add_dump_command(CLI::App& app, DumpOptions& options);

}  // namespace loopprof
