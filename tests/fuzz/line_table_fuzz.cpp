// CPython line tables read from the target's code objects.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "python/line_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 13) return 0;
  using loopprof::python::LineTableFormat;
  const LineTableFormat formats[] = {LineTableFormat::lnotab, LineTableFormat::linetable310,
                                     LineTableFormat::locations311};
  LineTableFormat format = formats[data[0] % 3];
  int32_t first_line = 0;
  int64_t index = 0;
  std::memcpy(&first_line, data + 1, 4);
  std::memcpy(&index, data + 5, 8);
  std::span<const uint8_t> table(data + 13, size - 13);
  (void)loopprof::python::line_for_instruction(format, table, first_line, index);
  (void)loopprof::python::line_for_instruction(format, table, first_line, index & 0xffff);
  return 0;
}
