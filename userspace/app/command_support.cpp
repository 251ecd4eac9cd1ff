#include "app/command_support.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <cstdarg>
#include <cstdio>

#include "app/exit_code.hpp"

namespace loopprof {

namespace {

int print_libbpf_all(libbpf_print_level, const char* format, va_list args) {
  return std::vfprintf(stderr, format, args);
}

int print_libbpf_none(libbpf_print_level, const char*, va_list) {
  return 0;
}

}  // namespace

int fail(const Error& error) {
  fmt::print(stderr, "loopprof: {}\n", error.message);
  if (!error.hint.empty()) fmt::print(stderr, "loopprof: hint: {}\n", error.hint);
  return kExitError;
}

void route_libbpf_messages(bool verbose) {
  libbpf_set_print(verbose ? print_libbpf_all : print_libbpf_none);
}

UniqueFd stop_signals_fd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return UniqueFd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

}  // namespace loopprof
