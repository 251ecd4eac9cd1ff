// How the format writers open the files they write: the one place to change
// when output files learn other ways of opening (devices, stdout).
#pragma once

#include <string>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace loopprof {

using OutputFile = AtomicFile;

// Opens path for writing; the file appears complete on commit().
inline Result<OutputFile> open_output_file(const std::string& path) {
  return AtomicFile::create(path);
}

}  // namespace loopprof
