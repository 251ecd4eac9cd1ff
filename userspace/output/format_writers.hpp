// The picture and interchange formats (HTML, pprof, speedscope, Chrome trace).
// Each is a pure encoder from the final stalls and the summary to the file's
// bytes, so it can be tested without a run, and a file sink that collects the
// final stalls of a run (or of a replayed events file) and writes the encoding
// when the run finishes.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/error.hpp"
#include "output/sink.hpp"

namespace loopprof {

// Encoders: the file's bytes. `stalls` are final stalls, in the order reported.
std::string encode_pprof_file(std::span<const Stall> stalls, const Summary& summary);
std::string encode_trace(std::span<const Stall> stalls, const Summary& summary);
std::string encode_speedscope(std::span<const Stall> stalls, const Summary& summary);
std::string encode_html(std::span<const Stall> stalls, const Summary& summary);

using StallEncoder = std::function<std::string(std::span<const Stall>, const Summary&)>;

// A sink that keeps the final stalls (ongoing reports are left out; the
// summary's stalls still blocked at exit are added) and writes
// encode(stalls, summary) to path at finish(). The file is opened now, so a
// bad path fails before profiling starts.
Result<std::unique_ptr<OutputSink>> make_encoded_file_writer(const std::string& path,
                                                             StallEncoder encode);

// "lock 298.0 ms, on-cpu 1.2 ms; woken by ...": the why line of a stall.
std::string why_text(const Stall& stall);

}  // namespace loopprof

namespace loopprof {

// What a stack's time was: "on_cpu" for on-CPU stacks, else the stall's
// largest off-CPU part ("lock", "gil", "runqueue", "sleep", "io", "other").
const char* stack_cause(const Stall& stall, const WeightedStack& stack);

}  // namespace loopprof
