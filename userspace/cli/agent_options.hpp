// Options of `loopprof agent`.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace loopprof {

struct AgentOptions {
  pid_t pid = 0;
};

// Adds the `agent` subcommand to the app; returns it.
CLI::App* add_agent_command(CLI::App& app, AgentOptions& options);

}  // namespace loopprof
