// Source line of an instruction, from each CPython version's line table.
#pragma once

#include <cstdint>
#include <span>

#include "python/layout.hpp"

namespace loopprof::python {

// Line of the instruction at `instr_index` (in 2-byte code units from the
// start of the code object's bytecode). 0 when the table has no line for it
// (an artificial instruction, or an index past the table); `first_line`
// for a negative index (a frame that has not started yet).
int line_for_instruction(LineTableFormat format, std::span<const uint8_t> table, int first_line,
                         int64_t instr_index);

}  // namespace loopprof::python
