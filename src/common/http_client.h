// A small synchronous HTTP/1.1 client: how the CLI talks to the daemon and the etcd store to etcd.
//
// One request per connection (Connection: close), plain http only, with a connect timeout and an
// overall I/O timeout. Failures are values:
//   - Unavailable: the connection could not be made (refused, unresolvable host, connect timeout);
//     the message is a short lower-case reason ("connection refused") and is the only case the CLI
//     reports as "cannot reach the daemon" (exit 3).
//   - DeadlineExceeded: connected, but the response did not arrive within io_timeout.
//   - Internal: the connection broke or the peer sent something that is not HTTP.
// Any HTTP status, 4xx and 5xx included, is a successful Result; callers interpret it.
//
// Thread-safety: an HttpClient is immutable; Send may be called from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cutover {

// Where the daemon listens, from an `--admin` URL such as "http://127.0.0.1:3001".
struct Endpoint {
  std::string host;  // "127.0.0.1", "localhost", "::1" (IPv6 without brackets)
  uint16_t port = 80;
  std::string base_path;  // "" or "/prefix" without a trailing slash; prepended to every target

  // "http://127.0.0.1:3001" (with the base path, brackets around IPv6 hosts).
  std::string Url() const;
  // True for 127.0.0.0/8, ::1 and "localhost".
  bool IsLoopback() const;
};

// Accepts "http://HOST[:PORT][/PATH]" and, for convenience, "HOST:PORT" (http assumed). The port
// defaults to 80. https, user info, query and fragment are rejected with InvalidArgument.
Result<Endpoint> ParseEndpoint(std::string_view url);

// Percent-encodes everything but RFC 3986 unreserved characters and those in `keep`.
std::string PercentEncode(std::string_view text, std::string_view keep = "");

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with Content-Length when non-empty or when the method is POST/PUT
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header with this name (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds io_timeout{
      60000};  // writing the request and reading the whole response
  uint64_t max_body_bytes = uint64_t{1} << 30;  // larger responses fail with Internal
};

class HttpClient final {
 public:
  explicit HttpClient(Endpoint endpoint, HttpClientOptions options = {});

  // Sends one request on a fresh connection and reads the whole response.
  Result<HttpResponse> Send(const HttpRequest& request) const;

  const Endpoint& endpoint() const { return endpoint_; }
  const HttpClientOptions& options() const { return options_; }

 private:
  Endpoint endpoint_;
  HttpClientOptions options_;
};

}  // namespace cutover
