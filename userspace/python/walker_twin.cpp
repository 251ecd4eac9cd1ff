#include "python/walker_twin.hpp"

#include <cstring>

namespace {

int twin_read(void* reader, void* dst, uint32_t size, uint64_t addr) {
  const auto* memory = static_cast<const loopprof::python::MemoryReader*>(reader);
  if (addr == 0 || !memory->read(addr, dst, size)) {
    std::memset(dst, 0, size);
    return -14;  // -EFAULT, as bpf_probe_read_user
  }
  return 0;
}

}  // namespace

#define LP_PY_READ(ctx, dst, size, addr) twin_read((ctx)->reader, (dst), (size), (addr))
extern "C" {
#include "py_walk.h"
}

namespace loopprof::python {

lp_py_stack walk_thread_twin(const MemoryReader& memory, const lp_py_config& config,
                             uint64_t tstate) {
  lp_py_stack out{};
  if (config.layout == LP_PY_LAYOUT_NONE) return out;
  lp_py_walk_ctx c{};
  c.cfg = &config;
  c.out = &out;
  c.reader = const_cast<MemoryReader*>(&memory);
  lp_py_walk_begin(&c, tstate);
  for (uint64_t i = 0; i <= LP_PY_MAX_DEPTH; i++)
    if (lp_py_step(i, &c)) break;
  lp_py_walk_end(&c);
  return out;
}

}  // namespace loopprof::python
