// `--pyroscope URL`: pushes the agent's stall profile of each interval to a
// Pyroscope server's HTTP ingest API, on a thread of its own so that a server
// that is down or slow never holds up collection. One profile waits at most:
// a new one replaces it (counted as an overrun), a push that fails is counted
// by reason and dropped, never retried or queued. Each failure reason is
// logged once, then at most once a minute with the count since.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/pyroscope_target.hpp"

namespace httplib {
class Client;
}

namespace loopprof::agent {

// Why a profile did not reach the server: a bounded set, every one exported.
inline constexpr const char* kPushFailureReasons[] = {"connect", "timeout", "tls",
                                                      "status",  "overrun", "other"};

struct PushStats {
  uint64_t pushes = 0;                       // profiles the server accepted (2xx)
  uint64_t bytes = 0;                        // their gzip pprof bytes
  double seconds = 0;                        // time those pushes took
  std::map<std::string, uint64_t> failures;  // by reason (kPushFailureReasons)
};

struct PushSettings {
  std::string app_name = "loopprof.stalls";
  std::vector<std::pair<std::string, std::string>> labels;  // in the ingest name
  std::chrono::seconds interval{15};
};

// One interval's profile: its time range and how to encode it (run on the
// push thread, so the agent's loop only copies the interval's stalls).
struct PushJob {
  int64_t from_s = 0;
  int64_t until_s = 0;
  std::function<std::string()> encode;
};

// Whether this build's cpp-httplib speaks TLS (https:// URLs).
bool pyroscope_tls_available();

class PyroscopePusher {
 public:
  PyroscopePusher(PyroscopeTarget target, PushSettings settings);
  ~PyroscopePusher();  // aborts a push under way and joins the thread
  PyroscopePusher(const PyroscopePusher&) = delete;
  PyroscopePusher& operator=(const PyroscopePusher&) = delete;

  // Never blocks: hands the job to the push thread.
  void offer(PushJob job);
  // At shutdown: waits up to `timeout` for the offered job to be pushed.
  // False when it was not done by then (the destructor then aborts it).
  bool flush(std::chrono::milliseconds timeout);
  PushStats stats() const;
  const PyroscopeTarget& target() const { return target_; }

 private:
  void run();
  void push(PushJob& job);
  void failed(const std::string& reason, const std::string& detail);
  void succeeded(size_t bytes, double seconds);

  PyroscopeTarget target_;
  PushSettings settings_;
  std::unique_ptr<httplib::Client> client_;

  mutable std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  std::condition_variable idle_;  // no job pending, none being pushed
  std::optional<PushJob> pending_;
  bool pushing_ = false;
  bool stop_ = false;
  PushStats stats_;
  struct LogState {
    std::chrono::steady_clock::time_point last{};
    uint64_t unlogged = 0;
  };
  std::map<std::string, LogState> logged_;  // by failure reason
  bool failing_ = false;                    // the last push failed

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace loopprof::agent
