// Validators for numeric options, shared by every command: a finite number in
// a range, with a message a person can read (nan, inf and 1e30 are refused
// before they reach an integer conversion or an infinite wait).
#pragma once

#include <CLI/CLI.hpp>

namespace loopprof {

// Largest PID the kernel hands out (PID_MAX_LIMIT on 64-bit).
constexpr double kMaxPid = 4'194'304;

// A finite number in [min, max], or 0 when `zero_means` says what 0 means.
CLI::Validator bounded_number(double min, double max, const char* unit,
                              const char* zero_means = nullptr);
// A process ID: a whole number from 1 to kMaxPid.
CLI::Validator pid_number();

}  // namespace loopprof
