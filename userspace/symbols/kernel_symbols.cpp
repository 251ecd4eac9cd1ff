#include "symbols/kernel_symbols.hpp"

#include <fmt/format.h>

namespace loopprof {

std::unique_ptr<KernelSymbolizer> open_kernel_symbols() {
  auto kallsyms = KernelSymbolizer::open("/proc/kallsyms");
  if (kallsyms) return std::move(kallsyms).value();
  fmt::print(stderr, "loopprof: warning: {}; kernel frames will show addresses\n",
             kallsyms.error().message);
  if (!kallsyms.error().hint.empty())
    fmt::print(stderr, "loopprof: hint: {}\n", kallsyms.error().hint);
  return KernelSymbolizer::create();
}

}  // namespace loopprof
