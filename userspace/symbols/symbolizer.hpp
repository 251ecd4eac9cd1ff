// Turns raw addresses captured by the BPF side into frames.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "model/frame.hpp"

namespace loopprof {

class ModuleCache;

// Kernel text addresses, from /proc/kallsyms (loaded once, reloaded by
// refresh(): kernel modules and BPF programs come and go).
class KernelSymbolizer {
 public:
  virtual ~KernelSymbolizer() = default;
  // A frame of kind kernel, module "[kernel]"; an unknown address keeps an
  // empty name (frame_label prints 0xADDR_[k]).
  virtual Frame symbolize(uint64_t address) = 0;
  virtual void refresh() {}
  // Never fails: an unreadable kallsyms gives a symbolizer that names nothing.
  static std::unique_ptr<KernelSymbolizer> create();
  // Same, but says why kallsyms could not be used (unreadable, or every
  // address is 0 because of kernel.kptr_restrict).
  static Result<std::unique_ptr<KernelSymbolizer>> open(const std::string& kallsyms_path);
};

struct ProcessSymbolizerOptions {
  // Global debug directories: DIR/.build-id/xx/yyyy.debug and
  // DIR/<path>/<debuglink> are searched. Empty means the defaults:
  // /proc/PID/root/usr/lib/debug and /usr/lib/debug.
  std::vector<std::string> debug_dirs;
  // Read /tmp/perf-NSPID.map (through /proc/PID/root) for JIT code.
  bool perf_map = true;
  // An address outside every known mapping triggers a re-read of the maps
  // (dlopen) at most this often; the perf map is re-checked for growth at
  // most this often when an anonymous address is not found in it.
  std::chrono::milliseconds reload_interval{1000};
  // Parsed ELF files, shared between symbolizers (of several processes, or
  // of one process across exec). Null: the symbolizer makes its own. Like the
  // symbolizers, not thread-safe.
  std::shared_ptr<ModuleCache> cache;
};

// User addresses of one target process. Reads /proc/PID/maps and the mapped
// ELF files (through /proc/PID/root), caches per file identity / build ID.
// Not thread-safe: use one per thread, or lock around it.
class ProcessSymbolizer {
 public:
  virtual ~ProcessSymbolizer() = default;
  // Frames for one address, outermost first (inlined callees after their
  // caller). `return_address` is true for every frame but the leaf: the
  // lookup then uses address-1 so a call at the end of a function resolves to
  // that function. Never returns an empty vector; an unknown address gives one
  // frame of kind unknown printed as module+0xOFFSET, where OFFSET is the file
  // offset of the address in that module (for an anonymous mapping with a
  // name such as [heap], the offset from its start; 0xADDR when no named
  // mapping holds it). Named native frames carry module = the mapped path
  // ("[vdso]"; the perf map's path for JIT code), and file/line from DWARF.
  virtual Frames symbolize(uint64_t address, bool return_address) = 0;
  // Re-read the memory map (new dlopen'ed libraries, exec).
  virtual void refresh() = 0;
  // Never fails: a process whose maps cannot be read names nothing.
  static std::unique_ptr<ProcessSymbolizer> create(pid_t pid);
  // Fails when /proc/PID/maps cannot be read.
  static Result<std::unique_ptr<ProcessSymbolizer>> open(pid_t pid,
                                                         ProcessSymbolizerOptions options);
};

}  // namespace loopprof
