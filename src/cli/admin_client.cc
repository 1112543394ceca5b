#include "cli/admin_client.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <utility>

#include "cli/json_fields.h"

namespace cutover::cli {
namespace {

std::optional<StatusCode> CodeFromName(std::string_view name) {
  static constexpr std::pair<std::string_view, StatusCode> kCodes[] = {
      {"InvalidArgument", StatusCode::kInvalidArgument},
      {"NotFound", StatusCode::kNotFound},
      {"AlreadyExists", StatusCode::kAlreadyExists},
      {"FailedPrecondition", StatusCode::kFailedPrecondition},
      {"ResourceExhausted", StatusCode::kResourceExhausted},
      {"TooLarge", StatusCode::kTooLarge},
      {"DeadlineExceeded", StatusCode::kDeadlineExceeded},
      {"Unavailable", StatusCode::kUnavailable},
      {"Internal", StatusCode::kInternal},
      {"Unauthenticated", StatusCode::kUnauthenticated},
      {"PermissionDenied", StatusCode::kPermissionDenied},
  };
  for (const auto& [n, code] : kCodes) {
    if (n == name) return code;
  }
  return std::nullopt;
}

StatusCode CodeFromHttp(int status) {
  switch (status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kFailedPrecondition;
    case 413:
      return StatusCode::kTooLarge;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 429:
      return StatusCode::kResourceExhausted;
    case 504:
      return StatusCode::kDeadlineExceeded;
    default:
      return StatusCode::kInternal;
  }
}

// See the file comment in admin_client.h: exit 3 means "no connection", never "the daemon said
// 503".
Status Demote(Status status) {
  if (status.code() != StatusCode::kUnavailable) return status;
  return Status(StatusCode::kInternal, status.message());
}

}  // namespace

Status ErrorFromResponse(const HttpResponse& response) {
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(response.body, ec);
  // docs/API.md's shape is flat; {"error": {"code", "message"}} is accepted too.
  const boost::json::object& nested = GetObject(AsObject(body), {"error"});
  const boost::json::object& object = nested.empty() ? AsObject(body) : nested;
  if (!ec && object.contains("code") && object.contains("message")) {
    const std::string name = GetString(object, {"code"});
    const std::string message = GetString(object, {"message"});
    std::optional<StatusCode> code = CodeFromName(name);
    return Demote(Status(code.value_or(CodeFromHttp(response.status)),
                         fmt::format("{} ({})", message, name)));
  }
  const std::string* aws_type = response.Header("x-amzn-ErrorType");
  if (!ec && (aws_type != nullptr || object.contains("Type"))) {
    std::string type = aws_type != nullptr ? *aws_type : GetString(object, {"Type"});
    // x-amzn-ErrorType may carry a suffix:
    // "ResourceNotFoundException:http://internal.amazon.com/...".
    if (size_t colon = type.find(':'); colon != std::string::npos) type.resize(colon);
    const std::string message = GetString(object, {"message", "Message"});
    return Demote(Status(CodeFromHttp(response.status), fmt::format("{}: {}", type, message)));
  }
  if (response.status == 401) {
    return Status(StatusCode::kFailedPrecondition,
                  "the daemon requires a token: set CUTOVER_TOKEN (HTTP 401)");
  }
  std::string snippet = response.body.substr(0, 200);
  while (!snippet.empty() && (snippet.back() == '\n' || snippet.back() == '\r')) snippet.pop_back();
  return Status(CodeFromHttp(response.status),
                snippet.empty()
                    ? fmt::format("the daemon answered HTTP {}", response.status)
                    : fmt::format("the daemon answered HTTP {}: {}", response.status, snippet));
}

std::string UnreachableMessage(const Endpoint& endpoint, std::string_view reason,
                               std::string_view service_dir) {
  std::string command = fmt::format("cutover serve --dir {}", service_dir);
  if (endpoint.port != 3001) command += fmt::format(" --admin-port {}", endpoint.port);
  if (endpoint.host != "127.0.0.1" && endpoint.host != "localhost") {
    command += fmt::format(" --admin-host {}", endpoint.host);
  }
  return fmt::format("cannot reach the daemon at {} ({}).\nStart it with: {}", endpoint.Url(),
                     reason, command);
}

AdminClient::AdminClient(Endpoint endpoint, std::optional<std::string> token,
                         std::string service_dir)
    : client_(std::move(endpoint)),
      token_(std::move(token)),
      service_dir_(std::move(service_dir)) {}

Result<AdminClient> AdminClient::Create(std::string_view url, std::optional<std::string> token,
                                        std::string service_dir) {
  Result<Endpoint> endpoint = ParseEndpoint(url);
  if (!endpoint.ok()) {
    return InvalidArgument(fmt::format("--admin: {}", endpoint.status().message()));
  }
  if (token.has_value() && token->empty()) token.reset();
  return AdminClient(std::move(endpoint).value(), std::move(token), std::move(service_dir));
}

Result<HttpResponse> AdminClient::Send(HttpRequest request,
                                       std::optional<std::chrono::milliseconds> io_timeout) const {
  if (token_.has_value()) request.headers.emplace_back("Authorization", "Bearer " + *token_);
  Result<HttpResponse> response = [&] {
    if (!io_timeout.has_value()) return client_.Send(request);
    HttpClientOptions options = client_.options();
    options.io_timeout = *io_timeout;
    return HttpClient(client_.endpoint(), options).Send(request);
  }();
  if (!response.ok() && response.status().code() == StatusCode::kUnavailable) {
    return Unavailable(
        UnreachableMessage(client_.endpoint(), response.status().message(), service_dir_));
  }
  return response;
}

Result<boost::json::value> AdminClient::Call(std::string_view method, std::string target,
                                             const boost::json::value* body) const {
  HttpRequest request;
  request.method = std::string(method);
  request.target = target;
  request.headers.emplace_back("Accept", "application/json");
  if (body != nullptr) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = boost::json::serialize(*body);
  }
  CUTOVER_ASSIGN_OR_RETURN(HttpResponse response, Send(std::move(request)));
  if (response.status < 200 || response.status >= 300) return ErrorFromResponse(response);
  if (response.body.empty()) return boost::json::value();
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(response.body, ec);
  if (ec) {
    return Internal(fmt::format("the daemon sent a body that is not JSON for {} {}: {}", method,
                                target, ec.message()));
  }
  return value;
}

}  // namespace cutover::cli
