// Reading stall events and matching them to what a fixture injected.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace loopprof::test {

// {"event":"stall", "ongoing": ongoing} objects, of one thread if tid != 0.
std::vector<nlohmann::json> stall_events(const std::vector<nlohmann::json>& events, bool ongoing,
                                         pid_t tid = 0);

// Wall-clock overlap (ns) of a stall event with an injection.
uint64_t overlap_ns(const nlohmann::json& stall, const Injection& injection);

// The stall covering most of the injection (at least half of it), or nullptr.
const nlohmann::json* stall_for(const std::vector<nlohmann::json>& stalls,
                                const Injection& injection);

// Are the stall's fields all there, with the right types? "" if so, else what is wrong.
std::string stall_schema_error(const nlohmann::json& stall);

// Does a reported stall fit the injection? It lasts at least what the fixture
// measured inside the callback (less 1 ms of clock granularity) and at most
// the fixture's window up to the next loop iteration plus the tolerance; on a
// loaded machine the thread can be preempted after "end", and that time is
// (rightly) part of the stall. "" if it fits, else why not.
std::string stall_duration_error(double reported_ms, const Injection& injection);

// |measured - expected| within max(10 %, 20 ms).
bool duration_matches(double measured_ms, double expected_ms);
double duration_tolerance_ms(double expected_ms);

}  // namespace loopprof::test
