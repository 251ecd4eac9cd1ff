// A shared library for the symbolizer tests: its functions must resolve with
// the library's own load bias.
#include <stdint.h>

__attribute__((noinline)) int sym_shared_work(int x) {
  volatile int acc = x;
  for (int i = 0; i < 3; ++i) acc = acc * 7 + i;
  return acc;
}

// The address of sym_shared_work as the library sees it (not a PLT stub in
// a non-PIE executable).
uintptr_t sym_shared_address(void) {
  return (uintptr_t)&sym_shared_work;
}
