#include "output_files.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace loopprof::test {

namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("failed to open {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::string text = read_whole(path);
  if (!text.empty() && text.back() != '\n') {
    throw std::runtime_error(fmt::format("{}: last line is not terminated (truncated?)", path));
  }
  std::vector<nlohmann::json> events;
  std::istringstream lines(text);
  std::string line;
  for (size_t number = 1; std::getline(lines, line); ++number) {
    if (line.empty()) continue;
    try {
      events.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(fmt::format("{}:{}: invalid JSON: {}", path, number, e.what()));
    }
    if (!events.back().is_object()) {
      throw std::runtime_error(fmt::format("{}:{}: not a JSON object", path, number));
    }
  }
  return events;
}

std::vector<FoldedStack> read_folded(const std::string& path) {
  std::istringstream lines(read_whole(path));
  std::vector<FoldedStack> stacks;
  std::string line;
  for (size_t number = 1; std::getline(lines, line); ++number) {
    if (line.empty()) continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size()) {
      throw std::runtime_error(fmt::format("{}:{}: not 'frames weight': {}", path, number, line));
    }
    FoldedStack stack;
    try {
      size_t used = 0;
      stack.weight = std::stoull(line.substr(space + 1), &used);
      if (used != line.size() - space - 1) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      throw std::runtime_error(fmt::format("{}:{}: bad weight: {}", path, number, line));
    }
    std::string frames = line.substr(0, space);
    size_t start = 0;
    for (;;) {
      size_t semi = frames.find(';', start);
      stack.frames.push_back(frames.substr(start, semi - start));
      if (semi == std::string::npos) break;
      start = semi + 1;
    }
    stacks.push_back(std::move(stack));
  }
  return stacks;
}

uint64_t total_weight(const std::vector<FoldedStack>& stacks) {
  uint64_t total = 0;
  for (const auto& s : stacks) total += s.weight;
  return total;
}

}  // namespace loopprof::test
