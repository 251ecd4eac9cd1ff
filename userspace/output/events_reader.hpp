// Reads a --events file back into the stalls and summary that produced it.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "output/sink.hpp"

namespace loopprof {

struct RecordedRun {
  std::vector<Stall> stalls;  // every stall report, in order (ongoing ones too)
  Summary summary;            // with the stalls still blocked at exit
};

Result<RecordedRun> read_events_file(const std::string& path);

}  // namespace loopprof
