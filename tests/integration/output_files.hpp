// Readers for loopprof's output files: JSON Lines events and folded stacks.
// Both throw std::runtime_error naming the file and line on malformed input,
// so "the file is complete and valid" is one call.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace loopprof::test {

// One JSON object per non-empty line (a truncated last line is an error).
std::vector<nlohmann::json> read_jsonl(const std::string& path);

// A folded line: "root;...;leaf WEIGHT".
struct FoldedStack {
  std::vector<std::string> frames;  // root first
  uint64_t weight = 0;              // microseconds for loopprof
};

std::vector<FoldedStack> read_folded(const std::string& path);
uint64_t total_weight(const std::vector<FoldedStack>& stacks);

}  // namespace loopprof::test
