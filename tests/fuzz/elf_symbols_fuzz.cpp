// ELF files mapped by the target (symbol tables, DWARF, build IDs): the input
// is the file, looked up at a few addresses.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "core/unique_fd.hpp"
#include "symbols/elf_module.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loopprof::UniqueFd fd(memfd_create("fuzz-elf", MFD_CLOEXEC));
  if (!fd.valid() || write(fd.get(), data, size) != static_cast<ssize_t>(size)) return 0;
  auto module = loopprof::ElfModule::open(std::move(fd), "/nonexistent/fuzz.so", {});
  if (!module) return 0;
  for (uint64_t offset : {0ull, 0x40ull, 0x1000ull, 0x1234ull}) {
    if (auto vaddr = (*module)->vaddr_of_file_offset(offset)) (void)(*module)->lookup(*vaddr);
    (void)(*module)->lookup(offset);
  }
  return 0;
}
