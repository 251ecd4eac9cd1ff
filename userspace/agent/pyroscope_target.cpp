#include "agent/pyroscope_target.hpp"

#include <fmt/format.h>

#include <cctype>

namespace loopprof::agent {

namespace {

constexpr std::string_view kExample = "e.g. --pyroscope http://pyroscope.internal:4040";

// The URL without what precedes an '@' in its authority (a password).
std::string redacted(std::string_view url) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + "***" + std::string(url.substr(at));
}

Error bad_url(std::string_view url, const std::string& reason) {
  return Error::failed(fmt::format("use --pyroscope '{}'", redacted(url)), reason,
                       std::string(kExample));
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == '/';
}

}  // namespace

std::string PyroscopeTarget::origin() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port);
}

std::string PyroscopeTarget::ingest_url() const {
  return origin() + path + "/ingest";
}

Result<PyroscopeTarget> parse_pyroscope_url(std::string_view url, bool tls) {
  PyroscopeTarget target;
  std::string_view rest;
  if (starts_with_nocase(url, "http://")) {
    target.scheme = "http";
    target.port = 80;
    rest = url.substr(7);
  } else if (starts_with_nocase(url, "https://")) {
    if (!tls)
      return bad_url(url, "https is not available: this build's cpp-httplib has no TLS support");
    target.scheme = "https";
    target.port = 443;
    rest = url.substr(8);
  } else {
    return bad_url(url, tls ? "the URL must start with http:// or https://"
                            : "the URL must start with http://");
  }
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos)
    return bad_url(url,
                   "credentials in the URL are not supported (the process list would show them)");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(url, "no ']' after the IPv6 address");
    target.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(url, "unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return bad_url(url, "empty port");
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':', colon + 1) != std::string_view::npos)
        return bad_url(url, "an IPv6 address must be in brackets: http://[::1]:4040");
      port = authority.substr(colon + 1);
      if (port.empty()) return bad_url(url, "empty port");
      authority = authority.substr(0, colon);
    }
    target.host = std::string(authority);
  }
  if (target.host.empty()) return bad_url(url, "no host");
  if (!port.empty()) {
    if (!all_digits(port) || port.size() > 5 || std::stoi(std::string(port)) < 1 ||
        std::stoi(std::string(port)) > 65535)
      return bad_url(url, "the port is not a number 1-65535");
    target.port = std::stoi(std::string(port));
  }
  if (path.find_first_of("?#") != std::string_view::npos)
    return bad_url(url, "no query or fragment: loopprof adds the query of /ingest itself");
  std::string prefix(path);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  // The full ingest URL, as copied from Pyroscope's documentation, names the same server.
  constexpr std::string_view kIngest = "/ingest";
  if (prefix.size() >= kIngest.size() &&
      prefix.compare(prefix.size() - kIngest.size(), kIngest.size(), kIngest) == 0)
    prefix.resize(prefix.size() - kIngest.size());
  for (char c : prefix)
    if (c == ' ' || !std::isprint(static_cast<unsigned char>(c)))
      return bad_url(url, "the path has spaces or control characters");
  target.path = std::move(prefix);
  return target;
}

Status check_pyroscope_app_name(std::string_view name) {
  if (name.empty())
    return Error::failed("use --pyroscope-app-name ''", "the name is empty",
                         "e.g. --pyroscope-app-name loopprof.stalls");
  for (char c : name)
    if (!is_name_char(c))
      return Error::failed(fmt::format("use --pyroscope-app-name '{}'", name),
                           fmt::format("Pyroscope does not allow '{}' in a name", c),
                           "use letters, digits and . _ - / only");
  return ok_status();
}

std::string pyroscope_label_value(std::string_view value) {
  std::string out(value);
  for (char& c : out)
    if (!is_name_char(c) && c != ':') c = '_';
  return out;
}

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~')
      out += c;
    else
      out += fmt::format("%{:02X}", u);
  }
  return out;
}

std::string ingest_name(const IngestRequest& request) {
  std::string name = request.app_name + "{";
  for (size_t i = 0; i < request.labels.size(); ++i) {
    if (i > 0) name += ',';
    name += request.labels[i].first + "=" + pyroscope_label_value(request.labels[i].second);
  }
  return name + "}";
}

std::string ingest_path(const PyroscopeTarget& target, const IngestRequest& request) {
  return fmt::format("{}/ingest?name={}&from={}&until={}&spyName=loopprof&format=pprof",
                     target.path, percent_encode(ingest_name(request)), request.from_s,
                     request.until_s);
}

}  // namespace loopprof::agent
