// What this kernel and this process can do, probed once at start-up.
#pragma once

#include <string>

#include "core/error.hpp"

namespace loopprof {

struct Features {
  bool btf = false;                  // /sys/kernel/btf/vmlinux (CO-RE)
  std::string tracefs;               // mounted tracefs ("" if none)
  bool mounted_tracefs = false;      // loopprof mounted it
  bool syscall_tracepoints = false;  // syscalls:sys_enter_epoll_wait & co.
  bool tp_btf = false;               // BTF-typed raw tracepoints
  int possible_cpus = 0;

  std::string describe() const;
};

// Fails when loopprof cannot work at all here (no BTF, missing privileges).
Result<Features> probe_features();

// CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE (or root).
Status check_privileges();

}  // namespace loopprof
