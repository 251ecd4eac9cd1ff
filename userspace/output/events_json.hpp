// The --events (JSON Lines) schema: a stall object per reported stall, a
// summary object last. Besides the readable fields (labels, milliseconds) each
// object carries the exact values (nanoseconds, structured frames, whole
// histograms), so an events file can be read back into the same stalls and
// summary (`loopprof report`).
#pragma once

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "output/sink.hpp"

namespace loopprof {

inline constexpr int kEventsFormatVersion = 2;

nlohmann::json stall_to_json(const Stall& stall);
nlohmann::json summary_to_json(const Summary& summary);

// Throws nlohmann::json::exception on a missing or mistyped field.
Stall stall_from_json(const nlohmann::json& object);
Summary summary_from_json(const nlohmann::json& object);

}  // namespace loopprof
