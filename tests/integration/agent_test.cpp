// End-to-end: `loopprof agent` on the machine with fixture loops started
// before and after it. Asserts each loop shows up in /metrics with the right
// labels, injected stalls count under the right cause, the JSON stall lines
// carry the process labels, promtool accepts /metrics, a real Prometheus
// server scraping the agent answers every query of the shipped Grafana
// dashboard with data for the fixture loops, and an exited process's series
// go away after the grace period. Needs root, promtool and prometheus.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace loopprof::test {
namespace {

namespace fs = std::filesystem;

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the text exposition format (enough for our own output).
std::vector<Sample> parse_metrics(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream lines(text);
  static const std::regex label_re(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t brace = line.find('{');
    size_t space = line.rfind(' ');
    if (brace != std::string::npos && brace < space) {
      s.name = line.substr(0, brace);
      std::string labels = line.substr(brace + 1, line.rfind('}') - brace - 1);
      for (std::sregex_iterator it(labels.begin(), labels.end(), label_re), end; it != end; ++it)
        s.labels[(*it)[1]] = (*it)[2];
    } else {
      s.name = line.substr(0, space);
    }
    s.value = std::stod(line.substr(space + 1));
    out.push_back(std::move(s));
  }
  return out;
}

std::string regex_escape(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string read_comm(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

std::string read_file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool has_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

class Agent {
 public:
  explicit Agent(std::vector<std::string> extra) {
    std::vector<std::string> argv = {loopprof_binary(), "agent", "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_.emplace(Process::spawn(argv));
    auto line = process_->wait_for_line(Stream::kStderr, "/metrics", milliseconds(20000));
    if (!line) throw std::runtime_error("agent did not start:\n" + process_->describe());
    std::smatch m;
    if (!std::regex_search(line->text, m, std::regex(R"(127\.0\.0\.1:(\d+)/metrics)")))
      throw std::runtime_error("no port in: " + line->text);
    port_ = std::stoi(m[1]);
  }
  Process& process() { return *process_; }
  int port() const { return port_; }

  httplib::Result get(const std::string& path) {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(10, 0);
    return client.Get(path.c_str());
  }
  std::string metrics() {
    auto res = get("/metrics");
    return res && res->status == 200 ? res->body : "";
  }
  // Waits until `pred` holds for the samples of /metrics.
  template <typename Pred>
  std::vector<Sample> wait_for(Pred pred, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::vector<Sample> samples;
    while (Clock::now() < deadline) {
      samples = parse_metrics(metrics());
      if (pred(samples)) return samples;
      std::this_thread::sleep_for(milliseconds(250));
    }
    return samples;
  }

 private:
  std::optional<Process> process_;
  int port_ = 0;
};

double value_of(const std::vector<Sample>& samples, const std::string& name,
                const std::map<std::string, std::string>& want) {
  double total = 0;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : want)
      if (!s.labels.count(k) || s.labels.at(k) != v) match = false;
    if (match) total += s.value;
  }
  return total;
}

bool has_pid(const std::vector<Sample>& samples, pid_t pid) {
  for (const Sample& s : samples)
    if (s.labels.count("pid") && s.labels.at("pid") == std::to_string(pid)) return true;
  return false;
}

// Every PromQL expression of the shipped dashboard, with Grafana's variables
// replaced as a dashboard showing every host and service would.
std::vector<std::string> dashboard_queries(const nlohmann::json& dashboard) {
  std::vector<std::string> out;
  for (const auto& panel : dashboard.at("panels"))
    if (panel.contains("targets"))
      for (const auto& target : panel.at("targets")) out.push_back(target.at("expr"));
  for (auto& q : out) {
    q = std::regex_replace(q, std::regex(R"(\$__rate_interval)"), "15s");
    q = std::regex_replace(q, std::regex(R"(\$__range)"), "10m");
    q = std::regex_replace(q, std::regex(R"(\$(instance|service))"), ".*");
  }
  return out;
}

nlohmann::json read_dashboard() {
  std::ifstream in(std::string(LOOPPROF_SOURCE_DIR) + "/deploy/grafana/loopprof-dashboard.json");
  return nlohmann::json::parse(in);
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
  }
};

TEST(AgentDashboard, IsAGrafanaDashboardModel) {
  nlohmann::json d = read_dashboard();
  EXPECT_TRUE(d.at("uid").is_string());
  EXPECT_TRUE(d.at("title").is_string());
  EXPECT_GE(d.at("schemaVersion").get<int>(), 30);
  std::set<int> ids;
  for (const auto& panel : d.at("panels")) {
    EXPECT_TRUE(ids.insert(panel.at("id").get<int>()).second) << "duplicate panel id";
    for (const char* key : {"x", "y", "w", "h"})
      EXPECT_TRUE(panel.at("gridPos").at(key).is_number());
    EXPECT_LE(panel.at("gridPos").at("x").get<int>() + panel.at("gridPos").at("w").get<int>(), 24);
    if (panel.at("type") == "row") continue;
    EXPECT_TRUE(panel.at("title").is_string());
    ASSERT_FALSE(panel.at("targets").empty()) << panel.at("title");
    for (const auto& target : panel.at("targets")) {
      EXPECT_TRUE(target.at("refId").is_string());
      EXPECT_NE(target.at("expr").get<std::string>().find("loopprof_"), std::string::npos);
    }
  }
  for (const auto& var : d.at("templating").at("list")) EXPECT_TRUE(var.at("name").is_string());
  EXPECT_EQ(std::system(("promtool check rules " + std::string(LOOPPROF_SOURCE_DIR) +
                         "/deploy/prometheus/loopprof-alerts.yml >/dev/null")
                            .c_str()),
            0);
}

TEST_F(AgentTest, WatchesLoopsStartedBeforeAndAfterItIntoPrometheus) {
  for (const char* tool : {"promtool", "prometheus"})
    if (!has_program(tool)) GTEST_SKIP() << tool << " is not installed (make deps)";
  TempDir dir("loopprof-agent");
  // Only this build's fixtures: the machine runs other loops.
  std::string match = regex_escape(fixture_source("")) + "|" + regex_escape(fixture_binary(""));

  // Before the agent: a native loop blocked in epoll_wait (found by the
  // start-up scan) and an asyncio loop.
  Process native =
      Process::spawn({{fixture_binary("epoll_loop"), "sleep:300", "idle:30000"}, {}, true});
  ASSERT_TRUE(native.wait_for_line(Stream::kStdout, "ready", milliseconds(10000)))
      << native.describe();
  Process early = Process::spawn(
      {{"python3", fixture_source("stall_app.py"), "sleep:300", "cpu:300", "idle:30000"},
       {},
       true});
  ASSERT_TRUE(early.wait_for_line(Stream::kStdout, "ready", milliseconds(20000)))
      << early.describe();

  Agent agent({"--match", match, "--grace", "3", "--events", dir.file("events.jsonl")});
  ASSERT_TRUE(agent.process().wait_for_line(
      Stream::kStderr, "watching PID " + std::to_string(early.pid()), milliseconds(5000)))
      << agent.process().describe();
  ASSERT_TRUE(agent.process().wait_for_line(
      Stream::kStderr, "watching PID " + std::to_string(native.pid()), milliseconds(5000)))
      << agent.process().describe();

  // After the agent: a loop thread named "worker" that waits on a lock.
  Process late = Process::spawn(
      {{"python3", fixture_source("stall_app.py"), "thread:worker", "lock:300", "idle:30000"},
       {},
       true});
  ASSERT_TRUE(late.wait_for_line(Stream::kStdout, "ready", milliseconds(20000))) << late.describe();
  ASSERT_TRUE(agent.process().wait_for_line(
      Stream::kStderr, "watching PID " + std::to_string(late.pid()), milliseconds(3000)))
      << agent.process().describe();

  for (Process* p : {&native, &early, &late}) p->write_stdin("go\n");
  ASSERT_TRUE(early.wait_for_line(Stream::kStdout, "after main cpu:300", milliseconds(20000)));
  ASSERT_TRUE(late.wait_for_line(Stream::kStdout, "after worker lock:300", milliseconds(20000)));
  ASSERT_TRUE(native.wait_for_line(Stream::kStdout, "after main sleep:300", milliseconds(20000)));

  const std::string early_pid = std::to_string(early.pid()), late_pid = std::to_string(late.pid()),
                    native_pid = std::to_string(native.pid());
  auto samples = agent.wait_for(
      [&](const std::vector<Sample>& s) {
        return value_of(s, "loopprof_stalls_total", {{"pid", early_pid}}) >= 2 &&
               value_of(s, "loopprof_stalls_total", {{"pid", late_pid}, {"cause", "lock"}}) >= 1 &&
               value_of(s, "loopprof_stalls_total", {{"pid", native_pid}, {"cause", "sleep"}}) >= 1;
      },
      milliseconds(10000));
  std::string text = agent.metrics();
  EXPECT_EQ(value_of(samples, "loopprof_stalls_total", {{"pid", early_pid}, {"cause", "sleep"}}), 1)
      << text;
  // The CPU burn is on_cpu, or runqueue on a loaded machine: 2 stalls in all.
  EXPECT_EQ(value_of(samples, "loopprof_stalls_total", {{"pid", early_pid}}), 2) << text;
  EXPECT_EQ(value_of(samples, "loopprof_stalls_total", {{"pid", late_pid}, {"cause", "lock"}}), 1)
      << text;
  EXPECT_EQ(value_of(samples, "loopprof_stalls_total", {{"pid", native_pid}, {"cause", "sleep"}}),
            1)
      << text;
  EXPECT_GE(
      value_of(samples, "loopprof_stall_seconds_total", {{"pid", late_pid}, {"cause", "lock"}}),
      0.25);

  // Labels: comm, service (the script or binary), thread (as the program
  // names it), runtime.
  const std::map<std::string, std::string> early_labels = {
      {"pid", early_pid},
      {"comm", read_comm(early.pid(), early.pid())},
      {"service", "stall_app.py"},
      {"thread", "MainThread"}};  // as Python's threading names it
  EXPECT_GT(value_of(samples, "loopprof_loop_iterations_total", early_labels), 0) << text;
  bool early_runtime = false, native_runtime = false;
  for (const Sample& s : samples) {
    if (s.name != "loopprof_loop_iterations_total") continue;
    if (s.labels.at("pid") == early_pid)
      early_runtime = s.labels.at("runtime").rfind("cpython-3.", 0) == 0;
    if (s.labels.at("pid") == native_pid) native_runtime = s.labels.at("runtime") == "native";
  }
  EXPECT_TRUE(early_runtime) << text;
  EXPECT_TRUE(native_runtime) << text;
  EXPECT_GT(value_of(samples, "loopprof_loop_iterations_total",
                     {{"pid", late_pid}, {"thread", "worker"}, {"service", "stall_app.py"}}),
            0)
      << text;
  EXPECT_GT(value_of(samples, "loopprof_loop_iterations_total",
                     {{"pid", native_pid}, {"service", "epoll_loop"}, {"comm", "epoll_loop"}}),
            0)
      << text;
  EXPECT_GT(value_of(samples, "loopprof_loop_lag_seconds_count", {{"pid", early_pid}}), 0);
  EXPECT_GE(
      value_of(samples, "loopprof_loop_lag_seconds_bucket", {{"pid", early_pid}, {"le", "+Inf"}}),
      value_of(samples, "loopprof_loop_lag_seconds_bucket",
               {{"pid", early_pid}, {"le", "0.131072"}}));
  EXPECT_EQ(value_of(samples, "loopprof_agent_watched_processes", {}), 3) << text;
  EXPECT_GT(value_of(samples, "loopprof_agent_resident_memory_bytes", {}), 0);
  EXPECT_GT(value_of(samples, "loopprof_runqueue_latency_seconds_count", {{"pid", early_pid}}), 0);

  // The exposition format, checked by Prometheus' own linter.
  {
    std::ofstream(dir.file("metrics.txt")) << text;
    EXPECT_EQ(std::system(("promtool check metrics < " + dir.file("metrics.txt")).c_str()), 0)
        << text;
    auto res = agent.get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  }

  // The JSON stall lines: stdout and the events file, with process labels.
  bool logged = false;
  for (const auto& line : agent.process().lines(Stream::kStdout)) {
    auto j = nlohmann::json::parse(line.text, nullptr, false);
    if (j.is_object() && j.value("event", "") == "stall" && j.value("pid", 0) == late.pid() &&
        !j.value("ongoing", true))
      logged = j.value("service", "") == "stall_app.py" && j.value("cause", "") == "lock" &&
               j.value("thread", "") == "worker" && !j.at("stacks").empty();
  }
  EXPECT_TRUE(logged) << agent.process().text(Stream::kStdout);
  EXPECT_NE(read_file_text(dir.file("events.jsonl")).find("\"pid\":" + late_pid),
            std::string::npos);

  // The stall stacks of the last minute as a pprof profile, fetched and read
  // by go tool pprof itself: the function table names the CPU burn and the
  // lock wait, the tags carry each stall's pid and cause.
  if (has_program("go")) {
    auto res = agent.get("/debug/pprof/stalls?seconds=60");
    ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/octet-stream");
    auto bad = agent.get("/debug/pprof/stalls?seconds=0");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    std::string url =
        "http://127.0.0.1:" + std::to_string(agent.port()) + "/debug/pprof/stalls?seconds=60";
    std::string env = "HOME=" + dir.path().string() + " PPROF_TMPDIR=" + dir.path().string() +
                      " GOFLAGS=-mod=mod ";
    for (const char* view : {"-top", "-tags"}) {
      std::string out_path = dir.file(std::string("pprof") + view);
      ASSERT_EQ(std::system((env + "go tool pprof " + view + " -nodecount=500 '" + url + "' > " +
                             out_path + " 2>&1")
                                .c_str()),
                0)
          << read_file_text(out_path);
    }
    std::string top = read_file_text(dir.file("pprof-top"));
    EXPECT_NE(top.find("Type: stall_time"), std::string::npos) << top;
    EXPECT_NE(top.find("burn_cpu"), std::string::npos) << top;
    EXPECT_NE(top.find("wait_on_held_lock"), std::string::npos) << top;
    std::string tags = read_file_text(dir.file("pprof-tags"));
    EXPECT_NE(tags.find(late_pid), std::string::npos) << tags;
    EXPECT_NE(tags.find(native_pid), std::string::npos) << tags;
    EXPECT_NE(tags.find("lock"), std::string::npos) << tags;
  }

  // A real Prometheus scrapes the agent every second; every query of the
  // dashboard returns data, with the fixture loops where it is per process.
  int prom_port = free_port();
  std::ofstream(dir.file("prometheus.yml"))
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
         "  - job_name: loopprof\n    static_configs:\n      - targets: ['127.0.0.1:"
      << agent.port() << "']\n";
  Process prometheus = Process::spawn(
      {"prometheus", "--config.file=" + dir.file("prometheus.yml"),
       "--storage.tsdb.path=" + dir.file("tsdb"),
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"});
  httplib::Client prom("127.0.0.1", prom_port);
  prom.set_read_timeout(10, 0);
  auto deadline = Clock::now() + milliseconds(30000);
  while (Clock::now() < deadline) {
    auto ready = prom.Get("/-/ready");
    if (ready && ready->status == 200) break;
    std::this_thread::sleep_for(milliseconds(250));
  }
  // At least 5 scrapes in 15 s (on a loaded machine some may time out).
  for (auto until = Clock::now() + milliseconds(60000); Clock::now() < until;) {
    auto res = prom.Get(("/api/v1/query?query=" +
                         httplib::detail::encode_query_param(
                             "count_over_time(loopprof_agent_watched_processes[15s]) >= 5"))
                            .c_str());
    if (res && res->status == 200 &&
        !nlohmann::json::parse(res->body).at("data").at("result").empty())
      break;
    std::this_thread::sleep_for(milliseconds(500));
  }
  for (const std::string& query : dashboard_queries(read_dashboard())) {
    auto res =
        prom.Get(("/api/v1/query?query=" + httplib::detail::encode_query_param(query)).c_str());
    ASSERT_TRUE(res && res->status == 200) << query << "\n" << (res ? res->body : "no answer");
    auto body = nlohmann::json::parse(res->body);
    const auto& result = body.at("data").at("result");
    EXPECT_FALSE(result.empty()) << "no data for " << query;
    if (query.find("pid") == std::string::npos) continue;
    bool fixture = false;
    for (const auto& series : result) {
      std::string pid = series.at("metric").value("pid", "");
      fixture |= pid == early_pid || pid == late_pid || pid == native_pid;
    }
    EXPECT_TRUE(fixture) << "no fixture loop in " << query << "\n" << res->body;
  }
  prometheus.signal(SIGTERM);
  prometheus.wait_exit(milliseconds(10000));

  // An exited process: its series stay for the grace period (3 s), then go.
  early.signal(SIGKILL);
  early.wait_exit(milliseconds(5000));
  EXPECT_TRUE(agent.process().wait_for_line(Stream::kStderr, "PID " + early_pid + " exited",
                                            milliseconds(3000)));
  samples = agent.wait_for([&](const std::vector<Sample>& s) { return !has_pid(s, early.pid()); },
                           milliseconds(8000));
  EXPECT_FALSE(has_pid(samples, early.pid())) << agent.metrics();
  EXPECT_TRUE(has_pid(samples, late.pid()));
  EXPECT_EQ(value_of(samples, "loopprof_agent_watched_processes", {}), 2);

  // SIGTERM: a clean exit.
  agent.process().signal(SIGTERM);
  EXPECT_EQ(agent.process().wait_exit(milliseconds(10000)), 0) << agent.process().describe();
}

// --pyroscope: a stand-in ingest server (tests/fixtures/ingest_server.py)
// saves every push; go tool pprof reads each saved body.
class IngestServer {
 public:
  // `delay_s`: seconds before each answer (a slow server).
  explicit IngestServer(const std::string& dir, const std::string& delay_s = "0")
      : dir_(dir),
        process_(Process::spawn(
            {"python3", fixture_source("ingest_server.py"), dir, "--delay", delay_s})) {
    auto line = process_.wait_for_line(Stream::kStdout, "listening", milliseconds(10000));
    if (!line) throw std::runtime_error("ingest server did not start:\n" + process_.describe());
    port_ = std::stoi(line->text.substr(line->text.rfind(' ') + 1));
  }
  int port() const { return port_; }
  // The saved requests' numbers (1, 2, ...) whose body is complete.
  std::vector<int> requests() const {
    std::vector<int> out;
    if (!fs::exists(dir_)) return out;
    for (const auto& entry : fs::directory_iterator(dir_))
      if (entry.path().extension() == ".body") out.push_back(std::stoi(entry.path().stem()));
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string file(int request, const char* extension) const {
    return dir_ + "/" + std::to_string(request) + extension;
  }

 private:
  std::string dir_;
  Process process_;
  int port_ = 0;
};

std::map<std::string, std::string> parse_query(const std::string& query) {
  std::map<std::string, std::string> out;
  std::istringstream parts(query);
  for (std::string part; std::getline(parts, part, '&');) {
    size_t eq = part.find('=');
    out[part.substr(0, eq)] = eq == std::string::npos ? "" : part.substr(eq + 1);
  }
  return out;
}

std::string percent_decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Stopping the agent pushes the last, partial interval: with a 60 s push
// interval, a stall a few seconds before SIGTERM still reaches Pyroscope.
TEST_F(AgentTest, PushesTheLastPartialIntervalWhenItStops) {
  TempDir dir("loopprof-pyroscope-last");
  IngestServer ingest(dir.file("ingest"));
  Process app = Process::spawn(
      {{"python3", fixture_source("stall_app.py"), "cpu:300", "idle:30000"}, {}, true});
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "ready", milliseconds(20000))) << app.describe();
  Agent agent({"--match", regex_escape(fixture_source("stall_app.py")), "--no-log", "--pyroscope",
               "http://127.0.0.1:" + std::to_string(ingest.port()), "--pyroscope-interval", "60"});
  ASSERT_TRUE(agent.process().wait_for_line(
      Stream::kStderr, "watching PID " + std::to_string(app.pid()), milliseconds(5000)))
      << agent.process().describe();
  app.write_stdin("go\n");
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "after main cpu:300", milliseconds(20000)));
  auto samples = agent.wait_for(
      [](const std::vector<Sample>& s) { return value_of(s, "loopprof_stalls_total", {}) >= 1; },
      milliseconds(5000));
  EXPECT_TRUE(ingest.requests().empty()) << "pushed before the interval ended";
  agent.process().signal(SIGTERM);
  EXPECT_EQ(agent.process().wait_exit(milliseconds(10000)), 0) << agent.process().describe();
  ASSERT_EQ(ingest.requests().size(), 1u) << agent.process().describe();
  std::string body = read_file_text(ingest.file(ingest.requests().front(), ".body"));
  EXPECT_GT(body.size(), 20u);
  auto query = parse_query(read_file_text(ingest.file(ingest.requests().front(), ".query")));
  EXPECT_EQ(query["format"], "pprof");
}

TEST_F(AgentTest, PushesTheStallProfileOfEachIntervalToPyroscope) {
  if (!has_program("go")) GTEST_SKIP() << "go is not installed (make deps)";
  TempDir dir("loopprof-pyroscope");
  IngestServer ingest(dir.file("ingest"));
  Process app = Process::spawn(
      {{"python3", fixture_source("stall_app.py"), "cpu:300", "idle:30000"}, {}, true});
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "ready", milliseconds(20000))) << app.describe();

  Agent agent({"--match", regex_escape(fixture_source("stall_app.py")), "--no-log", "--pyroscope",
               "http://127.0.0.1:" + std::to_string(ingest.port()), "--pyroscope-interval", "1"});
  ASSERT_TRUE(agent.process().wait_for_line(
      Stream::kStderr, "watching PID " + std::to_string(app.pid()), milliseconds(5000)))
      << agent.process().describe();
  int64_t before_s = std::time(nullptr);
  app.write_stdin("go\n");
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "after main cpu:300", milliseconds(20000)));

  // The push of the interval the stall ended in: go tool pprof reads it.
  std::string env = "HOME=" + dir.path().string() + " PPROF_TMPDIR=" + dir.path().string() + " ";
  std::string raw;
  int pushed = 0;
  for (auto deadline = Clock::now() + milliseconds(15000); Clock::now() < deadline && !pushed;
       std::this_thread::sleep_for(milliseconds(250))) {
    for (int request : ingest.requests()) {
      std::string out = dir.file("raw-" + std::to_string(request));
      int status = std::system(
          (env + "go tool pprof -raw " + ingest.file(request, ".body") + " > " + out + " 2>&1")
              .c_str());
      ASSERT_EQ(status, 0) << read_file_text(out);
      raw = read_file_text(out);
      if (raw.find("burn_cpu") != std::string::npos) {
        pushed = request;
        break;
      }
    }
  }
  ASSERT_NE(pushed, 0) << "no pushed profile names burn_cpu; last one read:\n"
                       << raw << agent.process().describe();
  EXPECT_NE(raw.find("stalls/count stall_time/nanoseconds[dflt]"), std::string::npos) << raw;
  const std::string pid = std::to_string(app.pid());
  for (const std::string& label :
       {"pid:[" + pid + "]", std::string("service:[stall_app.py]"), std::string("cause:["),
        "comm:[" + read_comm(app.pid(), app.pid()) + "]", std::string("runtime:[cpython-3.")})
    EXPECT_NE(raw.find(label), std::string::npos) << label << "\n" << raw;

  // The request: Pyroscope's ingest query, a raw pprof body.
  auto query = parse_query(read_file_text(ingest.file(pushed, ".query")));
  EXPECT_EQ(percent_decode(query["name"]).rfind("loopprof.stalls{hostname=", 0), 0u)
      << query["name"];
  EXPECT_EQ(query["format"], "pprof");
  EXPECT_EQ(query["spyName"], "loopprof");
  ASSERT_TRUE(query.count("from") && query.count("until"));
  int64_t from = std::stoll(query["from"]), until = std::stoll(query["until"]);
  EXPECT_LE(from, until);
  EXPECT_LE(until - from, 2) << "one 1 s interval";
  EXPECT_GE(until, before_s);
  EXPECT_LE(until, std::time(nullptr));
  EXPECT_EQ(read_file_text(ingest.file(pushed, ".type")), "application/octet-stream");
  // No push of an interval without a stall: at most one per stall here.
  EXPECT_LE(ingest.requests().size(), 2u);

  auto samples = agent.wait_for(
      [](const std::vector<Sample>& s) {
        return value_of(s, "loopprof_agent_pyroscope_pushes_total", {}) >= 1;
      },
      milliseconds(5000));
  EXPECT_GE(value_of(samples, "loopprof_agent_pyroscope_pushes_total", {}), 1);
  EXPECT_GT(value_of(samples, "loopprof_agent_pyroscope_pushed_bytes_total", {}), 0);
  EXPECT_EQ(value_of(samples, "loopprof_agent_pyroscope_push_failures_total", {}), 0)
      << agent.metrics();
  EXPECT_TRUE(agent.process().wait_for_line(Stream::kStderr, "pushed the first stall profile",
                                            milliseconds(1000)));
  agent.process().signal(SIGTERM);
  EXPECT_EQ(agent.process().wait_exit(milliseconds(10000)), 0) << agent.process().describe();
}

// A Pyroscope server that is down or slow: every stall still counts, /metrics
// still answers at once, and each dropped push is counted by `reason`.
void keeps_collecting(const std::string& url, const std::string& reason) {
  Process app =
      Process::spawn({{"python3", fixture_source("stall_app.py"), "--gap", "600", "sleep:200",
                       "sleep:200", "sleep:200", "sleep:200", "sleep:200", "idle:30000"},
                      {},
                      true});
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "ready", milliseconds(20000))) << app.describe();
  Agent agent({"--match", regex_escape(fixture_source("stall_app.py")), "--no-log", "--pyroscope",
               url, "--pyroscope-interval", "1"});
  ASSERT_TRUE(agent.process().wait_for_line(
      Stream::kStderr, "watching PID " + std::to_string(app.pid()), milliseconds(5000)))
      << agent.process().describe();
  app.write_stdin("go\n");

  const std::string pid = std::to_string(app.pid());
  milliseconds slowest_scrape(0);
  std::vector<Sample> samples;
  for (auto deadline = Clock::now() + milliseconds(20000); Clock::now() < deadline;
       std::this_thread::sleep_for(milliseconds(200))) {
    auto asked = Clock::now();
    samples = parse_metrics(agent.metrics());
    slowest_scrape =
        std::max(slowest_scrape, std::chrono::duration_cast<milliseconds>(Clock::now() - asked));
    if (value_of(samples, "loopprof_stalls_total", {{"pid", pid}, {"cause", "sleep"}}) >= 5 &&
        value_of(samples, "loopprof_agent_pyroscope_push_failures_total", {{"reason", reason}}) >=
            3)
      break;
  }
  std::string text = agent.metrics();
  EXPECT_EQ(value_of(samples, "loopprof_stalls_total", {{"pid", pid}, {"cause", "sleep"}}), 5)
      << text;
  EXPECT_GE(value_of(samples, "loopprof_agent_pyroscope_push_failures_total", {{"reason", reason}}),
            3)
      << text;
  EXPECT_EQ(value_of(samples, "loopprof_agent_pyroscope_pushes_total", {}), 0) << text;
  EXPECT_LT(slowest_scrape, milliseconds(1000)) << "a scrape waited for the push";
  // One warning line for the failures of one kind (rate-limited).
  size_t warnings = 0;
  for (const auto& line : agent.process().lines(Stream::kStderr))
    warnings += line.text.find("failed to push the stall profile") != std::string::npos;
  EXPECT_EQ(warnings, 1u) << agent.process().text(Stream::kStderr);
  EXPECT_TRUE(agent.process().running());

  auto stopping = Clock::now();
  agent.process().signal(SIGTERM);
  EXPECT_EQ(agent.process().wait_exit(milliseconds(10000)), 0) << agent.process().describe();
  EXPECT_LT(Clock::now() - stopping, milliseconds(5000));
}

TEST_F(AgentTest, KeepsCollectingWhilePyroscopeIsDown) {
  keeps_collecting("http://127.0.0.1:" + std::to_string(free_port()), "connect");
}

TEST_F(AgentTest, KeepsCollectingWhilePyroscopeIsSlow) {
  TempDir dir("loopprof-pyroscope-slow");
  IngestServer slow(dir.file("ingest"), "30");  // answers after 30 s: every push times out
  keeps_collecting("http://127.0.0.1:" + std::to_string(slow.port()), "timeout");
}

TEST(AgentOptions, RefusesAPyroscopeSetupItCannotUse) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Case& c :
       {Case{{"--pyroscope", "pyroscope:4040"}, "--pyroscope"},
        Case{{"--pyroscope", "http://user:pw@pyroscope:4040"}, "credentials"},
        Case{{"--pyroscope", "ftp://pyroscope"}, "--pyroscope"},
        Case{{"--pyroscope", "http://127.0.0.1:1", "--pyroscope-app-name", "my app"},
             "--pyroscope-app-name"},
        Case{{"--pyroscope", "http://127.0.0.1:1", "--pyroscope-interval", "100",
              "--profile-window", "50"},
             "--profile-window"}}) {
    std::vector<std::string> argv = {loopprof_binary(), "agent"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Process agent = Process::spawn(argv);
    EXPECT_NE(agent.wait_exit(milliseconds(10000)), 0) << c.args.back();
    std::string err = agent.text(Stream::kStderr);
    EXPECT_NE(err.find(c.says), std::string::npos) << err;
    EXPECT_EQ(err.find("pw@"), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace loopprof::test
