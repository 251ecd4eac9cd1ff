#include "agent/pyroscope_pusher.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>

namespace loopprof::agent {

namespace {

constexpr auto kLogEvery = std::chrono::seconds(60);

const char* failure_reason(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::BindIPAddress:
      return "connect";
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::Read:
    case httplib::Error::Write:
      return "timeout";
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return "tls";
    default:
      return "other";
  }
}

}  // namespace

bool pyroscope_tls_available() {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  return true;
#else
  return false;
#endif
}

PyroscopePusher::PyroscopePusher(PyroscopeTarget target, PushSettings settings)
    : target_(std::move(target)), settings_(std::move(settings)) {
  client_ = std::make_unique<httplib::Client>(target_.origin());
  // Short timeouts, at most one interval: a slow server costs pushes, never memory.
  auto seconds = static_cast<time_t>(settings_.interval.count());
  client_->set_connection_timeout(std::clamp<time_t>(seconds, 1, 3), 0);
  client_->set_read_timeout(std::clamp<time_t>(seconds, 1, 10), 0);
  client_->set_write_timeout(std::clamp<time_t>(seconds, 1, 10), 0);
  client_->set_keep_alive(false);
  for (const char* reason : kPushFailureReasons) stats_.failures[reason] = 0;
  thread_ = std::thread([this] { run(); });
}

PyroscopePusher::~PyroscopePusher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  client_->stop();  // shuts down the socket of a push under way
  if (thread_.joinable()) thread_.join();
}

void PyroscopePusher::offer(PushJob job) {
  bool overrun = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    overrun = pending_.has_value();
    pending_ = std::move(job);
  }
  if (overrun)
    failed("overrun", "the previous profile was still waiting for a push under way; dropped it");
  wake_.notify_one();
}

PushStats PyroscopePusher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void PyroscopePusher::run() {
  for (;;) {
    PushJob job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || pending_.has_value(); });
      if (stop_) return;
      job = std::move(*pending_);
      pending_.reset();
      pushing_ = true;
    }
    push(job);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pushing_ = false;
    }
    idle_.notify_all();
  }
}

bool PyroscopePusher::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return !pending_ && !pushing_; });
}

void PyroscopePusher::push(PushJob& job) {
  std::string body = job.encode();
  IngestRequest request{.app_name = settings_.app_name,
                        .labels = settings_.labels,
                        .from_s = job.from_s,
                        .until_s = job.until_s};
  std::string path = ingest_path(target_, request);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return;
  }
  httplib::Headers headers = {{"User-Agent", "loopprof-agent"}};
  auto started = std::chrono::steady_clock::now();
  httplib::Result result = client_->Post(path.c_str(), headers, body, "application/octet-stream");
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return;  // aborted by the destructor: no failure to report
  }
  if (!result) {
    failed(failure_reason(result.error()), httplib::to_string(result.error()));
  } else if (result->status < 200 || result->status > 299) {
    std::string answer = result->body.substr(0, 200);
    std::replace(answer.begin(), answer.end(), '\n', ' ');
    failed("status", fmt::format("HTTP {}: {}", result->status, answer));
  } else {
    succeeded(body.size(), seconds);
  }
}

void PyroscopePusher::failed(const std::string& reason, const std::string& detail) {
  auto now = std::chrono::steady_clock::now();
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.failures[reason];
    failing_ = true;
    LogState& log = logged_[reason];
    bool first = log.last == std::chrono::steady_clock::time_point{};
    if (!first && now - log.last < kLogEvery) {
      ++log.unlogged;
      return;
    }
    line = fmt::format(
        "loopprof: warning: failed to push the stall profile to {}: {} ({}){}; the profile is "
        "dropped, loopprof_agent_pyroscope_push_failures_total{{reason=\"{}\"}} counts them\n",
        target_.ingest_url(), detail, reason,
        log.unlogged > 0 ? fmt::format("; {} more since the last such line", log.unlogged) : "",
        reason);
    log.last = now;
    log.unlogged = 0;
  }
  std::fputs(line.c_str(), stderr);
}

void PyroscopePusher::succeeded(size_t bytes, double seconds) {
  bool recovered = false, first = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.pushes;
    stats_.bytes += bytes;
    stats_.seconds += seconds;
    recovered = failing_;
    failing_ = false;
    first = stats_.pushes == 1;
  }
  if (first || recovered)
    fmt::print(stderr, "loopprof: {} {} ({} bytes in {:.1f} ms)\n",
               first ? "pushed the first stall profile to" : "pushing works again to",
               target_.ingest_url(), bytes, seconds * 1e3);
}

}  // namespace loopprof::agent
