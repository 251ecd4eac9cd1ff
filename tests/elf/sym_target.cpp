// Target program for the symbolizer tests. Prints "name 0xADDRESS" for the
// functions the tests look up, then "ready", then serves commands on stdin
// ("dlopen PATH SYMBOL", "jit") until EOF. Built several ways (PIE, non-PIE,
// stripped with separate debug info) by tests/elf/CMakeLists.txt.
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

extern "C" uintptr_t sym_shared_address(void);
extern "C" int sym_shared_work(int);

namespace {
volatile int g_sink;
void* g_return_address;
void* g_scoped_return_address;
}  // namespace

// Plain C name.
extern "C" __attribute__((noinline)) int sym_c_leaf(int x) {
  volatile int v = x;
  return v * 2;
}

// A file-local function: only in .symtab (gone when stripped).
static __attribute__((noinline)) int sym_static_helper(int x) {
  volatile int v = x;
  return v + 11;
}

namespace shapes {
struct Circle {
  __attribute__((noinline)) double area(double scale) const;
  double radius;
};
double Circle::area(double scale) const {
  volatile double r = radius;
  return r * r * 3.14159 * scale;
}
}  // namespace shapes

__attribute__((noinline)) void sym_record_return_address(void** slot) {
  *slot = __builtin_return_address(0);
  g_sink = g_sink + 1;
}

// Inlined into sym_outer: its code carries DW_TAG_inlined_subroutine.
static inline __attribute__((always_inline)) int sym_inlined_step(int x) {
  sym_record_return_address(&g_return_address);  // MARK_INLINED_CALL
  return x + g_sink;
}

__attribute__((noinline)) int sym_outer(int x) {
  int y = sym_inlined_step(x);  // MARK_OUTER_CALL
  return y * 5 + g_sink;
}

// A C++ function with internal linkage inlined from a namespace: DWARF has
// no linkage name for it, so its name is qualified from the DWARF scopes.
namespace geometry {
namespace {
inline __attribute__((always_inline)) int scale_step(int x) {
  sym_record_return_address(&g_scoped_return_address);
  return x * 3 + g_sink;
}
}  // namespace

__attribute__((noinline)) int sym_scaled(int x) {
  return scale_step(x) + g_sink;
}
}  // namespace geometry

static void print(const char* name, uintptr_t address) {
  std::printf("%s 0x%jx\n", name, static_cast<uintmax_t>(address));
}

int main() {
  shapes::Circle circle{2.0};
  g_sink = sym_c_leaf(1) + sym_static_helper(2) + static_cast<int>(circle.area(1.0)) +
           sym_shared_work(3) + sym_outer(4) + geometry::sym_scaled(5);
  double (shapes::Circle::*method)(double) const = &shapes::Circle::area;
  uintptr_t method_address;
  std::memcpy(&method_address, &method, sizeof(method_address));  // non-virtual: the address
  print("sym_c_leaf", reinterpret_cast<uintptr_t>(&sym_c_leaf));
  print("sym_static_helper", reinterpret_cast<uintptr_t>(&sym_static_helper));
  print("circle_area", method_address);
  print("sym_outer", reinterpret_cast<uintptr_t>(&sym_outer));
  print("inlined_return", reinterpret_cast<uintptr_t>(g_return_address));
  print("scoped_return", reinterpret_cast<uintptr_t>(g_scoped_return_address));
  print("sym_shared_work", sym_shared_address());
  print("pid", static_cast<uintptr_t>(getpid()));  // as seen in its PID namespace
  std::printf("variant %d\n", VARIANT);            // also gives each build its own build ID
  std::printf("ready\n");
  std::fflush(stdout);

  char line[4096];
  while (std::fgets(line, sizeof line, stdin) != nullptr) {
    char path[2048], symbol[256];
    if (std::sscanf(line, "dlopen %2047s %255s", path, symbol) == 2) {
      void* handle = dlopen(path, RTLD_NOW);
      void* address = handle != nullptr ? dlsym(handle, symbol) : nullptr;
      print("dlopened", reinterpret_cast<uintptr_t>(address));
      std::fflush(stdout);
    } else if (std::strncmp(line, "jit", 3) == 0) {
      // Stands for JIT code: anonymous executable memory.
      void* code = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      print("jit", reinterpret_cast<uintptr_t>(code));
      std::fflush(stdout);
    }
  }
  return 0;
}
