#include "agent/stall_log.hpp"

#include <cerrno>
#include <cstring>

#include "output/events_json.hpp"

namespace loopprof::agent {

std::string stall_log_line(const Stall& stall, const ProcessLabels& labels) {
  nlohmann::json line = stall_to_json(stall);
  line["comm"] = labels.comm;
  line["service"] = labels.service;
  line["runtime"] = labels.runtime.empty() ? "native" : labels.runtime;
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<StallLog> StallLog::open(bool to_stdout, std::string events_path) {
  StallLog log(to_stdout, std::move(events_path));
  if (auto opened = log.reopen(); !opened) return opened.error();
  return log;
}

StallLog::StallLog(StallLog&& other) noexcept
    : to_stdout_(other.to_stdout_), path_(std::move(other.path_)), file_(other.file_) {
  other.file_ = nullptr;
}

StallLog::~StallLog() {
  if (file_) std::fclose(file_);
}

Status StallLog::reopen() {
  if (path_.empty()) return ok_status();
  FILE* file = std::fopen(path_.c_str(), "ae");
  if (!file)
    return Error::failed("open events file " + path_, std::strerror(errno),
                         "check the directory exists and is writable");
  if (file_) std::fclose(file_);
  file_ = file;
  return ok_status();
}

void StallLog::write(const Stall& stall, const ProcessLabels& labels) {
  std::string line = stall_log_line(stall, labels) + "\n";
  if (to_stdout_) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  }
  if (file_) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }
}

}  // namespace loopprof::agent
