#include "python/line_table.hpp"

#include <cstdint>

namespace loopprof::python {

namespace {

constexpr int64_t kMaxInstructionIndex = int64_t{1} << 32;

// A line summed from a hostile table: 0 (no line) once it leaves the int range.
int as_line(int64_t line) {
  return line >= INT32_MIN && line <= INT32_MAX ? static_cast<int>(line) : 0;
}

// <= 3.9 co_lnotab: (bytecode delta, signed line delta) pairs; a line
// applies from its address to the next one (Objects/lnotab_notes.txt).
int lnotab_line(std::span<const uint8_t> table, int first_line, int64_t byte_offset) {
  int64_t line = first_line;
  int64_t address = 0;
  for (size_t i = 0; i + 1 < table.size(); i += 2) {
    address += table[i];
    if (address > byte_offset) break;
    line += static_cast<int8_t>(table[i + 1]);
  }
  return as_line(line);
}

// 3.10 co_linetable: (range length in bytes, signed line delta) pairs; a
// delta of -128 marks a range without a line.
int linetable310_line(std::span<const uint8_t> table, int first_line, int64_t byte_offset) {
  int64_t line = first_line;
  int64_t start = 0;
  for (size_t i = 0; i + 1 < table.size(); i += 2) {
    int64_t end = start + table[i];
    int8_t delta = static_cast<int8_t>(table[i + 1]);
    bool has_line = delta != -128;
    if (has_line) line += delta;
    if (byte_offset >= start && byte_offset < end) return has_line ? as_line(line) : 0;
    start = end;
  }
  return 0;
}

// >= 3.11 location table: entries of (1 header byte with bit 7 set, code in
// bits 3-6, length - 1 code units in bits 0-2) followed by the code's data.
class LocationReader {
 public:
  explicit LocationReader(std::span<const uint8_t> table) : table_(table) {}
  bool done() const { return pos_ >= table_.size(); }
  uint8_t byte() { return pos_ < table_.size() ? table_[pos_++] : 0; }
  uint64_t varint() {
    uint64_t value = 0;
    for (unsigned shift = 0; !done() && shift < 64; shift += 6) {
      uint8_t b = byte();
      value |= static_cast<uint64_t>(b & 63) << shift;
      if (!(b & 64)) break;
    }
    return value;
  }
  int64_t svarint() {
    uint64_t v = varint();
    return (v & 1) ? -static_cast<int64_t>(v >> 1) : static_cast<int64_t>(v >> 1);
  }

 private:
  std::span<const uint8_t> table_;
  size_t pos_ = 0;
};

// A line delta from a hostile table: anything past the int range is corrupt.
bool add_delta(int64_t& line, int64_t delta) {
  constexpr int64_t kMaxLine = INT32_MAX;
  if (delta > kMaxLine || delta < -kMaxLine) return false;
  line += delta;
  return line >= -kMaxLine && line <= kMaxLine;
}

int locations_line(std::span<const uint8_t> table, int first_line, int64_t instr_index) {
  LocationReader in(table);
  int64_t line = first_line;
  int64_t start = 0;
  while (!in.done()) {
    uint8_t header = in.byte();
    if (!(header & 0x80)) return 0;  // lost sync: a corrupt table
    int code = (header >> 3) & 15;
    int64_t end = start + (header & 7) + 1;
    bool has_line = true;
    if (code == 15) {  // no location
      has_line = false;
    } else if (code == 14) {  // long form: line delta, end line, columns
      if (!add_delta(line, in.svarint())) return 0;
      in.varint();
      in.varint();
      in.varint();
    } else if (code == 13) {  // no column information
      if (!add_delta(line, in.svarint())) return 0;
    } else if (code >= 10) {  // one-line form: line delta code - 10, two columns
      line += code - 10;
      in.byte();
      in.byte();
    } else {  // short form: same line, one column byte
      in.byte();
    }
    if (instr_index >= start && instr_index < end) return has_line ? static_cast<int>(line) : 0;
    start = end;
  }
  return 0;
}

}  // namespace

int line_for_instruction(LineTableFormat format, std::span<const uint8_t> table, int first_line,
                         int64_t instr_index) {
  if (instr_index < 0) return first_line;
  if (instr_index > kMaxInstructionIndex) return 0;  // past any real code object
  switch (format) {
    case LineTableFormat::lnotab:
      return lnotab_line(table, first_line, instr_index * 2);
    case LineTableFormat::linetable310:
      return linetable310_line(table, first_line, instr_index * 2);
    case LineTableFormat::locations311:
      return locations_line(table, first_line, instr_index);
  }
  return 0;
}

}  // namespace loopprof::python
