#include "bpf/features.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace loopprof {

namespace {

namespace fs = std::filesystem;

constexpr int kCapSysPtrace = 19;
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

bool has_capability(const __user_cap_data_struct (&data)[2], int cap) {
  return data[cap / 32].effective & (1u << (cap % 32));
}

std::string find_tracefs() {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (fs::exists(fs::path(dir) / "events")) return dir;
  return {};
}

// tp_btf programs attach where the kernel's BTF describes the tracepoint.
bool has_btf_tracepoint(const char* name) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return false;
  std::string type = std::string("btf_trace_") + name;
  bool found = btf__find_by_name_kind(vmlinux, type.c_str(), BTF_KIND_TYPEDEF) >= 0;
  btf__free(vmlinux);
  return found;
}

}  // namespace

Status check_privileges() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0)
    return Error::failed("read capabilities", std::strerror(errno));
  bool admin = has_capability(data, kCapSysAdmin);
  std::string missing;
  for (auto [cap, name] : {std::pair{kCapBpf, "CAP_BPF"}, std::pair{kCapPerfmon, "CAP_PERFMON"},
                           std::pair{kCapSysPtrace, "CAP_SYS_PTRACE"}}) {
    bool covered = has_capability(data, cap) || (admin && cap != kCapSysPtrace);
    if (!covered) missing += missing.empty() ? name : std::string(", ") + name;
  }
  if (!missing.empty())
    return Error::failed("start", "missing capabilities " + missing,
                         "run as root (sudo loopprof ...), or grant CAP_BPF, CAP_PERFMON and "
                         "CAP_SYS_PTRACE");
  return ok_status();
}

Result<Features> probe_features() {
  Features f;
  f.btf = fs::exists("/sys/kernel/btf/vmlinux");
  if (!f.btf)
    return Error::failed("use this kernel", "it has no BTF (/sys/kernel/btf/vmlinux is missing)",
                         "loopprof needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
  f.possible_cpus = libbpf_num_possible_cpus();

  f.tracefs = find_tracefs();
  if (f.tracefs.empty() && mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0) {
    f.mounted_tracefs = true;
    f.tracefs = find_tracefs();
  }
  f.syscall_tracepoints =
      !f.tracefs.empty() &&
      fs::exists(fs::path(f.tracefs) / "events/syscalls/sys_enter_epoll_wait/id");
  f.tp_btf = has_btf_tracepoint("sched_switch") && has_btf_tracepoint("sched_process_exit");
  return f;
}

std::string Features::describe() const {
  return fmt::format("BTF: {}; tracefs: {}{}; poll-family hooks: {}; scheduler hooks: {}; CPUs: {}",
                     btf ? "yes" : "no", tracefs.empty() ? "none" : tracefs,
                     mounted_tracefs ? " (mounted by loopprof)" : "",
                     syscall_tracepoints ? "per-syscall tracepoints" : "raw_tp sys_enter/sys_exit",
                     tp_btf ? "tp_btf" : "raw_tp", possible_cpus);
}

}  // namespace loopprof
