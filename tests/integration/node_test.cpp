// A Node.js target: libuv's epoll loop, V8's JIT code mapped and remapped all
// the time (which once made the DWARF unwinder abort), native frames without a
// Python layer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "harness.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

using std::chrono::milliseconds;

bool has_node() {
  return access("/usr/bin/node", X_OK) == 0;
}

// "step sleep:300 took 300.4" lines of the fixture, in order.
std::vector<double> measured_steps(const Process& fixture) {
  std::vector<double> took;
  static const std::regex step(R"(step \w+:\d+ took ([0-9.]+))");
  for (const auto& line : fixture.lines(Stream::kStdout)) {
    std::smatch m;
    if (std::regex_search(line.text, m, step)) took.push_back(std::stod(m[1]));
  }
  return took;
}

bool stack_has(const nlohmann::json& stall, const std::string& frame) {
  for (const auto& stack : stall["stacks"])
    for (const auto& f : stack["frames"])
      if (f.get<std::string>() == frame) return true;
  return false;
}

TEST(NodeTarget, StallsAreMeasuredAndUnwoundThroughLibuv) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!has_node()) GTEST_SKIP() << "no /usr/bin/node";
  TempDir dir;
  Process fixture = Process::spawn(ProcessOptions{
      {"/usr/bin/node", fixture_source("node_stall.js"), "sleep:300", "cpu:250"}, {}, true});
  ASSERT_TRUE(fixture.wait_for_line(Stream::kStdout, "ready", milliseconds(10000)))
      << fixture.describe();
  Process loopprof =
      run_loopprof(fixture.pid(), {"-o", dir.file("n.folded"), "--events", dir.file("n.jsonl")});
  fixture.write_stdin("go\n");
  ASSERT_EQ(fixture.wait_exit(milliseconds(20000)), 0) << fixture.describe();
  ASSERT_EQ(loopprof.wait_exit(milliseconds(10000)), 0) << loopprof.describe();

  std::vector<double> took = measured_steps(fixture);
  ASSERT_EQ(took.size(), 2u) << fixture.describe();
  auto stalls = stall_events(read_jsonl(dir.file("n.jsonl")), false);
  ASSERT_EQ(stalls.size(), 2u) << loopprof.describe();
  for (size_t i = 0; i < 2; ++i) {
    double ms = stalls[i]["duration_ms"].get<double>();
    EXPECT_GE(ms, took[i] - 1) << "stall " << i;
    EXPECT_LE(ms, took[i] + std::max(20.0, 0.1 * took[i])) << "stall " << i;
    EXPECT_TRUE(stack_has(stalls[i], "uv_run")) << "native unwinding stopped early\n"
                                                << stalls[i].dump();
  }
  EXPECT_GT(stalls[0]["off_cpu_ms"].get<double>(), 0.9 * took[0]) << "Atomics.wait sleeps";
  uint64_t folded = total_weight(read_folded(dir.file("n.folded")));
  double total_us = 0;
  for (const auto& s : stalls) total_us += s["duration_ms"].get<double>() * 1000;
  EXPECT_NEAR(static_cast<double>(folded), total_us, std::max(1000.0, 0.01 * total_us));
}

}  // namespace
}  // namespace loopprof::test

namespace loopprof::test {
namespace {

// Index of the first frame whose label matches `pattern`, or -1.
int find_frame(const nlohmann::json& frames, const std::regex& pattern) {
  for (size_t i = 0; i < frames.size(); ++i)
    if (std::regex_match(frames[i].get<std::string>(), pattern)) return static_cast<int>(i);
  return -1;
}

// A Node service whose handlers block in native code (OpenSSL's SHA-512
// assembly, zlib): the JavaScript function that called it is named with its
// line, the native frames below it stay, and every stack reaches the loop and
// the program's entry (no [truncated] root).
TEST(NodeTarget, JavaScriptFramesAboveCryptoAndZlibStacksReachTheEntry) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!has_node()) GTEST_SKIP() << "no /usr/bin/node";
  TempDir dir;
  Process fixture = Process::spawn(ProcessOptions{
      {"/usr/bin/node", fixture_source("node_crypto.js"), "hash:400000", "gzip:20"}, {}, true});
  ASSERT_TRUE(fixture.wait_for_line(Stream::kStdout, "ready", milliseconds(10000)))
      << fixture.describe();
  Process loopprof = run_loopprof(fixture.pid(), {"--events", dir.file("c.jsonl")});
  fixture.write_stdin("go\n");
  ASSERT_EQ(fixture.wait_exit(milliseconds(30000)), 0) << fixture.describe();
  ASSERT_EQ(loopprof.wait_exit(milliseconds(10000)), 0) << loopprof.describe();
  EXPECT_NE(loopprof.describe().find("V8 frames"), std::string::npos) << loopprof.describe();

  auto stalls = stall_events(read_jsonl(dir.file("c.jsonl")), false);
  ASSERT_EQ(stalls.size(), 2u) << loopprof.describe();
  // node_crypto.js: hashPassword's body is line 11, compressExport's line 15.
  const std::regex hash_js(R"(hashPassword \(.*node_crypto\.js:11\))");
  const std::regex zlib_js(R"(compressExport \(.*node_crypto\.js:15\))");
  const std::regex hash_native(R"(PKCS5_PBKDF2_HMAC|sha512_block_data_order.*)");
  const std::regex zlib_native(R"(deflate.*|longest_match|compress_block)");
  const std::regex entry(R"(_start|main|__libc_start_main|__libc_start_call_main)");
  struct Expect {
    const std::regex& js;
    const std::regex& native;
  };
  const Expect expect[2] = {{hash_js, hash_native}, {zlib_js, zlib_native}};
  // The caller of OpenSSL's SHA-512 block function is one of its digest
  // functions; a stale return address taken for the caller (malloc's, left in
  // the alignment gap of the assembly's frame) would show up as any other.
  const std::regex fixture_js(R"(\w+ \(.*node_crypto\.js:\d+\))");
  const std::regex sha_leaf(R"(sha512_block_data_order.*)");
  const std::regex sha_caller(R"(SHA(384|512)_(Update|Final|Transform)|sha512_block_data_order)");
  for (size_t i = 0; i < 2; ++i) {
    bool named = false;
    double total_us = 0, whole_us = 0, truncated_us = 0;
    for (const auto& stack : stalls[i]["stacks"]) {
      const auto& frames = stack["frames"];
      const std::string first = frames[0].get<std::string>();
      if (first.rfind("[on-cpu", 0) == 0 || first.rfind("[off-cpu", 0) == 0) continue;
      const double us = stack["weight_us"].get<double>();
      total_us += us;
      // Leaf-most user frame (kernel frames end in _[k]).
      int leaf = static_cast<int>(frames.size()) - 1;
      while (leaf > 0 && frames[leaf].get<std::string>().ends_with("_[k]")) --leaf;
      if (leaf > 0 && std::regex_match(frames[leaf].get<std::string>(), sha_leaf) &&
          frames[leaf - 1].get<std::string>() != "[truncated]")
        EXPECT_TRUE(std::regex_match(frames[leaf - 1].get<std::string>(), sha_caller))
            << "SHA-512 called from a stale return address\n"
            << stack.dump();
      if (first == "[truncated]") {
        // Cut short: the stack copy (16 KiB, and up to 48 KiB more for deep
        // stacks) ran out, or a deep-stack record was dropped. Node's main
        // thread is deeper than 16 KiB from node::Start up: before deep
        // stacks, 0-4.3% of a stall's stack time ended there.
        truncated_us += us;
        ADD_FAILURE() << "stack cut short (rooted at " << frames[1].get<std::string>() << ")\n"
                      << stack.dump();
        continue;
      }
      EXPECT_GE(find_frame(frames, entry), 0) << stack.dump();
      EXPECT_GE(find_frame(frames, std::regex("uv_run")), 0) << stack.dump();
      const int js = find_frame(frames, expect[i].js);
      const int native = find_frame(frames, expect[i].native);
      if (js >= 0 && native > js) named = true;
      // TurboFan may inline the handler into run(): any fixture function counts.
      if (find_frame(frames, fixture_js) >= 0) whole_us += us;
    }
    EXPECT_TRUE(named) << "stall " << i << ": no stack with the JavaScript caller above "
                       << "its native frames\n"
                       << stalls[i].dump(1);
    // Most of the stall's time is in stacks from the entry through uv_run to
    // the fixture's JavaScript (measured: 96-100%; none truncated).
    EXPECT_GT(whole_us, 0.8 * total_us) << "stall " << i << "\n" << stalls[i].dump(1);
    EXPECT_LT(truncated_us, 0.1 * total_us) << "stall " << i << "\n" << stalls[i].dump(1);
  }
}

}  // namespace
}  // namespace loopprof::test

namespace loopprof::test {
namespace {

// Official Node.js binaries of other majors than the system's, unpacked by
// tools/npm-deps.sh into .cache/node/VERSION/node.
std::vector<std::filesystem::path> cached_node_binaries() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(LOOPPROF_NODE_DIR, ec))
    if (access((entry.path() / "node").c_str(), X_OK) == 0) out.push_back(entry.path() / "node");
  std::sort(out.begin(), out.end());
  return out;
}

// The V8 frame reader on each cached major: the pbkdf2 stall names its
// JavaScript caller with its line, above the native frames.
TEST(NodeTarget, JavaScriptFramesOnOtherNodeMajors) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const auto binaries = cached_node_binaries();
  if (binaries.empty())
    GTEST_SKIP() << "no Node.js binaries in " << LOOPPROF_NODE_DIR << ": run tools/npm-deps.sh";
  const std::regex hash_js(R"(hashPassword \(.*node_crypto\.js:11\))");
  // run() keeps its name in its ScopeInfo (it has a context local, `i`):
  // the ScopeInfo layout differs across majors.
  const std::regex run_js(R"(run \(.*node_crypto\.js:\d+\))");
  for (const auto& node : binaries) {
    SCOPED_TRACE(node.string());
    TempDir dir;
    Process fixture = Process::spawn(
        ProcessOptions{{node.string(), fixture_source("node_crypto.js"), "hash:400000"}, {}, true});
    ASSERT_TRUE(fixture.wait_for_line(Stream::kStdout, "ready", milliseconds(10000)))
        << fixture.describe();
    Process loopprof = run_loopprof(fixture.pid(), {"--events", dir.file("m.jsonl")});
    fixture.write_stdin("go\n");
    ASSERT_EQ(fixture.wait_exit(milliseconds(30000)), 0) << fixture.describe();
    ASSERT_EQ(loopprof.wait_exit(milliseconds(10000)), 0) << loopprof.describe();
    EXPECT_NE(loopprof.describe().find("V8 frames"), std::string::npos) << loopprof.describe();
    auto stalls = stall_events(read_jsonl(dir.file("m.jsonl")), false);
    ASSERT_GE(stalls.size(), 1u) << loopprof.describe();
    bool named = false;
    for (const auto& stall : stalls)
      for (const auto& stack : stall["stacks"])
        if (const int hash = find_frame(stack["frames"], hash_js); hash > 0)
          named |= find_frame(stack["frames"], run_js) == hash - 1;
    EXPECT_TRUE(named) << "no run;hashPassword frames\n" << stalls.back().dump(1);
  }
}

}  // namespace
}  // namespace loopprof::test
