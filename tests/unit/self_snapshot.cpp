#include "self_snapshot.hpp"

#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

extern "C" void lp_test_capture_regs(lp_user_regs* out);

// Stores every general register in DWARF order; sp and ip are the caller's
// values once this returns (the return address, and sp above it).
static_assert(offsetof(lp_user_regs, sp) == 56 && offsetof(lp_user_regs, ip) == 128);
asm(R"(
  .text
  .globl lp_test_capture_regs
  .type lp_test_capture_regs, @function
lp_test_capture_regs:
  .cfi_startproc
  movq %rax, 0(%rdi)
  movq %rdx, 8(%rdi)
  movq %rcx, 16(%rdi)
  movq %rbx, 24(%rdi)
  movq %rsi, 32(%rdi)
  movq %rdi, 40(%rdi)
  movq %rbp, 48(%rdi)
  leaq 8(%rsp), %rax
  movq %rax, 56(%rdi)
  movq %r8, 64(%rdi)
  movq %r9, 72(%rdi)
  movq %r10, 80(%rdi)
  movq %r11, 88(%rdi)
  movq %r12, 96(%rdi)
  movq %r13, 104(%rdi)
  movq %r14, 112(%rdi)
  movq %r15, 120(%rdi)
  movq (%rsp), %rax
  movq %rax, 128(%rdi)
  movq 0(%rdi), %rax
  ret
  .cfi_endproc
  .size lp_test_capture_regs, .-lp_test_capture_regs
)");

namespace loopprof::testing {

namespace {

uint64_t stack_top() {
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  return reinterpret_cast<uint64_t>(addr) + size;
}

// Copies raw stack memory, redzones included: a sanitizer must not check it
// (volatile reads keep the compiler from turning the loop into memcpy).
__attribute__((no_sanitize("address"))) void copy_stack(uint8_t* out, uint64_t from, size_t n) {
  const volatile uint8_t* in = reinterpret_cast<const volatile uint8_t*>(from);
  for (size_t i = 0; i < n; ++i) out[i] = in[i];
}

}  // namespace

// The captured state is this function's, right after lp_test_capture_regs
// returns: the unwind starts here, then goes through our caller.
__attribute__((noinline)) void self_snapshot(lp_user_snapshot* out, size_t max_bytes) {
  lp_test_capture_regs(&out->regs);
  // What unwinding reads above sp (return addresses, saved registers) was
  // written by prologues before the capture and stays put until we return.
  const uint64_t sp = out->regs.sp;
  const uint64_t top = stack_top();
  size_t n = std::min<size_t>(max_bytes, LP_SNAP_STACK_BYTES);
  if (top > sp) n = std::min<size_t>(n, top - sp);
  copy_stack(reinterpret_cast<uint8_t*>(out->stack), sp, n);
  out->stack_bytes = static_cast<uint32_t>(n);
  out->flags = LP_SNAP_REGS;
  asm volatile("" ::: "memory");
}

std::vector<uint8_t> self_stack_above(const lp_user_snapshot& snap, size_t max_bytes) {
  const uint64_t from = snap.regs.sp + LP_SNAP_STACK_BYTES, top = stack_top();
  if (snap.stack_bytes != LP_SNAP_STACK_BYTES || top <= from) return {};
  std::vector<uint8_t> out(std::min<uint64_t>(max_bytes, top - from));
  copy_stack(out.data(), from, out.size());
  return out;
}

struct SelfSymbols::Impl {
  Dwfl* dwfl = nullptr;
};

namespace {
const Dwfl_Callbacks kSelfCallbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = nullptr,
    .debuginfo_path = nullptr,
};
}  // namespace

SelfSymbols::SelfSymbols() : impl_(std::make_unique<Impl>()) {
  impl_->dwfl = dwfl_begin(&kSelfCallbacks);
  dwfl_report_begin(impl_->dwfl);
  dwfl_linux_proc_report(impl_->dwfl, getpid());
  dwfl_report_end(impl_->dwfl, nullptr, nullptr);
}

SelfSymbols::~SelfSymbols() {
  dwfl_end(impl_->dwfl);
}

std::string SelfSymbols::name(uint64_t pc, bool return_address) const {
  const uint64_t at = return_address ? pc - 1 : pc;
  Dwfl_Module* mod = dwfl_addrmodule(impl_->dwfl, at);
  if (!mod) return "";
  const char* sym = dwfl_module_addrname(mod, at);
  return sym ? sym : "";
}

}  // namespace loopprof::testing
