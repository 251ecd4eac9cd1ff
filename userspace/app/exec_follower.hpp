// Follows an exec of the target: the process is re-read as the new program
// (memory map and symbols, DWARF unwinder, CPython support with the BPF frame
// walker's configuration and thread map), or a warning says what could not
// be. The new program's libraries and interpreter state appear during its
// first moments, so the re-read runs a few times after the exec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "collector/stack_resolver.hpp"
#include "python/python_support.hpp"
#include "symbols/symbolizer.hpp"
#include "unwind/dwarf_unwinder.hpp"

struct bpf_object;

namespace loopprof {

class ExecFollower {
 public:
  using Clock = std::chrono::steady_clock;

  // `python` is the profile's current Python support (null: none); it is
  // replaced in place after an exec.
  ExecFollower(pid_t pid, bpf_object* object, ProcessSymbolizer& symbols, DwarfUnwinder* unwinder,
               StackResolver& resolver, std::unique_ptr<python::PythonSupport>& python,
               bool precise)
      : pid_(pid),
        object_(object),
        symbols_(symbols),
        unwinder_(unwinder),
        resolver_(resolver),
        python_(python),
        precise_(precise) {}

  // The target executed `command`: stop using the old program's interpreter
  // state now, re-read the process over the next seconds.
  void on_exec(const std::string& command, Clock::time_point now = Clock::now());
  // Runs the re-reads that are due.
  void tick(Clock::time_point now = Clock::now());

 private:
  void reread(bool last);
  void attach_python(bool last);

  pid_t pid_;
  bpf_object* object_;
  ProcessSymbolizer& symbols_;
  DwarfUnwinder* unwinder_;
  StackResolver& resolver_;
  std::unique_ptr<python::PythonSupport>& python_;
  bool precise_;
  std::string command_;
  std::vector<Clock::time_point> due_;  // pending re-reads, soonest last
  bool python_settled_ = true;
};

}  // namespace loopprof
