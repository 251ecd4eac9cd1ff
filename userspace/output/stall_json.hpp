// One stall as the --events JSON object (shared by the events file and the
// agent's log lines).
#pragma once

#include <nlohmann/json.hpp>

#include "model/stall.hpp"

namespace loopprof {

nlohmann::json stall_json(const Stall& stall);

}  // namespace loopprof
