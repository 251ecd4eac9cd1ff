// Per-thread state follows the live threads: every table keyed by TID
// subscribes here, and forgets a thread when it exits. Exits come from the
// kernel (one LP_REC_THREAD_EXIT per exiting thread); a sweep against the
// live thread list catches the exits whose record was lost. The same shape
// serves per-process state keyed by PID.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <unordered_set>
#include <vector>

namespace loopprof {

class ThreadLifecycle {
 public:
  using ExitHandler = std::function<void(pid_t tid)>;

  // Called, in subscription order, for every thread that exits.
  void subscribe(ExitHandler handler) { handlers_.push_back(std::move(handler)); }
  // A record named this thread: it may own state somewhere.
  void saw(pid_t tid) { seen_.insert(tid); }
  // The thread is gone: every table forgets it.
  void exited(pid_t tid);
  // Threads seen that are not in `live` any more (their exit record was lost):
  // handled as exits. Returns how many.
  size_t sweep(const std::unordered_set<pid_t>& live);

  size_t tracked() const { return seen_.size(); }
  size_t exits() const { return exits_; }

 private:
  std::vector<ExitHandler> handlers_;
  std::unordered_set<pid_t> seen_;
  size_t exits_ = 0;
};

}  // namespace loopprof
