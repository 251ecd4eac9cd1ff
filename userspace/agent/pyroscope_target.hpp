// Where `--pyroscope URL` pushes: the server's address, checked at start-up,
// and the request line of one push to its HTTP ingest API
// (POST URL/ingest?name=APP{labels}&from=S&until=S&spyName=loopprof&format=pprof,
// the body a gzip pprof profile). Pure functions: no network here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace loopprof::agent {

struct PyroscopeTarget {
  std::string scheme;  // "http" (or "https" when cpp-httplib has TLS)
  std::string host;    // a name, an IPv4 address or an IPv6 address (no brackets)
  int port = 0;
  std::string path;  // prefix before /ingest: "" or "/pyroscope" (no trailing slash)

  // "http://host:port" (IPv6 in brackets): what httplib::Client takes.
  std::string origin() const;
  // origin() + path + "/ingest": for log lines.
  std::string ingest_url() const;
};

// http://HOST[:PORT][/PREFIX]. No credentials in the URL (they would show in
// the process list), no query or fragment. https only when `tls` (cpp-httplib
// built with OpenSSL).
Result<PyroscopeTarget> parse_pyroscope_url(std::string_view url, bool tls);

// Pyroscope's application names: letters, digits and . _ - / only.
Status check_pyroscope_app_name(std::string_view name);

// A label value Pyroscope's name parser keeps as it is: characters other than
// letters, digits and . _ - / : become '_'.
std::string pyroscope_label_value(std::string_view value);

// Percent-encoding of a query parameter value (RFC 3986: all but unreserved).
std::string percent_encode(std::string_view text);

struct IngestRequest {
  std::string app_name;
  std::vector<std::pair<std::string, std::string>> labels;  // in the name: APP{k=v,...}
  int64_t from_s = 0;                                       // unix seconds
  int64_t until_s = 0;
};
// "APP{k=v,k2=v2}" (values through pyroscope_label_value).
std::string ingest_name(const IngestRequest& request);
// The path and query of the POST: PREFIX/ingest?name=...&from=...&until=...
// &spyName=loopprof&format=pprof.
std::string ingest_path(const PyroscopeTarget& target, const IngestRequest& request);

}  // namespace loopprof::agent
