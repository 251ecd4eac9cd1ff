// x86_64 syscall numbers as names, and which syscalls take a descriptor first.
#pragma once

#include <string>

namespace loopprof {

// "recvfrom", or "syscall 999" for one the table does not know.
std::string syscall_name(long nr);
// Does this syscall's first argument name a file descriptor?
bool syscall_takes_fd(long nr);
bool syscall_name_takes_fd(const std::string& name);

}  // namespace loopprof
