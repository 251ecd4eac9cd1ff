// Numeric options (of every command) are bounded: nan, inf, huge and negative values are refused
// with the accepted range (exit 2), never turned into an infinite wait or a
// wrapped integer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/command_line.hpp"

namespace loopprof {
namespace {

// Exit code of parsing `loopprof ARGS...` (-1: accepted) and what it printed.
std::pair<int, std::string> parse_argv(std::vector<std::string> args) {
  args.insert(args.begin(), "loopprof");
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

// The same for the default command: `loopprof -p 1 ARGS...`.
std::pair<int, std::string> parse(std::vector<std::string> args) {
  args.insert(args.begin(), {"-p", "1"});
  return parse_argv(std::move(args));
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

TEST(ProfileOptions, BadPidsAreRefusedWithTheRange) {
  for (const char* pid : {"0", "-5", "4194305", "99999999999999999999", "1e3", "nan"}) {
    for (const char* command : {"", "dump", "top", "agent"}) {
      std::vector<std::string> args;
      if (*command) args.push_back(command);
      args.insert(args.end(), {"-p", pid});
      auto [code, out] = parse_argv(args);
      EXPECT_EQ(code, 2) << command << " -p " << pid << ": " << out;
      EXPECT_NE(out.find("a process ID, 1 to 4194304"), std::string::npos)
          << command << " -p " << pid << ": " << out;
    }
  }
}

// `top` and `agent` take the same kinds of numbers as the default command and
// bound them the same way: nan must not become an endless wait, 1e30 must not
// wrap to a zero threshold.
TEST(ProfileOptions, TopAndAgentRefuseBadNumbersWithTheRange) {
  const std::vector<std::vector<std::string>> bad = {{"top", "-p", "1", "-t", "nan"},
                                                     {"top", "-p", "1", "-t", "1e30"},
                                                     {"top", "-p", "1", "-t", "2e13"},
                                                     {"top", "-p", "1", "-t", "inf"},
                                                     {"top", "-p", "1", "-i", "nan"},
                                                     {"top", "-p", "1", "-i", "0"},
                                                     {"top", "-p", "1", "--window", "nan"},
                                                     {"top", "-p", "1", "-n", "1e30"},
                                                     {"top", "-p", "1", "-F", "nan"},
                                                     {"top", "-p", "1", "--ringbuf-size", "1e30"},
                                                     {"agent", "-t", "nan"},
                                                     {"agent", "-t", "1e30"},
                                                     {"agent", "-t", "2e13"},
                                                     {"agent", "-d", "nan"},
                                                     {"agent", "-d", "1e300"},
                                                     {"agent", "-d", "-1"},
                                                     {"agent", "--grace", "nan"},
                                                     {"agent", "--grace", "1e300"},
                                                     {"agent", "-F", "1e30"},
                                                     {"agent", "--max-processes", "0"},
                                                     {"agent", "--ringbuf-size", "nan"},
                                                     {"agent", "--profile-window", "1e30"},
                                                     {"agent", "--pyroscope-interval", "nan"}};
  for (const auto& args : bad) {
    auto [code, out] = parse_argv(args);
    std::string what = args[0] + " " + args[args.size() - 2] + " " + args.back();
    EXPECT_EQ(code, 2) << what << ": " << out;
    EXPECT_NE(out.find("expected"), std::string::npos) << what << ": " << out;
    EXPECT_LT(out.size(), 400u) << out;
  }
  EXPECT_NE(parse_argv({"top", "-p", "1", "-t", "nan"}).second.find("0.1 to 3600000 ms"),
            std::string::npos);
  EXPECT_NE(parse_argv({"agent", "-d", "nan"}).second.find("0 (until stopped) or"),
            std::string::npos);
}

TEST(ProfileOptions, TopAndAgentAcceptValuesInRange) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"top", "-p", "1", "-t", "0.5", "-i", "0.1", "--window", "86400", "-n", "0", "-F", "0"},
           {"top", "-p", "1", "-p", "4194304", "--ringbuf-size", "1024"},
           {"agent", "-t", "3600000", "-d", "0", "--grace", "0", "-F", "10000"},
           {"agent", "-p", "1", "-d", "2.5", "--grace", "0.5", "--max-processes", "65536"},
           {"dump", "-p", "1"}}) {
    auto [code, out] = parse_argv(args);
    EXPECT_EQ(code, -1) << args[0] << ": " << out;
  }
}

}  // namespace
}  // namespace loopprof
