#include "unwind/dwarf_unwinder.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libelf.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "symbols/proc_maps.hpp"
#include "target/proc_path.hpp"
#include "unwind/snapshot_bytes.hpp"
#include "unwind/vdso_image.hpp"

namespace loopprof {

namespace {

constexpr int kDwarfRegisters = 17;            // rax..r15, rip: the layout of lp_user_regs
constexpr unsigned kFramePointerRegister = 6;  // rbp in DWARF numbering
constexpr unsigned kStackPointerRegister = 7;
// Registers a frame keeps for its caller (System V): rbx rbp rsp r12..r15.
constexpr unsigned kCalleeSaved[] = {3, 6, 7, 12, 13, 14, 15};
// Recovery from a step the unwind tables could not make (or made wrongly):
// how many stack slots become candidates, and how many recoveries a stack gets.
constexpr int kMaxRecoveryCandidates = 32;
constexpr int kMaxRecoveries = 4;
constexpr size_t kMinRecoveredFrames = 3;
// Return address slots are looked for this far above the failed frame's stack
// pointer (OpenSSL's SHA-512 AVX2 code, the largest frame seen, uses ~3.4 KiB):
// farther up, a stale address of a long-returned call is likelier than a caller.
constexpr uint64_t kRecoveryWindow = 4096;
// A read this far past the copied stack bytes is not a stack deeper than the copy.
constexpr uint64_t kBeyondCopy = 1 << 20;
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
  const SnapshotBytes* snapshot = nullptr;
  pid_t tid = 0;
  bool read_outside = false;
  bool bad_read = false;  // a read nowhere near the copied stack
  bool bad_frame = false;
  uint64_t stack_used = 0;
  std::vector<uint64_t>* pcs = nullptr;
  std::vector<uint64_t>* fps = nullptr;
  // Per frame of the run in progress: registers libdwfl knew there.
  struct FrameRegs {
    uint64_t pc = 0;
    bool activation = false;  // pc is exact (leaf, signal frame), not a return address
    uint64_t regs[kDwarfRegisters] = {};
    uint32_t known = 0;  // bit per DWARF register
  };
  std::vector<FrameRegs> frames;
  std::optional<FrameRegs> restart;  // start the next run here instead of the snapshot's registers
  // Return address -> the call instruction before it: whether there is one,
  // and its target when the call is direct (call rel32), else 0.
  struct CallSite {
    bool call = false;
    uint64_t target = 0;
  };
  std::unordered_map<uint64_t, CallSite> after_call;

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
enum class CallCheck { yes, no, unknown };

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
  const SnapshotBytes& snap = *s.snapshot;
  if (!read_snapshot(snap, address, result, sizeof(Dwarf_Word))) {
    // Far from the copy: a wrong unwind rule, not a stack deeper than the copy.
    if (address < snapshot_low(snap) || address > snapshot_high(snap) + kBeyondCopy)
      s.bad_read = true;
    s.read_outside = true;
    return false;
  }
  if (address >= snap.snap.regs.sp)
    s.stack_used =
        std::max<uint64_t>(s.stack_used, address - snap.snap.regs.sp + sizeof(Dwarf_Word));
  return true;
}

bool set_initial_registers(Dwfl_Thread* thread, void* thread_arg) {
  const State& s = *static_cast<const State*>(thread_arg);
  if (s.restart) {
    for (unsigned reg = 0; reg < kDwarfRegisters; reg++) {
      if (!(s.restart->known & (1u << reg))) continue;
      Dwarf_Word value = s.restart->regs[reg];
      if (!dwfl_thread_state_registers(thread, static_cast<int>(reg), 1, &value)) return false;
    }
    dwfl_thread_state_register_pc(thread, s.restart->pc);
    return true;
  }
  Dwarf_Word regs[kDwarfRegisters];
  std::memcpy(regs, &s.snapshot->snap.regs, sizeof(regs));
  if (!dwfl_thread_state_registers(thread, 0, kDwarfRegisters, regs)) return false;
  dwfl_thread_state_register_pc(thread, s.snapshot->snap.regs.ip);
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
  Dwarf_Word rbp = 0;
  if (dwfl_frame_reg(frame, kFramePointerRegister, &rbp) != 0) rbp = 0;
  s.fps->push_back(rbp);
  State::FrameRegs& regs = s.frames.emplace_back();
  regs.pc = pc;
  regs.activation = activation;
  for (unsigned reg : kCalleeSaved) {
    Dwarf_Word value = 0;
    if (dwfl_frame_reg(frame, reg, &value) != 0) continue;
    regs.regs[reg] = value;
    regs.known |= 1u << reg;
  }
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

// Does a call instruction end right before `ret`? Reads the target's code
// (cached per address); `unknown` when it cannot be read. `target` receives
// the callee of a direct call (call rel32), else 0.
CallCheck follows_call(State& s, uint64_t ret, uint64_t* target = nullptr) {
  if (target) *target = 0;
  if (auto it = s.after_call.find(ret); it != s.after_call.end()) {
    if (target) *target = it->second.target;
    return it->second.call ? CallCheck::yes : CallCheck::no;
  }
  uint8_t c[7];
  struct iovec local = {c, sizeof(c)},
               remote = {reinterpret_cast<void*>(ret - sizeof(c)), sizeof(c)};
  if (ret < sizeof(c) || process_vm_readv(s.pid, &local, 1, &remote, 1, 0) != sizeof(c))
    return CallCheck::unknown;
  auto modrm_call = [](uint8_t modrm, int mod) {  // ff /2 with this mod
    return ((modrm >> 3) & 7) == 2 && (modrm >> 6) == mod;
  };
  State::CallSite site;
  if (c[2] == 0xe8) {  // call rel32
    int32_t rel;
    std::memcpy(&rel, c + 3, sizeof(rel));
    site = {true, ret + static_cast<int64_t>(rel)};
  } else {
    site.call =
        (c[5] == 0xff && modrm_call(c[6], 3)) ||                                        // *%reg
        (c[5] == 0xff && modrm_call(c[6], 0) && (c[6] & 7) != 4 && (c[6] & 7) != 5) ||  // *(%reg)
        (c[4] == 0xff && modrm_call(c[5], 0) && (c[5] & 7) == 4) ||                     // *(sib)
        (c[4] == 0xff && modrm_call(c[5], 1) && (c[5] & 7) != 4) ||  // *disp8(%reg)
        (c[3] == 0xff && modrm_call(c[4], 1) && (c[4] & 7) == 4) ||  // *disp8(sib)
        (c[1] == 0xff && c[2] == 0x15) ||                            // *disp32(%rip)
        (c[1] == 0xff && modrm_call(c[2], 2) && (c[2] & 7) != 4) ||  // *disp32(%reg)
        (c[0] == 0xff && modrm_call(c[1], 2) && (c[1] & 7) == 4);    // *disp32(sib)
  }
  if (s.after_call.size() > (1u << 16)) s.after_call.clear();
  s.after_call.emplace(ret, site);
  if (target) *target = site.target;
  return site.call ? CallCheck::yes : CallCheck::no;
}

// The [start, end) of the ELF symbol (function) holding `address`, when a
// sized symbol covers it.
std::optional<std::pair<uint64_t, uint64_t>> function_at(State& s, uint64_t address) {
  Dwfl_Module* module = dwfl_addrmodule(s.dwfl, address);
  if (!module) return std::nullopt;
  GElf_Off offset = 0;
  GElf_Sym sym;
  if (!dwfl_module_addrinfo(module, address, &offset, &sym, nullptr, nullptr, nullptr))
    return std::nullopt;
  if (sym.st_size == 0 || offset >= sym.st_size) return std::nullopt;
  return std::pair<uint64_t, uint64_t>{address - offset, address - offset + sym.st_size};
}

// A direct call into some other known function cannot be the call that
// entered the function at `pc`: its return address is a stale slot of a call
// that has returned (e.g. malloc's, left in the alignment gap of OpenSSL's
// SHA-512 frame). Indirect calls and calls to unnamed code are not refuted.
bool call_refuted(State& s, uint64_t target, uint64_t pc) {
  if (target == 0) return false;
  const auto callee = function_at(s, target);
  const auto here = function_at(s, pc);
  return callee && here && *callee != *here;
}

// Callee-saved registers that `frame`'s unwind rules store at CFA+N, read
// with CFA = `cfa` (found by the caller's return address slot).
void restore_saved_registers(State& s, const State::FrameRegs& frame, uint64_t cfa,
                             const SnapshotBytes& snapshot, State::FrameRegs& out) {
  const uint64_t pc = frame.activation ? frame.pc : frame.pc - 1;
  Dwfl_Module* module = dwfl_addrmodule(s.dwfl, pc);
  if (!module) return;
  Dwarf_Addr bias = 0;
  Dwarf_CFI* cfi = dwfl_module_eh_cfi(module, &bias);
  Dwarf_Frame* rules = nullptr;
  if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &rules) != 0 || !rules) return;
  for (unsigned reg : kCalleeSaved) {
    if (reg == kStackPointerRegister) continue;
    Dwarf_Op ops_mem[3];
    Dwarf_Op* ops = nullptr;
    size_t nops = 0;
    if (dwarf_frame_register(rules, static_cast<int>(reg), ops_mem, &ops, &nops) != 0) continue;
    if (nops == 0) {
      if (ops != nullptr) out.known &= ~(1u << reg);  // undefined
      continue;                                       // same value: keep it
    }
    if (ops[0].atom != DW_OP_call_frame_cfa) continue;
    uint64_t address = cfa;
    if (nops >= 2 && ops[1].atom == DW_OP_plus_uconst) address += ops[1].number;
    if (nops > 2 || (nops == 2 && ops[1].atom != DW_OP_plus_uconst)) continue;
    if (!read_snapshot(snapshot, address, &out.regs[reg], 8)) continue;
    out.known |= 1u << reg;
  }
  free(rules);
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

UserUnwind DwarfUnwinder::run(const SnapshotBytes& snapshot, pid_t tid) {
  State& s = *state_;
  UserUnwind out;
  s.snapshot = &snapshot;
  s.tid = tid;
  s.read_outside = false;
  s.bad_read = false;
  s.bad_frame = false;
  s.stack_used = 0;
  s.pcs = &out.pcs;
  s.fps = &out.fps;
  s.frames.clear();
  const int rc = dwfl_getthread_frames(s.dwfl, tid, on_frame, &s);
  // A return address that cannot be read ends the walk as if the frame were
  // the outermost one (rc 0): the read outside the copy tells them apart.
  if (rc == DWARF_CB_ABORT && !s.bad_frame) {
    out.end = UserUnwind::End::depth_limit;
  } else if (s.read_outside && s.bad_read) {
    out.end = UserUnwind::End::failed;
    out.error = "an unwind rule read outside the stack";
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
  s.fps = nullptr;
  return out;
}

UserUnwind DwarfUnwinder::unwind(const SnapshotBytes& snapshot, pid_t tid) {
  if (!(snapshot.snap.flags & LP_SNAP_REGS)) return UserUnwind{};
  if (!in_text(snapshot.snap.regs.ip)) maybe_refresh();
  UserUnwind out = checked_run(snapshot, tid);
  // A new library (dlopen) shows up as a PC in no known module.
  if (out.end == UserUnwind::End::failed && !out.pcs.empty() && !in_text(out.pcs.back()) &&
      maybe_refresh())
    out = checked_run(snapshot, tid);
  for (int i = 0; i < kMaxRecoveries && out.end == UserUnwind::End::failed; i++)
    if (!recover(out, snapshot, tid)) break;
  return out;
}

// A run whose every step lands on a return address that follows a call
// instruction: a step that does not (wrong or missing unwind info, a frame
// pointer that is not one) ends it there as failed.
UserUnwind DwarfUnwinder::checked_run(const SnapshotBytes& snapshot, pid_t tid) {
  State& s = *state_;
  UserUnwind out = run(snapshot, tid);
  for (size_t j = 1; j < s.frames.size(); j++) {
    if (s.frames[j].activation) continue;
    const uint64_t pc = s.frames[j].pc;
    if (in_text(pc) && follows_call(s, pc) != CallCheck::no) continue;
    out.pcs.resize(j);
    out.fps.resize(j);
    s.frames.resize(j);
    out.end = UserUnwind::End::failed;
    out.error = fmt::format("unverified return address 0x{:x}", pc);
    break;
  }
  return out;
}

// Continues a failed unwind from its last frame: the first stack slot above
// that frame's stack pointer holding a return address into known code, right
// after a call instruction, whose caller then unwinds on (tried in order, up
// to kMaxRecoveryCandidates). Callee-saved registers the last frame's unwind
// rules place relative to its CFA are read from there.
bool DwarfUnwinder::recover(UserUnwind& out, const SnapshotBytes& snapshot, pid_t tid) {
  State& s = *state_;
  if (out.pcs.empty() || s.frames.size() != out.pcs.size()) return false;
  const std::vector<State::FrameRegs> before = s.frames;
  const State::FrameRegs& last = before.back();
  if (!(last.known & (1u << kStackPointerRegister))) return false;
  const uint64_t base = snapshot.snap.regs.sp;
  uint64_t slot = std::max(last.regs[kStackPointerRegister], base);
  slot = (slot + 7) & ~uint64_t{7};
  int candidates = 0;
  const uint64_t window_end = std::min(snapshot_high(snapshot), slot + kRecoveryWindow);
  for (; slot + 8 <= window_end && candidates < kMaxRecoveryCandidates; slot += 8) {
    uint64_t value;
    if (!read_snapshot(snapshot, slot, &value, sizeof(value))) break;
    uint64_t target = 0;
    if (!in_text(value) || follows_call(s, value, &target) != CallCheck::yes) continue;
    if (call_refuted(s, target, last.activation ? last.pc : last.pc - 1)) continue;
    ++candidates;
    State::FrameRegs start = last;
    start.pc = value;
    restore_saved_registers(s, last, slot + 8, snapshot, start);
    start.regs[kStackPointerRegister] = slot + 8;
    start.known |= 1u << kStackPointerRegister;
    s.restart = start;
    UserUnwind more = checked_run(snapshot, tid);
    s.restart.reset();
    // A stale return address left in the frame usually leads nowhere: the
    // caller must unwind on for a few frames (a zero return address ends
    // libdwfl's walk as if it were the outermost frame).
    if (more.pcs.size() < kMinRecoveredFrames) continue;
    std::vector<State::FrameRegs> frames = before;
    frames.insert(frames.end(), s.frames.begin(), s.frames.end());
    out.pcs.insert(out.pcs.end(), more.pcs.begin(), more.pcs.end());
    out.fps.insert(out.fps.end(), more.fps.begin(), more.fps.end());
    out.end = more.end;
    out.error = more.error;
    out.stack_used = std::max(out.stack_used, more.stack_used);
    if (out.pcs.size() >= s.options.max_frames) {
      out.pcs.resize(s.options.max_frames);
      out.fps.resize(s.options.max_frames);
      frames.resize(s.options.max_frames);
      out.end = UserUnwind::End::depth_limit;
    }
    s.frames = std::move(frames);
    return true;
  }
  s.frames = before;
  return false;
}

}  // namespace loopprof
