#include "unwind/dwarf_unwinder.hpp"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_set>
#include <utility>

#include "symbols/proc_maps.hpp"
#include "unwind/vdso_image.hpp"
#include "target/proc_path.hpp"

namespace loopprof {

namespace {

constexpr int kDwarfRegisters = 17;  // rax..r15, rip: the layout of lp_user_regs
static_assert(sizeof(lp_user_regs) == kDwarfRegisters * sizeof(Dwarf_Word));
static_assert(offsetof(lp_user_regs, sp) == 7 * sizeof(Dwarf_Word));
static_assert(offsetof(lp_user_regs, ip) == 16 * sizeof(Dwarf_Word));

// Only the main ELF files are reported (dwfl_report_elf), so find_elf is never
// asked for them; separate debug info (.debug_frame when .eh_frame is absent)
// is found the standard way (.gnu_debuglink, build ID under /usr/lib/debug).
const Dwfl_Callbacks kDwflCallbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = nullptr,
    .debuginfo_path = nullptr,
};

std::string dwfl_error() {
  const char* msg = dwfl_errmsg(-1);
  return msg ? msg : "unknown libdwfl error";
}

}  // namespace

struct DwarfUnwinder::State {
  pid_t pid = 0;
  DwarfUnwinderOptions options;
  Dwfl* dwfl = nullptr;
  // The ELF whose backend the attached process state uses. Without it libdwfl
  // borrows the backend of the first module, which a later refresh may free
  // (seen as an abort in state_alloc on Node, whose maps change all the time).
  int backend_fd = -1;
  Elf* backend_elf = nullptr;
  std::optional<VdsoImage> vdso;
  std::vector<std::pair<uint64_t, uint64_t>> text;  // executable ranges, sorted
  std::chrono::steady_clock::time_point last_refresh;

  // The unwind in progress (read by the libdwfl callbacks).
  const lp_user_snapshot* snapshot = nullptr;
  pid_t tid = 0;
  bool read_outside = false;
  bool bad_frame = false;
  uint64_t stack_used = 0;
  std::vector<uint64_t>* pcs = nullptr;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (dwfl) dwfl_end(dwfl);
    if (backend_elf) elf_end(backend_elf);
    if (backend_fd >= 0) close(backend_fd);
  }
};

namespace {

using State = DwarfUnwinder::State;

// ---- libdwfl thread callbacks: one thread, the snapshot's ----------------

pid_t next_thread(Dwfl*, void* arg, void** thread_arg) {
  if (*thread_arg) return 0;
  *thread_arg = arg;
  return static_cast<State*>(arg)->tid;
}

bool get_thread(Dwfl*, pid_t tid, void* arg, void** thread_arg) {
  *thread_arg = arg;
  return tid == static_cast<State*>(arg)->tid;
}

// Memory is the copied stack only: anything else fails the unwind there.
bool memory_read(Dwfl*, Dwarf_Addr address, Dwarf_Word* result, void* arg) {
  State& s = *static_cast<State*>(arg);
  const uint64_t sp = s.snapshot->regs.sp;
  const uint64_t bytes = std::min<uint64_t>(s.snapshot->stack_bytes, LP_SNAP_STACK_BYTES);
  if (address < sp || address - sp + sizeof(Dwarf_Word) > bytes) {
    s.read_outside = true;
    return false;
  }
  std::memcpy(result, s.snapshot->stack + (address - sp), sizeof(Dwarf_Word));
  s.stack_used = std::max<uint64_t>(s.stack_used, address - sp + sizeof(Dwarf_Word));
  return true;
}

bool set_initial_registers(Dwfl_Thread* thread, void* thread_arg) {
  const State& s = *static_cast<const State*>(thread_arg);
  Dwarf_Word regs[kDwarfRegisters];
  std::memcpy(regs, &s.snapshot->regs, sizeof(regs));
  if (!dwfl_thread_state_registers(thread, 0, kDwarfRegisters, regs)) return false;
  dwfl_thread_state_register_pc(thread, s.snapshot->regs.ip);
  return true;
}

const Dwfl_Thread_Callbacks kThreadCallbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
    .detach = nullptr,
    .thread_detach = nullptr,
};

int on_frame(Dwfl_Frame* frame, void* arg) {
  State& s = *static_cast<State*>(arg);
  Dwarf_Addr pc = 0;
  bool activation = false;
  if (!dwfl_frame_pc(frame, &pc, &activation)) {
    s.bad_frame = true;
    return DWARF_CB_ABORT;
  }
  s.pcs->push_back(pc);
  return s.pcs->size() >= s.options.max_frames ? DWARF_CB_ABORT : DWARF_CB_OK;
}

// The file libdwfl opens for a mapped module.
std::string module_file(const State& s, const Mapping& m) {
  if (m.vdso()) return s.vdso->path();
  if (m.deleted) return fmt::format("{}/map_files/{:x}-{:x}", proc_dir(s.pid), m.start, m.end);
  return proc_dir(s.pid) + "/root" + m.path;
}

// Reports every executable ELF mapping: base is where the file's offset 0 is
// mapped (dwfl_report_elf derives the load bias from it for ET_DYN).
Status report_modules(State& s) {
  auto maps = read_proc_maps(s.pid);
  if (!maps) return maps.error();
  s.text.clear();
  s.last_refresh = std::chrono::steady_clock::now();
  std::unordered_set<std::string> reported;
  dwfl_report_begin(s.dwfl);
  for (const Mapping& m : maps.value()) {
    if (!m.executable) continue;
    s.text.emplace_back(m.start, m.end);  // JIT code too: frame pointers may cross it
    if (!(m.file_backed() || (m.vdso() && s.vdso))) continue;
    if (!reported.insert(m.path).second) continue;
    const Mapping* first = &m;
    for (const Mapping& other : maps.value()) {
      if (other.path == m.path && other.inode == m.inode) {
        first = &other;
        break;
      }
    }
    const std::string file = module_file(s, m);
    // A file that is not ELF (or vanished) just has no unwind info.
    dwfl_report_elf(s.dwfl, m.path.c_str(), file.c_str(), -1, first->start - first->file_offset,
                    false);
  }
  if (dwfl_report_end(s.dwfl, nullptr, nullptr) != 0)
    return Error::failed(fmt::format("report the modules of process {}", s.pid), dwfl_error());
  return ok_status();
}

}  // namespace

DwarfUnwinder::DwarfUnwinder(std::unique_ptr<State> state) : state_(std::move(state)) {}
DwarfUnwinder::~DwarfUnwinder() = default;

Result<std::unique_ptr<DwarfUnwinder>> DwarfUnwinder::create(pid_t pid,
                                                             DwarfUnwinderOptions options) {
  auto s = std::make_unique<State>();
  s->pid = pid;
  s->options = options;
  if (s->options.max_frames == 0) s->options.max_frames = 1;
  if (auto vdso = VdsoImage::create()) s->vdso.emplace(std::move(vdso.value()));
  s->dwfl = dwfl_begin(&kDwflCallbacks);
  if (!s->dwfl) return Error::failed("start libdwfl", dwfl_error());
  if (auto st = report_modules(*s); !st) return st.error();
  elf_version(EV_CURRENT);
  s->backend_fd = open((proc_dir(pid) + "/exe").c_str(), O_RDONLY | O_CLOEXEC);
  if (s->backend_fd >= 0) s->backend_elf = elf_begin(s->backend_fd, ELF_C_READ_MMAP, nullptr);
  if (!dwfl_attach_state(s->dwfl, s->backend_elf, pid, &kThreadCallbacks, s.get()))
    return Error::failed(fmt::format("set up unwinding for process {}", pid), dwfl_error(),
                         "the process may have exited, or maps no ELF file");
  return std::unique_ptr<DwarfUnwinder>(new DwarfUnwinder(std::move(s)));
}

bool DwarfUnwinder::in_text(uint64_t address) const {
  const auto& text = state_->text;
  auto it = std::upper_bound(text.begin(), text.end(), address,
                             [](uint64_t a, const auto& range) { return a < range.first; });
  return it != text.begin() && address < std::prev(it)->second;
}

Status DwarfUnwinder::refresh() {
  return report_modules(*state_);
}

bool DwarfUnwinder::maybe_refresh() {
  const auto now = std::chrono::steady_clock::now();
  if (now - state_->last_refresh < state_->options.refresh_interval) return false;
  return refresh().ok();
}

UserUnwind DwarfUnwinder::run(const lp_user_snapshot& snapshot, pid_t tid) {
  State& s = *state_;
  UserUnwind out;
  s.snapshot = &snapshot;
  s.tid = tid;
  s.read_outside = false;
  s.bad_frame = false;
  s.stack_used = 0;
  s.pcs = &out.pcs;
  const int rc = dwfl_getthread_frames(s.dwfl, tid, on_frame, &s);
  // A return address that cannot be read ends the walk as if the frame were
  // the outermost one (rc 0): the read outside the copy tells them apart.
  if (rc == DWARF_CB_ABORT && !s.bad_frame) {
    out.end = UserUnwind::End::depth_limit;
  } else if (s.read_outside) {
    out.end = UserUnwind::End::snapshot_exhausted;
  } else if (rc == 0) {
    out.end = UserUnwind::End::complete;
  } else {
    out.end = UserUnwind::End::failed;
    out.error = s.bad_frame ? "unreadable frame" : dwfl_error();
  }
  out.stack_used = static_cast<uint32_t>(s.stack_used);
  s.snapshot = nullptr;
  s.pcs = nullptr;
  return out;
}

UserUnwind DwarfUnwinder::unwind(const lp_user_snapshot& snapshot, pid_t tid) {
  if (!(snapshot.flags & LP_SNAP_REGS)) return UserUnwind{};
  if (!in_text(snapshot.regs.ip)) maybe_refresh();
  UserUnwind out = run(snapshot, tid);
  // A new library (dlopen) shows up as a PC in no known module.
  if (out.end == UserUnwind::End::failed && !out.pcs.empty() && !in_text(out.pcs.back()) &&
      maybe_refresh())
    out = run(snapshot, tid);
  return out;
}

}  // namespace loopprof
