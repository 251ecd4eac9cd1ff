#include "app/exec_follower.hpp"

#include <fmt/format.h>

namespace loopprof {

namespace {
// After the exec: the dynamic loader has mapped the libraries by the first;
// the interpreter has usually made its thread state by the second; the last
// one gives a slow start-up time.
constexpr std::chrono::milliseconds kRereadDelays[] = {std::chrono::milliseconds(150),
                                                       std::chrono::milliseconds(1000),
                                                       std::chrono::milliseconds(3000)};
}  // namespace

void ExecFollower::on_exec(const std::string& command, Clock::time_point now) {
  command_ = command;
  fmt::print(stderr, "loopprof: PID {} executed {}: re-reading it as the new program\n", pid_,
             command);
  // The old interpreter's addresses mean nothing in the new program.
  // Resetting it removes its walker configuration and thread map entries.
  resolver_.set_python(nullptr);
  python_.reset();
  if (precise_)
    fmt::print(stderr,
               "loopprof: warning: --precise: callback steps after the exec are timed only if "
               "the new program runs the same interpreter binary\n");
  python_settled_ = false;
  due_.clear();
  for (auto it = std::rbegin(kRereadDelays); it != std::rend(kRereadDelays); ++it)
    due_.push_back(now + *it);
}

void ExecFollower::tick(Clock::time_point now) {
  if (due_.empty() || now < due_.back()) return;
  while (!due_.empty() && now >= due_.back()) due_.pop_back();
  reread(due_.empty());
}

void ExecFollower::reread(bool last) {
  symbols_.refresh();
  if (unwinder_)
    if (auto refreshed = unwinder_->refresh(); !refreshed && last)
      fmt::print(stderr, "loopprof: warning: {}; native stacks of {} may be incomplete\n",
                 refreshed.error().message, command_);
  if (!python_settled_) attach_python(last);
}

void ExecFollower::attach_python(bool last) {
  auto attached = python::PythonSupport::attach(pid_, object_);
  if (attached && attached.value()) {
    python_ = std::move(attached).value();
    resolver_.set_python(python_.get());
    python_settled_ = true;
    fmt::print(stderr, "loopprof: PID {} ({}): Python frames from {}\n", pid_, command_,
               python_->description());
    return;
  }
  if (!last) return;  // its interpreter may not be up yet
  python_settled_ = true;
  if (!attached) {
    fmt::print(stderr,
               "loopprof: warning: after the exec of {}: {}; stacks will show native frames "
               "only\n",
               command_, attached.error().message);
    if (!attached.error().hint.empty())
      fmt::print(stderr, "loopprof: hint: {}\n", attached.error().hint);
  }
}

}  // namespace loopprof
