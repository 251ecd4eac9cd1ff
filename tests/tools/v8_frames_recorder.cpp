// Records V8 frames of a live Node.js process as unit-test data: stops the
// process with ptrace a few times, takes a user snapshot the way the BPF side
// does (registers + 16 KiB of stack), unwinds it, names the JavaScript frames
// with the V8 frame reader, and writes every byte the reader read (stack and
// heap) with what it named, so tests/unit/v8_frame_reader_test.cpp replays
// the reader without a process or a kernel.
//   v8_frames_recorder PID OUT.json [SAMPLES]
#include <fmt/format.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "node/node_support.hpp"
#include "node/snapshot_memory.hpp"
#include "node/v8_frame_reader.hpp"
#include "symbols/proc_maps.hpp"
#include "symbols/symbolizer.hpp"
#include "unwind/dwarf_unwinder.hpp"

using namespace loopprof;

namespace {

// Remembers every read that succeeded.
class RecordingMemory final : public python::MemoryReader {
 public:
  explicit RecordingMemory(const MemoryReader& inner) : inner_(inner) {}
  bool read(uint64_t address, void* out, size_t size) const override {
    if (!inner_.read(address, out, size)) return false;
    const auto* b = static_cast<const uint8_t*>(out);
    for (size_t i = 0; i < size; i++) bytes_[address + i] = b[i];
    return true;
  }
  // Contiguous runs: [[address, "hex"], ...]
  nlohmann::json runs() const {
    nlohmann::json out = nlohmann::json::array();
    uint64_t start = 0, next = 0;
    std::string hex;
    for (const auto& [a, b] : bytes_) {
      if (hex.empty() || a != next) {
        if (!hex.empty()) out.push_back({fmt::format("0x{:x}", start), hex});
        start = a;
        hex.clear();
      }
      hex += fmt::format("{:02x}", b);
      next = a + 1;
    }
    if (!hex.empty()) out.push_back({fmt::format("0x{:x}", start), hex});
    return out;
  }

 private:
  const MemoryReader& inner_;
  mutable std::map<uint64_t, uint8_t> bytes_;
};

bool snapshot_of(pid_t pid, lp_user_snapshot& snap) {
  user_regs_struct r{};
  if (ptrace(PTRACE_GETREGS, pid, nullptr, &r) != 0) return false;
  snap.regs = {r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8,
               r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip};
  snap.flags = LP_SNAP_REGS;
  python::ProcessMemory memory(pid);
  size_t want = LP_SNAP_STACK_BYTES;
  if (auto maps = read_proc_maps(pid))
    if (const Mapping* m = find_mapping(maps.value(), r.rsp))
      want = std::min<uint64_t>(want, m->end - r.rsp);
  snap.stack_bytes = memory.read(r.rsp, snap.stack, want) ? static_cast<uint32_t>(want) : 0;
  return snap.stack_bytes > 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: {} PID OUT.json [SAMPLES]\n", argv[0]);
    return 2;
  }
  const pid_t pid = std::stoi(argv[1]);
  const int samples = argc > 3 ? std::stoi(argv[3]) : 10;
  auto exe = fmt::format("/proc/{}/exe", pid);
  auto symbols = node::read_v8_debug_symbols(exe);
  if (!symbols || symbols.value().empty()) {
    fmt::print(stderr, "no v8dbg symbols in {}\n", exe);
    return 1;
  }
  auto layout = node::v8_layout_from_symbols(symbols.value());
  if (!layout) {
    fmt::print(stderr, "{}\n", layout.error().message);
    return 1;
  }
  auto unwinder = DwarfUnwinder::create(pid);
  auto symbolizer = ProcessSymbolizer::create(pid);
  if (!unwinder) return 1;
  if (ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
    perror("PTRACE_SEIZE");
    return 1;
  }
  nlohmann::json out;
  out["v8dbg"] = symbols.value();
  out["samples"] = nlohmann::json::array();
  python::ProcessMemory live(pid);
  auto snap = std::make_unique<lp_user_snapshot>();
  for (int i = 0; i < samples; i++) {
    usleep(150000);
    ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr);
    int status = 0;
    waitpid(pid, &status, __WALL);
    if (!snapshot_of(pid, *snap)) {
      ptrace(PTRACE_CONT, pid, nullptr, nullptr);
      continue;
    }
    RecordingMemory heap(live);
    node::SnapshotMemory stack_memory(*snap);
    RecordingMemory stack(stack_memory);
    node::V8FrameReader reader(layout.value(), heap);
    UserUnwind unwind = unwinder.value()->unwind(*snap, pid);
    nlohmann::json frames = nlohmann::json::array();
    fmt::print("--- sample {} ({} frames, end {})\n", i, unwind.pcs.size(),
               static_cast<int>(unwind.end));
    for (size_t k = 0; k < unwind.pcs.size(); k++) {
      Frames native = symbolizer->symbolize(unwind.pcs[k], k != 0);
      std::string label = frame_label(native.back());
      if (native.size() == 1 && node::NodeSupport::is_v8_code(native.front()) &&
          unwind.fps[k] != 0 && (k == 0 || unwind.fps[k - 1] != unwind.fps[k])) {
        if (auto v8 = reader.read(unwind.fps[k], stack)) {
          label += fmt::format("  => {} ({}:{}){}", v8->function, v8->script, v8->line,
                               v8->exact_line ? " exact" : "");
          frames.push_back({{"fp", fmt::format("0x{:x}", unwind.fps[k])},
                            {"typed", v8->kind == node::V8Frame::Kind::typed},
                            {"function", v8->function},
                            {"script", v8->script},
                            {"line", v8->line},
                            {"exact_line", v8->exact_line}});
        }
      }
      fmt::print("  {:2} 0x{:x} fp 0x{:x} {}\n", k, unwind.pcs[k], unwind.fps[k], label);
    }
    ptrace(PTRACE_CONT, pid, nullptr, nullptr);
    if (frames.empty()) continue;
    out["samples"].push_back({{"frames", frames}, {"stack", stack.runs()}, {"heap", heap.runs()}});
  }
  ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  std::ofstream(argv[2]) << out.dump(1) << "\n";
  fmt::print("{} samples with V8 frames written to {}\n", out["samples"].size(), argv[2]);
  return 0;
}
