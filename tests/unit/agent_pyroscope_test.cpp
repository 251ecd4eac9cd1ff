// --pyroscope: the URL check, the ingest request line, the store's push
// intervals, and the pusher against a real HTTP server on 127.0.0.1 (an
// accepting one, none at all, a slow one).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "agent/pyroscope_pusher.hpp"
#include "agent/pyroscope_target.hpp"
#include "agent/stall_store.hpp"
#include "format_fixtures.hpp"

namespace loopprof::agent {
namespace {

using namespace std::chrono_literals;

TEST(PyroscopeUrl, HostPortAndDefaults) {
  auto t = parse_pyroscope_url("http://pyroscope.internal:4040", false);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->scheme, "http");
  EXPECT_EQ(t->host, "pyroscope.internal");
  EXPECT_EQ(t->port, 4040);
  EXPECT_EQ(t->path, "");
  EXPECT_EQ(t->ingest_url(), "http://pyroscope.internal:4040/ingest");

  auto plain = parse_pyroscope_url("HTTP://10.0.0.7/", false);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->origin(), "http://10.0.0.7:80");
}

TEST(PyroscopeUrl, Ipv6PrefixAndIngestSuffix) {
  auto v6 = parse_pyroscope_url("http://[::1]:4040", false);
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->origin(), "http://[::1]:4040");
  auto prefixed = parse_pyroscope_url("http://gw:8080/profiles/", false);
  ASSERT_TRUE(prefixed);
  EXPECT_EQ(prefixed->path, "/profiles");
  EXPECT_EQ(prefixed->ingest_url(), "http://gw:8080/profiles/ingest");
  // The ingest URL itself, as Pyroscope's documentation writes it.
  auto full = parse_pyroscope_url("http://127.0.0.1:4040/ingest", false);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->path, "");
}

TEST(PyroscopeUrl, HttpsOnlyWithTls) {
  auto refused = parse_pyroscope_url("https://pyroscope:4040", false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("no TLS support"), std::string::npos);
  auto accepted = parse_pyroscope_url("https://pyroscope", true);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->port, 443);
  EXPECT_EQ(accepted->scheme, "https");
}

TEST(PyroscopeUrl, RefusesWhatItCannotUse) {
  struct Case {
    const char* url;
    const char* reason;
  };
  for (const Case& c :
       {Case{"pyroscope:4040", "must start with http://"},
        Case{"ftp://pyroscope:4040", "must start with http://"},
        Case{"http://user:secret@pyroscope:4040", "credentials"},
        Case{"http://pyroscope:4040/?x=1", "no query"},
        Case{"http://pyroscope:4040#top", "no query"}, Case{"http://pyroscope:99999", "port"},
        Case{"http://pyroscope:40a0", "port"}, Case{"http://pyroscope:", "empty port"},
        Case{"http://:4040", "no host"}, Case{"http://", "no host"},
        Case{"http://::1:4040", "brackets"}, Case{"http://[::1", "']'"}}) {
    auto t = parse_pyroscope_url(c.url, false);
    ASSERT_FALSE(t) << c.url;
    EXPECT_NE(t.error().message.find(c.reason), std::string::npos)
        << c.url << ": " << t.error().message;
    EXPECT_EQ(t.error().message.find("secret"), std::string::npos)
        << "echoes the password? " << t.error().message;
  }
}

TEST(PyroscopeIngest, AppNames) {
  EXPECT_TRUE(check_pyroscope_app_name("loopprof.stalls"));
  EXPECT_TRUE(check_pyroscope_app_name("team-a/shop_api.stalls"));
  EXPECT_FALSE(check_pyroscope_app_name(""));
  EXPECT_FALSE(check_pyroscope_app_name("stalls{x=1}"));
  EXPECT_FALSE(check_pyroscope_app_name("my app"));
}

TEST(PyroscopeIngest, NameQueryAndPath) {
  EXPECT_EQ(percent_encode("a.b{host=x,y=z}/ ~"), "a.b%7Bhost%3Dx%2Cy%3Dz%7D%2F%20~");
  EXPECT_EQ(pyroscope_label_value("web-1.example.com"), "web-1.example.com");
  EXPECT_EQ(pyroscope_label_value("a,b}c=d e"), "a_b_c_d_e");
  IngestRequest request{.app_name = "loopprof.stalls",
                        .labels = {{"hostname", "web-1"}, {"env", "prod,eu"}},
                        .from_s = 1700000000,
                        .until_s = 1700000015};
  EXPECT_EQ(ingest_name(request), "loopprof.stalls{hostname=web-1,env=prod_eu}");
  auto target = parse_pyroscope_url("http://127.0.0.1:4040/p", false);
  ASSERT_TRUE(target);
  EXPECT_EQ(ingest_path(*target, request),
            "/p/ingest?name=loopprof.stalls%7Bhostname%3Dweb-1%2Cenv%3Dprod_eu%7D"
            "&from=1700000000&until=1700000015&spyName=loopprof&format=pprof");
  EXPECT_EQ(ingest_name({.app_name = "a"}), "a{}");
}

TEST(StallStoreIntervals, ConsecutiveIntervalsShareNoStall) {
  StallStore store(60s, 100);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Stall> stalls = loopprof::testing::sample_stalls();
  ProcessLabels labels{.pid = 7, .comm = "python3", .service = "app.py"};
  store.add(stalls[0], labels, t0 + 1s);
  store.add(stalls[1], labels, t0 + 2s);  // on the boundary: the first interval's
  store.add(stalls[2], labels, t0 + 3s);
  EXPECT_EQ(store.between(t0, t0 + 2s).size(), 2u);
  EXPECT_EQ(store.between(t0 + 2s, t0 + 4s).size(), 1u);
  EXPECT_EQ(store.between(t0 + 3s, t0 + 4s).size(), 0u);
}

// A real HTTP server on 127.0.0.1 that records what it is sent.
class IngestServer {
 public:
  explicit IngestServer(std::chrono::milliseconds delay = 0ms) {
    server_.Post("/ingest", [this, delay](const httplib::Request& req, httplib::Response& res) {
      std::this_thread::sleep_for(delay);
      std::lock_guard<std::mutex> lock(mutex_);
      bodies_.push_back(req.body);
      queries_.push_back(req.params);
      content_types_.push_back(req.get_header_value("Content-Type"));
      res.status = status_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before listen_after_bind() runs would not stop it.
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~IngestServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  void set_status(int status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
  }
  size_t received() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_.size();
  }
  std::vector<std::string> bodies_;
  std::vector<httplib::Params> queries_;
  std::vector<std::string> content_types_;

 private:
  httplib::Server server_;
  std::thread thread_;
  std::mutex mutex_;
  int port_ = 0;
  int status_ = 200;
};

PyroscopeTarget local(int port) {
  auto target = parse_pyroscope_url("http://127.0.0.1:" + std::to_string(port), false);
  EXPECT_TRUE(target);
  return target.value();
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
  for (auto until = std::chrono::steady_clock::now() + timeout;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms))
    if (pred()) return true;
  return pred();
}

PushJob job(std::string body) {
  return PushJob{.from_s = 1700000000, .until_s = 1700000001, .encode = [body] { return body; }};
}

TEST(PyroscopePusher, PostsTheProfileWithItsQuery) {
  IngestServer server;
  PyroscopePusher pusher(local(server.port()),
                         {.app_name = "loopprof.stalls", .labels = {{"hostname", "h1"}}});
  pusher.offer(job("profile-bytes"));
  ASSERT_TRUE(eventually([&] { return pusher.stats().pushes == 1; }));
  ASSERT_EQ(server.received(), 1u);
  EXPECT_EQ(server.bodies_[0], "profile-bytes");
  EXPECT_EQ(server.content_types_[0], "application/octet-stream");
  auto param = [&](const char* key) {
    auto it = server.queries_[0].find(key);
    return it == server.queries_[0].end() ? std::string("<none>") : it->second;
  };
  EXPECT_EQ(param("name"), "loopprof.stalls{hostname=h1}");
  EXPECT_EQ(param("from"), "1700000000");
  EXPECT_EQ(param("until"), "1700000001");
  EXPECT_EQ(param("format"), "pprof");
  EXPECT_EQ(param("spyName"), "loopprof");
  PushStats stats = pusher.stats();
  EXPECT_EQ(stats.bytes, 13u);
  EXPECT_GT(stats.seconds, 0);
  for (const auto& [reason, n] : stats.failures) EXPECT_EQ(n, 0u) << reason;
}

TEST(PyroscopePusher, CountsARefusedConnectionAndAnErrorStatus) {
  int closed_port = 0;
  {
    IngestServer gone;
    closed_port = gone.port();
  }
  PyroscopePusher down(local(closed_port), {});
  down.offer(job("x"));
  ASSERT_TRUE(eventually([&] { return down.stats().failures.at("connect") == 1; }));
  EXPECT_EQ(down.stats().pushes, 0u);

  IngestServer server;
  server.set_status(400);
  PyroscopePusher refused(local(server.port()), {});
  refused.offer(job("x"));
  ASSERT_TRUE(eventually([&] { return refused.stats().failures.at("status") == 1; }));
}

TEST(PyroscopePusher, ASlowServerTimesOutAndOverrunsAreDropped) {
  IngestServer slow(2500ms);
  auto started = std::chrono::steady_clock::now();
  {
    PyroscopePusher pusher(local(slow.port()), {.interval = 1s});
    pusher.offer(job("first"));
    std::this_thread::sleep_for(200ms);  // the first is under way
    auto offering = std::chrono::steady_clock::now();
    pusher.offer(job("second"));  // waits
    pusher.offer(job("third"));   // replaces it: one overrun
    EXPECT_LT(std::chrono::steady_clock::now() - offering, 100ms) << "offer() waited";
    EXPECT_EQ(pusher.stats().failures.at("overrun"), 1u);
    ASSERT_TRUE(eventually([&] { return pusher.stats().failures.at("timeout") >= 1; }));
  }  // the destructor aborts the push of "third" under way
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2400ms * 2);
}

}  // namespace
}  // namespace loopprof::agent
