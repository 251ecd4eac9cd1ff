// Bulk numbers for the HTML page: an array of unsigned integers as base64 of
// its little-endian bytes, each value in the narrowest of 1, 2 or 4 bytes
// that holds the largest (8: IEEE doubles, exact below 2^53), so the page
// reads it as a typed array with no parsing: {"bytes": N, "data": "..."}.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

namespace loopprof {

nlohmann::json packed_array(std::span<const uint64_t> values);

std::string base64(std::string_view bytes);

}  // namespace loopprof
