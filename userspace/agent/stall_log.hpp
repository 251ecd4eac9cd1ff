// The agent's structured log: one JSON line per stall (the --events schema
// plus the process labels comm, service and runtime) on stdout, and in the
// --events file when given. reopen() (SIGHUP) reopens the file for log
// rotation; lines are flushed as written.
#pragma once

#include <cstdio>
#include <string>

#include "agent/process_labels.hpp"
#include "core/error.hpp"
#include "model/stall.hpp"

namespace loopprof::agent {

class StallLog {
 public:
  // `to_stdout`: also write each line on stdout. `events_path` may be empty.
  static Result<StallLog> open(bool to_stdout, std::string events_path);
  StallLog(StallLog&& other) noexcept;
  StallLog& operator=(StallLog&&) = delete;
  ~StallLog();

  void write(const Stall& stall, const ProcessLabels& labels);
  Status reopen();

 private:
  StallLog(bool to_stdout, std::string path) : to_stdout_(to_stdout), path_(std::move(path)) {}
  bool to_stdout_;
  std::string path_;
  FILE* file_ = nullptr;
};

// The log line of a stall (without the newline).
std::string stall_log_line(const Stall& stall, const ProcessLabels& labels);

}  // namespace loopprof::agent
