// Numeric options are bounded: nan, inf, huge and negative values are refused
// with the accepted range (exit 2), never turned into an infinite wait or a
// wrapped integer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/command_line.hpp"

namespace loopprof {
namespace {

// Exit code of parsing `loopprof -p 1 ARGS...` (-1: accepted) and what it printed.
std::pair<int, std::string> parse(std::vector<std::string> args) {
  args.insert(args.begin(), {"loopprof", "-p", "1"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  auto parsed = parse_command_line(static_cast<int>(argv.size()), argv.data());
  std::string out = ::testing::internal::GetCapturedStdout();
  out += ::testing::internal::GetCapturedStderr();
  const int* code = std::get_if<int>(&parsed);
  return {code ? *code : -1, out};
}

TEST(ProfileOptions, BadNumbersAreRefusedWithTheRange) {
  const std::vector<std::vector<std::string>> bad = {{"-t", "nan"},
                                                     {"-t", "inf"},
                                                     {"-t", "1e30"},
                                                     {"-t", "2e13"},
                                                     {"-t", "0"},
                                                     {"-t", "-5"},
                                                     {"-t", "100ms"},
                                                     {"-d", "nan"},
                                                     {"-d", "-1"},
                                                     {"-d", "1e300"},
                                                     {"-F", "20000"},
                                                     {"-F", "-1"},
                                                     {"-F", "nan"},
                                                     {"--loop-timeout", "0"},
                                                     {"--loop-timeout", "inf"},
                                                     {"--ringbuf-size", "0"},
                                                     {"--ringbuf-size", "4096"},
                                                     {"--ringbuf-size", "3"},
                                                     {"--ringbuf-size", "1e30"}};
  for (const auto& args : bad) {
    auto [code, out] = parse(args);
    EXPECT_EQ(code, 2) << args[0] << " " << args[1] << ": " << out;
    EXPECT_LT(out.size(), 400u) << out;  // no 309-digit maximum
    EXPECT_EQ(out.find("179769313"), std::string::npos) << out;
  }
}

TEST(ProfileOptions, ValuesInRangeAreAccepted) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"-t", "0.5"},
                                                                {"-t", "3600000"},
                                                                {"-d", "0"},
                                                                {"-d", "2.5"},
                                                                {"-F", "0"},
                                                                {"-F", "10000"},
                                                                {"--loop-timeout", "0.5"},
                                                                {"--ringbuf-size", "1024"}}) {
    auto [code, out] = parse(args);
    EXPECT_EQ(code, -1) << args[0] << " " << args[1] << ": " << out;
  }
}

TEST(ProfileOptions, TheMessageNamesTheRange) {
  auto [code, out] = parse({"-t", "nan"});
  EXPECT_NE(out.find("0.1 to 3600000 ms"), std::string::npos) << out;
}

}  // namespace
}  // namespace loopprof
