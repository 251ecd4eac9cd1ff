// The runtime label of a process that is not CPython: "node-20" for Node.js
// (major version from the libnode soname Debian links, or from the binary's
// path), "native" otherwise. Versions are data (kNodeAbiMajors).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace loopprof::agent {

// From the text of /proc/PID/maps and the executable's path.
std::string native_runtime_label(std::string_view exe_path, std::string_view maps_text);
std::string read_native_runtime_label(pid_t pid);

}  // namespace loopprof::agent
