#include "collector/thread_lifecycle.hpp"

namespace loopprof {

void ThreadLifecycle::exited(pid_t tid) {
  seen_.erase(tid);
  ++exits_;
  for (const ExitHandler& handler : handlers_) handler(tid);
}

size_t ThreadLifecycle::sweep(const std::unordered_set<pid_t>& live) {
  std::vector<pid_t> gone;
  for (pid_t tid : seen_)
    if (!live.count(tid)) gone.push_back(tid);
  for (pid_t tid : gone) exited(tid);
  return gone.size();
}

}  // namespace loopprof
