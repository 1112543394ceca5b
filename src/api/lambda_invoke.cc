#include "api/lambda_invoke.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <charconv>

#include "common/ids.h"
#include "gateway/async_invoke.h"
#include "gateway/http_util.h"
#include "gateway/server.h"
#include "router/route_table.h"

namespace cutover::api {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

constexpr size_t kSyncPayloadLimit = 6 * 1024 * 1024;
constexpr size_t kAsyncPayloadLimit = 256 * 1024;

Response AwsError(unsigned status, std::string_view type, std::string_view message,
                  std::string_view reason = {}) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set("x-amzn-ErrorType", type);
  // Written with AppendJsonString, not boost::json: messages quote the caller's function name and
  // qualifier, and bytes that are not UTF-8 must not make the body invalid JSON (found by
  // fuzz/lambda_invoke_fuzzer; boost::json::serialize copies them as they are).
  std::string body = "{\"Type\":";
  gateway::AppendJsonString(&body, status >= 500 ? "Service" : "User");
  body += ",\"message\":";
  gateway::AppendJsonString(&body, message);
  if (!reason.empty()) {
    body += ",\"Reason\":";
    gateway::AppendJsonString(&body, reason);
  }
  body += '}';
  res.body() = std::move(body);
  return res;
}

// Splits "NAME", "NAME:QUAL", "arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUAL]".
bool SplitName(const std::string& in, std::string* name, std::string* qualifier) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (true) {
    size_t j = in.find(':', i);
    parts.push_back(in.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  if (parts.size() >= 7 && parts[0] == "arn") {
    if (parts[2] != "lambda" || parts[5] != "function" || parts.size() > 8) return false;
    *name = parts[6];
    if (parts.size() == 8) *qualifier = parts[7];
    return !name->empty();
  }
  if (parts.size() == 1) {
    *name = parts[0];
  } else if (parts.size() == 2) {
    *name = parts[0];
    *qualifier = parts[1];
  } else {
    return false;
  }
  return !name->empty();
}

std::string ErrorDocument(std::string_view type, std::string_view message) {
  boost::json::object o;
  o["errorType"] = type;
  o["errorMessage"] = message;
  return boost::json::serialize(o);
}

}  // namespace

LambdaInvokeHandler::LambdaInvokeHandler(const deploy::Publisher& publisher,
                                         runtime::RuntimeService& runtime, std::string region,
                                         metrics::PlatformMetrics* metrics, const Clock* clock)
    : publisher_(publisher),
      runtime_(runtime),
      region_(std::move(region)),
      metrics_(clock != nullptr ? metrics : nullptr),
      clock_(clock),
      random_(Random::FromEntropy()) {}

asio::awaitable<Response> LambdaInvokeHandler::Handle(Request& req, std::string raw_name,
                                                      std::string qualifier) {
  std::string name, name_qualifier;
  if (!SplitName(raw_name, &name, &name_qualifier)) {
    co_return AwsError(400, "InvalidParameterValueException",
                       fmt::format("invalid function name: {}", raw_name));
  }
  if (!name_qualifier.empty()) {
    if (!qualifier.empty() && qualifier != name_qualifier) {
      co_return AwsError(400, "InvalidParameterValueException",
                         "The derived qualifier from the function name does not match the "
                         "specified qualifier.");
    }
    qualifier = name_qualifier;
  }
  const std::string arn_base =
      fmt::format("arn:aws:lambda:{}:000000000000:function:{}", region_, name);
  const deploy::FunctionState* fn = publisher_.FindFunction(name);
  if (!fn || fn->latest_version() == 0) {
    co_return AwsError(404, "ResourceNotFoundException",
                       fmt::format("Function not found: {}", arn_base));
  }

  // Resolve the qualifier to a version, picking by weight when it names the alias.
  uint32_t version = 0;
  std::string invoked_arn = arn_base;
  // Unqualified calls run $LATEST, as on AWS; cutover has no mutable $LATEST, so that is the newest
  // published version (reported as "$LATEST" in X-Amz-Executed-Version, like AWS does).
  std::string executed;
  if (qualifier.empty() || qualifier == "$LATEST") {
    version = fn->latest_version();
    executed = "$LATEST";
    if (!qualifier.empty()) invoked_arn += ":$LATEST";
  } else if (std::isdigit(static_cast<unsigned char>(qualifier[0]))) {
    auto [ptr, ec] =
        std::from_chars(qualifier.data(), qualifier.data() + qualifier.size(), version);
    if (ec != std::errc() || ptr != qualifier.data() + qualifier.size() ||
        !fn->versions.count(version)) {
      co_return AwsError(404, "ResourceNotFoundException",
                         fmt::format("Function not found: {}:{}", arn_base, qualifier));
    }
    invoked_arn += ":" + qualifier;
  } else if (fn->alias && fn->alias->name == qualifier) {
    version = router::PickVersion(fn->ServingTarget(), random_.Next());
    invoked_arn += ":" + qualifier;
  } else {
    co_return AwsError(404, "ResourceNotFoundException",
                       fmt::format("Function not found: {}:{}", arn_base, qualifier));
  }

  std::string type(req["X-Amz-Invocation-Type"]);
  if (type.empty()) type = "RequestResponse";
  if (type != "RequestResponse" && type != "Event" && type != "DryRun") {
    co_return AwsError(400, "InvalidParameterValueException",
                       fmt::format("invalid X-Amz-Invocation-Type: {}", type));
  }
  if (type == "DryRun") {
    Response res{http::status::no_content, 11};
    co_return res;
  }
  std::string payload = std::move(req.body());
  if (payload.empty()) payload = "{}";
  const size_t limit = type == "Event" ? kAsyncPayloadLimit : kSyncPayloadLimit;
  if (payload.size() > limit) {
    co_return AwsError(413, "RequestTooLargeException",
                       fmt::format("{} byte payload is too large for the {} invocation type (limit "
                                   "{} bytes)",
                                   payload.size(), type, limit));
  }
  boost::system::error_code jec;
  boost::json::parse(payload, jec);
  if (jec) {
    co_return AwsError(400, "InvalidRequestContentException",
                       "Could not parse request body into json: " + jec.message());
  }

  if (executed.empty()) executed = std::to_string(version);
  // `fn` points into the Publisher's catalogue, which a deploy may replace while this call waits:
  // copy what the answer needs now.
  const double timeout_seconds = fn->spec.timeout_seconds;
  fn = nullptr;

  runtime::Invocation inv;
  inv.request_id = NewRequestId(random_);
  inv.payload = std::move(payload);
  inv.invoked_function_arn = invoked_arn;
  std::string request_id = inv.request_id;
  runtime::VersionKey key{name, version};

  // What the metrics need of this call; the outcome is filled in when it ends.
  metrics::InvocationSample sample;
  if (metrics_ != nullptr) {
    sample.function_name = name;
    sample.qualifier = qualifier;
    sample.alias = !qualifier.empty() && qualifier != "$LATEST" &&
                   !std::isdigit(static_cast<unsigned char>(qualifier[0]));
    sample.executed_version = version;
    sample.invoke_start_ms = ToEpochMillis(clock_->Now());
  }

  if (type == "Event") {
    // The runtime calls back on its own thread; PlatformMetrics belongs to the control loop, so
    // the result is counted there.
    auto control = co_await asio::this_coro::executor;
    runtime_.Invoke(
        key, std::move(inv),
        [key, request_id, control, metrics = metrics_,
         sample = std::move(sample)](runtime::InvokeResult r) mutable {
          if (r.outcome != runtime::InvokeOutcome::kSuccess) {
            spdlog::warn("async invocation {} of {}:{} ended {}", request_id, key.function_name,
                         key.version, runtime::InvokeOutcomeName(r.outcome));
          }
          if (metrics == nullptr) return;
          sample.invoke = gateway::InvokeKindOf(r.outcome);
          sample.duration_ms = r.duration_ms;
          asio::post(control,
                     [metrics, sample = std::move(sample)] { metrics->IngestInvocation(sample); });
        });
    Response res{http::status::accepted, 11};
    res.set("x-amzn-RequestId", request_id);
    co_return res;
  }

  // Built in its own statement: GCC 12 double-destroys temporaries inside co_await expressions.
  auto invoke =
      gateway::AsyncInvoke(runtime_, key, std::move(inv), 0, asio::as_tuple(asio::use_awaitable));
  std::tuple<runtime::InvokeResult, bool> outcome = co_await std::move(invoke);
  runtime::InvokeResult& result = std::get<0>(outcome);
  if (metrics_ != nullptr) {
    // Resumed on the control loop (AsyncInvoke posts the result to this coroutine's executor).
    sample.invoke = gateway::InvokeKindOf(result.outcome);
    sample.duration_ms = result.duration_ms;
    metrics_->IngestInvocation(sample);
  }
  Response res{http::status::ok, 11};
  res.set("x-amzn-RequestId", request_id);
  res.set("X-Amz-Executed-Version", executed);
  res.set(http::field::content_type, "application/json");
  auto function_error = [&](std::string_view type, std::string message) {
    res.set("X-Amz-Function-Error", "Unhandled");
    res.body() = result.payload.empty() ? ErrorDocument(type, message) : result.payload;
  };
  switch (result.outcome) {
    case runtime::InvokeOutcome::kSuccess:
      res.body() = std::move(result.payload);
      break;
    case runtime::InvokeOutcome::kFunctionError:
      function_error(result.error_type.empty() ? "Unhandled" : result.error_type,
                     "the function returned an error");
      break;
    case runtime::InvokeOutcome::kTimeout:
      result.payload.clear();
      function_error("Sandbox.Timedout",
                     fmt::format("RequestId: {} Error: Task timed out after {:.2f} seconds",
                                 request_id, timeout_seconds));
      break;
    case runtime::InvokeOutcome::kCrashed:
      // The pool's document, when it has one, says how: "Runtime exited with error: signal:
      // killed", Runtime.OutOfMemory.
      function_error(result.error_type.empty() ? "Runtime.ExitError" : result.error_type,
                     fmt::format("RequestId: {} Error: Runtime exited without providing a reason",
                                 request_id));
      break;
    case runtime::InvokeOutcome::kInitError:
      function_error(result.error_type.empty() ? "Runtime.InitError" : result.error_type,
                     "the function failed to initialise; see its logs");
      break;
    case runtime::InvokeOutcome::kResponseTooLarge:
      result.payload.clear();
      function_error(
          "Function.ResponseSizeTooLarge",
          "Response payload size exceeded maximum allowed payload size (6291556 bytes).");
      break;
    case runtime::InvokeOutcome::kRequestTooLarge:
      co_return AwsError(413, "RequestTooLargeException", "Request payload is too large");
    case runtime::InvokeOutcome::kThrottled:
      co_return AwsError(429, "TooManyRequestsException", "Rate Exceeded.",
                         "ReservedFunctionConcurrentInvocationLimitExceeded");
    case runtime::InvokeOutcome::kNotFound:
      co_return AwsError(404, "ResourceNotFoundException",
                         fmt::format("Function not found: {}:{}", arn_base, version));
  }
  co_return res;
}

}  // namespace cutover::api
