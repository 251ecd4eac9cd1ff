#include "target/syscall_names.hpp"

#include <fmt/format.h>
#include <sys/syscall.h>

namespace loopprof {

namespace {

struct SyscallInfo {
  long nr;
  const char* name;
  bool fd_first;
};

constexpr SyscallInfo kSyscalls[] = {
    {SYS_read, "read", true},
    {SYS_write, "write", true},
    {SYS_open, "open", false},
    {SYS_close, "close", true},
    {SYS_poll, "poll", false},
    {SYS_pread64, "pread64", true},
    {SYS_pwrite64, "pwrite64", true},
    {SYS_readv, "readv", true},
    {SYS_writev, "writev", true},
    {SYS_select, "select", false},
    {SYS_sched_yield, "sched_yield", false},
    {SYS_msync, "msync", false},
    {SYS_pause, "pause", false},
    {SYS_nanosleep, "nanosleep", false},
    {SYS_sendfile, "sendfile", true},
    {SYS_connect, "connect", true},
    {SYS_accept, "accept", true},
    {SYS_sendto, "sendto", true},
    {SYS_recvfrom, "recvfrom", true},
    {SYS_sendmsg, "sendmsg", true},
    {SYS_recvmsg, "recvmsg", true},
    {SYS_wait4, "wait4", false},
    {SYS_flock, "flock", true},
    {SYS_fsync, "fsync", true},
    {SYS_fdatasync, "fdatasync", true},
    {SYS_rt_sigsuspend, "rt_sigsuspend", false},
    {SYS_rt_sigtimedwait, "rt_sigtimedwait", false},
    {SYS_futex, "futex", false},
    {SYS_io_getevents, "io_getevents", false},
    {SYS_clock_nanosleep, "clock_nanosleep", false},
    {SYS_epoll_wait, "epoll_wait", true},
    {SYS_waitid, "waitid", false},
    {SYS_openat, "openat", false},
    {SYS_pselect6, "pselect6", false},
    {SYS_ppoll, "ppoll", false},
    {SYS_splice, "splice", true},
    {SYS_epoll_pwait, "epoll_pwait", true},
    {SYS_accept4, "accept4", true},
    {SYS_preadv, "preadv", true},
    {SYS_pwritev, "pwritev", true},
    {SYS_recvmmsg, "recvmmsg", true},
    {SYS_sendmmsg, "sendmmsg", true},
    {SYS_copy_file_range, "copy_file_range", true},
    {SYS_preadv2, "preadv2", true},
    {SYS_pwritev2, "pwritev2", true},
    {426, "io_uring_enter", true},
    {441, "epoll_pwait2", true},
    {449, "futex_waitv", false},
    {455, "futex_wait", false},
};

const SyscallInfo* find(long nr) {
  for (const SyscallInfo& info : kSyscalls)
    if (info.nr == nr) return &info;
  return nullptr;
}

}  // namespace

std::string syscall_name(long nr) {
  if (const SyscallInfo* info = find(nr)) return info->name;
  return fmt::format("syscall {}", nr);
}

bool syscall_takes_fd(long nr) {
  const SyscallInfo* info = find(nr);
  return info && info->fd_first;
}

bool syscall_name_known(std::string_view name) {
  for (const SyscallInfo& info : kSyscalls)
    if (name == info.name) return true;
  return false;
}

bool syscall_name_takes_fd(const std::string& name) {
  for (const SyscallInfo& info : kSyscalls)
    if (name == info.name) return info.fd_first;
  return false;
}

}  // namespace loopprof
