// The agent's HTTP listener (cpp-httplib, its own threads): GET /metrics and
// GET /debug/pprof/stalls?seconds=N. Handlers run under the caller's mutex,
// so they see the agent's state between two of its ticks.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.hpp"

namespace httplib {
class Server;
}

namespace loopprof::agent {

struct HttpAddress {
  std::string host;
  int port = 0;
};
// "127.0.0.1:9464", ":9464" (every address), "[::1]:9464".
Result<HttpAddress> parse_listen_address(const std::string& text);

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
};

struct HttpRoutes {
  std::function<HttpResponse()> metrics;
  std::function<HttpResponse(int seconds)> stall_profile;
};

class HttpEndpoint {
 public:
  static Result<std::unique_ptr<HttpEndpoint>> start(const HttpAddress& address, HttpRoutes routes,
                                                     std::mutex& state);
  ~HttpEndpoint();  // stops the listener and joins its thread
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;
  int port() const { return port_; }

 private:
  HttpEndpoint() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace loopprof::agent
