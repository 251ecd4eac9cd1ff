// The kernel symbolizer every command uses: kernel frames are named from
// /proc/kallsyms; without it (restricted, unreadable) they stay addresses,
// after a warning on stderr.
#pragma once

#include <memory>

#include "symbols/symbolizer.hpp"

namespace loopprof {

std::unique_ptr<KernelSymbolizer> open_kernel_symbols();

}  // namespace loopprof
