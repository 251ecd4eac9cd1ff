// Kept for writers written against the old name: every output is an
// OutputFile (core/output_file.hpp), which writes regular files atomically and
// devices, FIFOs and stdout in place.
#pragma once

#include "core/output_file.hpp"

namespace loopprof {

using AtomicFile = OutputFile;

}  // namespace loopprof
