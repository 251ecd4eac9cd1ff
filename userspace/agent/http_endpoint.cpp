#include "agent/http_endpoint.hpp"

#include <httplib.h>

#include <cerrno>
#include <cstring>

namespace loopprof::agent {

Result<HttpAddress> parse_listen_address(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos)
    return Error::failed("parse --listen '" + text + "'", "no port",
                         "HOST:PORT, e.g. 127.0.0.1:9464 or :9464");
  HttpAddress address;
  address.host = text.substr(0, colon);
  if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']')
    address.host = address.host.substr(1, address.host.size() - 2);
  if (address.host.empty()) address.host = "0.0.0.0";
  try {
    size_t used = 0;
    address.port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || address.port < 0 || address.port > 65535)
      throw std::invalid_argument("port");
  } catch (const std::exception&) {
    return Error::failed("parse --listen '" + text + "'", "the port is not a number 0-65535",
                         "HOST:PORT, e.g. 127.0.0.1:9464");
  }
  return address;
}

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(const HttpAddress& address,
                                                          HttpRoutes routes, std::mutex& state) {
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint());
  endpoint->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *endpoint->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  auto reply = [](httplib::Response& res, const HttpResponse& r) {
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  };
  server.Get("/metrics", [&state, routes, reply](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(state);
    reply(res, routes.metrics());
  });
  server.Get("/debug/pprof/stalls",
             [&state, routes, reply](const httplib::Request& req, httplib::Response& res) {
               int seconds = 30;
               if (req.has_param("seconds")) {
                 try {
                   seconds = std::stoi(req.get_param_value("seconds"));
                 } catch (const std::exception&) {
                   seconds = -1;
                 }
               }
               if (seconds <= 0) {
                 reply(res, {400, "text/plain", "seconds must be a positive integer\n"});
                 return;
               }
               std::lock_guard<std::mutex> lock(state);
               reply(res, routes.stall_profile(seconds));
             });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("loopprof agent\n/metrics\n/debug/pprof/stalls?seconds=N\n", "text/plain");
  });
  int port = address.port == 0
                 ? server.bind_to_any_port(address.host)
                 : (server.bind_to_port(address.host, address.port) ? address.port : -1);
  if (port < 0)
    return Error::failed("listen on " + address.host + ":" + std::to_string(address.port),
                         std::strerror(errno),
                         "is another agent (or exporter) using the port? choose one with --listen");
  endpoint->port_ = port;
  endpoint->thread_ = std::thread([&server] { server.listen_after_bind(); });
  return endpoint;
}

HttpEndpoint::~HttpEndpoint() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace loopprof::agent
