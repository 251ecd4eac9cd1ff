// What every command does the same way: report a failure, route libbpf's
// messages, and take the stop signals as a descriptor.
#pragma once

#include "core/error.hpp"
#include "core/unique_fd.hpp"

namespace loopprof {

// Prints "loopprof: <message>" (and the hint) on stderr; returns kExitError.
int fail(const Error& error);
// libbpf's own messages go to stderr with -v, nowhere without.
void route_libbpf_messages(bool verbose);
// SIGINT, SIGTERM and SIGHUP as a readable descriptor, blocked for the whole
// process; SIGPIPE ignored (a closed stdout must not cost the output files).
UniqueFd stop_signals_fd();

}  // namespace loopprof
