#include "output/html/packed_array.hpp"

#include <algorithm>
#include <bit>

namespace loopprof {

std::string base64(std::string_view bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += kDigits[(n >> 18) & 63];
    out += kDigits[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kDigits[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kDigits[n & 63] : '=';
  }
  return out;
}

nlohmann::json packed_array(std::span<const uint64_t> values) {
  uint64_t largest = values.empty() ? 0 : *std::max_element(values.begin(), values.end());
  int width = largest <= UINT8_MAX ? 1 : largest <= UINT16_MAX ? 2 : largest <= UINT32_MAX ? 4 : 8;
  std::string bytes;
  bytes.reserve(values.size() * width);
  for (uint64_t value : values) {
    uint64_t bits = width == 8 ? std::bit_cast<uint64_t>(static_cast<double>(value)) : value;
    for (int b = 0; b < width; ++b) bytes += static_cast<char>(bits >> (8 * b));
  }
  return {{"bytes", width}, {"data", base64(bytes)}};
}

}  // namespace loopprof
