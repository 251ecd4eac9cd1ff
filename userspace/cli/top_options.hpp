// Options of `loopprof top`.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace loopprof {

struct TopOptions {
  pid_t pid = 0;
};

// Adds the `top` subcommand to the app; returns it.
CLI::App* add_top_command(CLI::App& app, TopOptions& options);

}  // namespace loopprof
