// Starting loopprof (LOOPPROF_BIN) against a target, and where fixtures live.
#pragma once

#include <sys/types.h>

#include <ostream>
#include <string>
#include <vector>

#include "process.hpp"

namespace loopprof::test {

std::string loopprof_binary();                        // LOOPPROF_BIN
std::string fixture_source(const std::string& name);  // tests/fixtures/NAME (Python fixtures)
std::string fixture_binary(const std::string& name);  // built C fixture NAME

// `loopprof ARGS...` without waiting for anything (for error cases).
Process start_loopprof(std::vector<std::string> args);

// `loopprof -p PID EXTRA...`, returned once its stderr says "attached".
// Throws std::runtime_error (with loopprof's output) if it exits or does not
// attach within attach_timeout.
Process run_loopprof(pid_t pid, std::vector<std::string> extra_args = {},
                     milliseconds attach_timeout = milliseconds(10000));

struct PythonInterpreter {
  std::string executable;  // sys.executable (not a pyenv shim)
  std::string version;     // "3.11.7"
  bool has_uvloop = false;
};

inline void PrintTo(const PythonInterpreter& p, std::ostream* os) {
  *os << p.executable << " (" << p.version << ")";
}

// The Python interpreters to test: LOOPPROF_TEST_PYTHONS (colon-separated)
// if set, else `python3` on PATH and /usr/bin/python3; deduplicated by the
// real path of their executable.
std::vector<PythonInterpreter> test_pythons();

}  // namespace loopprof::test
