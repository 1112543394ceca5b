// AdminClient: the admin API (docs/API.md) as the CLI's commands see it.
//
// Wraps HttpClient with what every call shares: the `--admin` URL, the bearer token from
// $CUTOVER_TOKEN, turning a failed connection into the "cannot reach the daemon ... Start it with:
// ..." message, and turning the daemon's error documents into a Status:
//   - `{"code": "NotFound", "message": "..."}` (the /v1 shape) keeps the daemon's code;
//   - `{"Type": "User", "message": "..."}` + `x-amzn-ErrorType` (the Lambda shape) maps by HTTP
//   status;
//   - anything else maps by HTTP status with the start of the body as the message.
// kUnavailable is reserved for "the connection could not be made" (exit 3). A daemon that answers
// 503 is up, so its Unavailable errors come back as kInternal (exit 1) with the daemon's message.
//
// Thread-safety: immutable after Create; calls may run concurrently.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/http_client.h"
#include "common/status.h"

namespace cutover::cli {

inline constexpr std::string_view kDefaultAdminUrl = "http://127.0.0.1:3001";

class AdminClient final {
 public:
  // `url` is the `--admin` value; `token` (from $CUTOVER_TOKEN) is sent as "Authorization: Bearer
  // TOKEN" when non-empty. `service_dir` only feeds the "Start it with: cutover serve --dir ..."
  // hint. Fails with InvalidArgument for a malformed URL.
  static Result<AdminClient> Create(std::string_view url, std::optional<std::string> token,
                                    std::string service_dir = "<service dir>");

  // Sends a request as is (plus the Authorization header). Any HTTP status is a success here; a
  // connection that cannot be made is Unavailable with the full two-line message. `io_timeout`
  // overrides the default of 60 s (invocations and uploads take longer).
  Result<HttpResponse> Send(HttpRequest request,
                            std::optional<std::chrono::milliseconds> io_timeout = {}) const;

  // A JSON call to a /v1 endpoint: a 2xx answer gives the parsed body (null when empty), anything
  // else the error Status described above.
  Result<boost::json::value> Call(std::string_view method, std::string target,
                                  const boost::json::value* body = nullptr) const;

  const Endpoint& endpoint() const { return client_.endpoint(); }
  // The bearer token, for connections that do not go through Send (the event stream).
  const std::optional<std::string>& token() const { return token_; }

 private:
  AdminClient(Endpoint endpoint, std::optional<std::string> token, std::string service_dir);

  HttpClient client_;
  std::optional<std::string> token_;
  std::string service_dir_;
};

// The Status for a non-2xx response (see the file comment). REQUIRES: response.status outside 2xx.
Status ErrorFromResponse(const HttpResponse& response);

// The message printed when the daemon cannot be reached: "cannot reach the daemon at URL
// (REASON).\n Start it with: cutover serve --dir DIR [--admin-port P] [--admin-host H]".
std::string UnreachableMessage(const Endpoint& endpoint, std::string_view reason,
                               std::string_view service_dir);

}  // namespace cutover::cli
