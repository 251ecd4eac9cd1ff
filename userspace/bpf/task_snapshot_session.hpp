// The task iterator (bpf/task_snapshot.bpf.c) for one process: every thread's
// state, blocking syscall and stacks, read from the kernel side without
// stopping the process. Open (load) once, take() as often as needed.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

#include "core/error.hpp"

extern "C" {
#include <linux/types.h>

#include "task_snapshot.h"
}

struct task_snapshot_bpf;
struct bpf_link;
struct bpf_object;

namespace loopprof {

class TaskSnapshotSession {
 public:
  static Result<std::unique_ptr<TaskSnapshotSession>> open(pid_t pid);
  ~TaskSnapshotSession();
  TaskSnapshotSession(const TaskSnapshotSession&) = delete;
  TaskSnapshotSession& operator=(const TaskSnapshotSession&) = delete;

  // For the Python support (fills the walker's maps after load).
  bpf_object* object();
  // One snapshot of every thread of the process, in thread-list order.
  Result<std::vector<lp_task_snapshot>> take();

 private:
  TaskSnapshotSession(task_snapshot_bpf* skel, bpf_link* link) : skel_(skel), link_(link) {}
  task_snapshot_bpf* skel_;
  bpf_link* link_;
};

}  // namespace loopprof
