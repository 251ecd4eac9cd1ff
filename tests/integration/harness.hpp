// The integration-test harness: everything a test tracing a real process needs.
//   Process         spawn with captured output, wait for lines, signal, wait for exit
//   run_loopprof    loopprof attached to a PID; fixture paths; Python interpreters
//   read_jsonl / read_folded   loopprof's output files
//   TempDir         a scratch directory removed afterwards
#pragma once

#include "loopprof_runner.hpp"
#include "output_files.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
