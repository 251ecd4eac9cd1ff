#include "collector/wait_notes.hpp"

#include <fmt/format.h>

#include <string_view>

#include "target/syscall_names.hpp"

namespace loopprof {

std::string syscall_of_kernel_frames(const Frames& frames) {
  static constexpr std::string_view kPrefix = "__x64_sys_";
  for (const Frame& frame : frames)
    if (frame.kind == FrameKind::kernel && frame.name.rfind(kPrefix, 0) == 0)
      return frame.name.substr(kPrefix.size());
  // Kernels whose syscall table calls the body straight from do_syscall_64
  // (6.18: "do_syscall_64;ksys_read;vfs_read;anon_pipe_read", no
  // __x64_sys_read frame): the frame it called, less its prefix, when that
  // names a syscall the table knows.
  for (size_t i = 0; i + 1 < frames.size(); ++i) {
    if (frames[i].kind != FrameKind::kernel || frames[i].name != "do_syscall_64") continue;
    std::string_view callee = frames[i + 1].name;
    for (std::string_view prefix : {"ksys_", "__sys_", "__do_sys_", "do_sys_", "do_"})
      if (callee.starts_with(prefix) && syscall_name_known(callee.substr(prefix.size())))
        return std::string(callee.substr(prefix.size()));
    break;
  }
  return "";
}

void WaitNotes::began_before_attach(pid_t tid, uint64_t seq, AttachNote note) {
  attach_[{tid, seq}] = std::move(note);
}

void WaitNotes::lock_wait_seen(pid_t tid, uint64_t seq, AttachNote note) {
  note.before_attach = false;
  attach_[{tid, seq}] = std::move(note);
}

const AttachNote* WaitNotes::lock_note(pid_t tid, uint64_t seq) const {
  auto it = attach_.find({tid, seq});
  return it == attach_.end() ? nullptr : &it->second;
}

void WaitNotes::on_switch_out(const lp_capture_record& record, const Frames& frames) {
  pid_t tid = static_cast<pid_t>(record.tid);
  Period& p = periods_[tid];
  if (p.seq != record.seq) p = Period{.seq = record.seq};
  p.open.clear();
  if (record.off_reason != LP_OFF_IO) return;
  std::string syscall = syscall_of_kernel_frames(frames);
  if (syscall.empty()) {
    p.open = "disk or page-fault wait";
    return;
  }
  p.open = syscall;
  if (!syscall_name_takes_fd(syscall) || !(record.snap.flags & LP_SNAP_REGS)) return;
  int fd = static_cast<int>(record.snap.regs.di);  // the syscall's first argument
  auto named = p.fd_names.find(fd);
  if (named == p.fd_names.end()) {
    fds_.refresh();
    std::string name = fds_.describe(fd);
    named = p.fd_names.emplace(fd, name.empty() ? fmt::format("fd {}", fd) : name).first;
  }
  p.open = fmt::format("{} on {}", syscall, named->second);
}

void WaitNotes::on_resume(pid_t tid, uint64_t seq, uint64_t blocked_ns) {
  auto it = periods_.find(tid);
  if (it == periods_.end() || it->second.seq != seq || it->second.open.empty()) return;
  it->second.ns[it->second.open] += blocked_ns;
  it->second.open.clear();
}

void WaitNotes::apply(Stall& stall) {
  if (auto it = attach_.find({stall.tid, stall.seq}); it != attach_.end()) {
    stall.began_before_attach = it->second.before_attach;
    stall.deadlock = it->second.deadlock;
    stall.waited_on = it->second.waited_on;
    if (!stall.ongoing) attach_.erase(it);
  }
  auto it = periods_.find(stall.tid);
  if (it == periods_.end() || it->second.seq != stall.seq) return;
  const Period& p = it->second;
  // Under way: what it waits on now. Ended: the wait that lasted longest (a
  // wait whose resume was not seen, such as a short page fault at the end,
  // only when no other was measured).
  const std::string* longest = stall.ongoing && !p.open.empty() ? &p.open : nullptr;
  uint64_t most = 0;
  if (!longest)
    for (const auto& [what, ns] : p.ns)
      if (ns > most) {
        most = ns;
        longest = &what;
      }
  if (!longest && !p.open.empty()) longest = &p.open;
  // Named only when I/O is what the stall mostly waited for.
  if (longest && std::string_view(main_cause(stall.breakdown)) == "io") stall.waited_on = *longest;
  if (!stall.ongoing) periods_.erase(it);
}

}  // namespace loopprof
