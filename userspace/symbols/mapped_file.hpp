// Opening what a process has mapped, the way that process sees it.
#pragma once

#include <sys/types.h>

#include "core/error.hpp"
#include "core/unique_fd.hpp"
#include "symbols/proc_maps.hpp"

namespace loopprof {

// The file behind a file-backed mapping: /proc/PID/root/PATH when that is
// still the very file mapped (same device and inode), else
// /proc/PID/map_files/START-END (deleted or replaced files; needs root).
Result<UniqueFd> open_mapped_file(pid_t pid, const Mapping& mapping);

// An in-memory copy of the process's [vdso] image (from /proc/PID/mem, or
// this process's own vdso when that cannot be read and has the same size).
Result<UniqueFd> open_vdso_image(pid_t pid, const Mapping& mapping);

}  // namespace loopprof
