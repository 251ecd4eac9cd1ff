#include "bpf/task_snapshot_session.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/unique_fd.hpp"
#include "task_snapshot.skel.h"

namespace loopprof {

namespace {

std::string errno_text(int err) {
  return std::strerror(err < 0 ? -err : err);
}

}  // namespace

Result<std::unique_ptr<TaskSnapshotSession>> TaskSnapshotSession::open(pid_t pid) {
  task_snapshot_bpf* skel = task_snapshot_bpf__open();
  if (!skel) return Error::failed("open the task iterator", errno_text(errno));
  skel->rodata->target_tgid = static_cast<__u32>(pid);
  if (int err = task_snapshot_bpf__load(skel); err) {
    task_snapshot_bpf__destroy(skel);
    return Error::failed("load the task iterator", errno_text(err),
                         "it needs a kernel with sleepable task iterators (5.18+) and BTF; "
                         "run with -v to see libbpf's log");
  }
  bpf_link* link = bpf_program__attach_iter(skel->progs.snapshot_tasks, nullptr);
  if (!link) {
    int err = errno;
    task_snapshot_bpf__destroy(skel);
    return Error::failed("attach the task iterator", errno_text(err));
  }
  return std::unique_ptr<TaskSnapshotSession>(new TaskSnapshotSession(skel, link));
}

TaskSnapshotSession::~TaskSnapshotSession() {
  bpf_link__destroy(link_);
  task_snapshot_bpf__destroy(skel_);
}

bpf_object* TaskSnapshotSession::object() {
  return skel_->obj;
}

Result<std::vector<lp_task_snapshot>> TaskSnapshotSession::take() {
  UniqueFd iter(bpf_iter_create(bpf_link__fd(link_)));
  if (iter.get() < 0) return Error::failed("start the task iterator", errno_text(errno));
  std::vector<lp_task_snapshot> out;
  std::vector<char> pending;
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    ssize_t n = read(iter.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::failed("read the task iterator", errno_text(errno));
    if (n == 0) break;
    pending.insert(pending.end(), buffer.begin(), buffer.begin() + n);
    size_t used = 0;
    while (pending.size() - used >= sizeof(lp_task_snapshot)) {
      lp_task_snapshot snapshot;
      std::memcpy(&snapshot, pending.data() + used, sizeof(snapshot));
      if (snapshot.magic != LP_SNAPSHOT_MAGIC)
        return Error::failed("read the task iterator", "BUG: a record without its magic");
      // The kernel re-runs the program for a thread whose record did not fit
      // in its buffer: keep the latest.
      if (!out.empty() && out.back().tid == snapshot.tid)
        out.back() = snapshot;
      else
        out.push_back(snapshot);
      used += sizeof(snapshot);
    }
    pending.erase(pending.begin(), pending.begin() + used);
  }
  return out;
}

}  // namespace loopprof
