// x86_64 syscall numbers as names, and which syscalls take a descriptor first.
#pragma once

#include <string>
#include <string_view>

namespace loopprof {

// "recvfrom", or "syscall 999" for one the table does not know.
std::string syscall_name(long nr);
// Does this syscall's first argument name a file descriptor?
bool syscall_takes_fd(long nr);
bool syscall_name_takes_fd(const std::string& name);
// Is it one of the table's syscalls ("read", "recvfrom", ...)?
bool syscall_name_known(std::string_view name);

}  // namespace loopprof
