// libFuzzer target: the Python frame walker's userspace twin (the code the
// BPF side runs, bpf/py_walk.h), the resolver (code objects, line tables)
// and the asyncio task reader, on synthetic 3.14/3.15/free-threaded images
// that the input corrupts, and the debug-offsets parser on corrupted tables.
// Nothing may crash, hang or read out of bounds (ASan).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "python/asyncio_tasks.hpp"
#include "python/code_objects.hpp"
#include "python/layout.hpp"
#include "python/walker_twin.hpp"
#include "python_synthetic_image.hpp"

using namespace loopprof::python;
using loopprof::python::testing::SyntheticImage;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int minor = 14 + (data[0] & 1);
  const bool ft = data[0] & 2;
  SyntheticImage image({minor, ft});
  uint64_t base = 0;
  if (minor >= 15) {
    base = image.frame(0, 0, 0, 3);
    image.set_base_frame(base);
  }
  uint64_t main = image.code("main", "/srv/app.py", 10);
  uint64_t sync = image.code("sync_accounts", "/srv/billing.py", 40);
  uint64_t f1 = image.frame(main, 3, base);
  uint64_t f2 = image.frame(0, 0, f1, 3);
  image.set_current_frame(image.frame(sync, 1, f2));
  image.set_running_task(image.task("billing-sync", "sync_accounts", image.task("main", "main")));

  // The input: (offset, 8 bytes) patches over the image's heap, and a patch
  // of the offsets table.
  auto raw = image.debug_offsets_bytes();
  size_t at = 1;
  while (at + 10 <= size) {
    uint16_t where = 0;
    uint64_t value = 0;
    std::memcpy(&where, data + at, 2);
    std::memcpy(&value, data + at + 2, 8);
    at += 10;
    if (where & 0x8000) {
      size_t pos = 24 + 8 * ((where & 0x7fff) % 110);
      if (pos + 8 <= raw.size()) std::memcpy(raw.data() + pos, &value, 8);
      continue;
    }
    uint64_t addr = 0x1000000 + (static_cast<uint64_t>(where) * 8) % 0x6000;
    uint64_t old = 0;
    if (image.mem.read(addr, &old, 8)) image.mem.write(addr, &value, 8);
  }
  auto layout = parse_debug_offsets(raw);
  if (!layout) return 0;
  InterpreterLayout l = layout.value();
  (void)parse_asyncio_debug(image.asyncio_debug(), l);
  lp_py_stack stack = walk_thread_twin(image.mem, l.walker, SyntheticImage::kTstate);
  if (stack.depth > LP_PY_MAX_DEPTH) __builtin_trap();
  CodeObjects code(image.mem, l, SyntheticImage::kCodeType);
  for (uint32_t i = 0; i < stack.depth; i++) {
    const CodeInfo* info = code.get(stack.frames[i].code);
    if (info) (void)code.line_of(*info, stack.frames[i].code, stack.frames[i].instr);
  }
  AsyncioTasks tasks(image.mem, l, code);
  (void)tasks.resolve(stack.task);
  return 0;
}
