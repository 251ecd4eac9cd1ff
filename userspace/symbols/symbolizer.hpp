// Turns raw addresses captured by the BPF side into frames.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>

#include "model/frame.hpp"

namespace loopprof {

// Kernel text addresses, from /proc/kallsyms (loaded once).
class KernelSymbolizer {
 public:
  virtual ~KernelSymbolizer() = default;
  virtual Frame symbolize(uint64_t address) = 0;
  static std::unique_ptr<KernelSymbolizer> create();
};

// User addresses of one target process. Reads /proc/PID/maps and the mapped
// ELF files (through /proc/PID/root), caches per file identity / build ID.
class ProcessSymbolizer {
 public:
  virtual ~ProcessSymbolizer() = default;
  // Frames for one address, outermost first (inlined callees after their
  // caller). `return_address` is true for every frame but the leaf: the
  // lookup then uses address-1 so a call at the end of a function resolves to
  // that function. Never returns an empty vector; an unknown address gives one
  // frame of kind unknown/native printed as module+0xOFFSET.
  virtual Frames symbolize(uint64_t address, bool return_address) = 0;
  // Re-read the memory map (new dlopen'ed libraries, exec).
  virtual void refresh() = 0;
  static std::unique_ptr<ProcessSymbolizer> create(pid_t pid);
};

}  // namespace loopprof
