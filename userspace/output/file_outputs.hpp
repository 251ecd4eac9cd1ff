// The output files a command was asked for (-o, --events, --html, --pprof,
// --speedscope, --trace), opened as sinks.
#pragma once

#include <memory>
#include <vector>

#include "cli/output_options.hpp"
#include "core/error.hpp"
#include "output/sink.hpp"

namespace loopprof {

Result<std::vector<std::unique_ptr<OutputSink>>> open_file_outputs(const OutputPaths& paths);

}  // namespace loopprof
