#include "api/codedeploy_api.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "deploy/controller.h"
#include "gateway/http_util.h"

namespace cutover::api {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view kContentType = "application/x-amz-json-1.1";

}  // namespace

std::variant<HookStatusRequest, AwsJsonError> DecodeHookStatusRequest(std::string_view target,
                                                                      std::string_view body) {
  if (target != kPutHookStatusTarget) {
    return AwsJsonError{400, "UnknownOperationException",
                        fmt::format("cutover does not implement the operation '{}'", target)};
  }
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    return AwsJsonError{400, "SerializationException", "the request body is not a JSON object"};
  }
  const json::object& fields = doc.get_object();
  auto field = [&](std::string_view key) {
    const json::value* v = fields.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  return HookStatusRequest{field("deploymentId"), field("lifecycleEventHookExecutionId"),
                           field("status")};
}

Response AnswerHookStatus(std::string_view target, std::string_view body,
                          deploy::DeploymentController* deployments) {
  auto decoded = DecodeHookStatusRequest(target, body);
  if (auto* error = std::get_if<AwsJsonError>(&decoded)) return AwsJsonErrorResponse(*error);
  const auto& request = std::get<HookStatusRequest>(decoded);
  if (deployments == nullptr) {
    return AwsJsonErrorResponse({400, "DeploymentDoesNotExistException", "deployments are off"});
  }
  deploy::HookReport report =
      deployments->ReportHook(request.deployment_id, request.execution_id, request.status);
  if (report.error != deploy::HookReportError::kNone) {
    const unsigned status = report.error == deploy::HookReportError::kStore ? 503 : 400;
    return AwsJsonErrorResponse(
        {status, std::string(deploy::HookReportErrorName(report.error)), report.message});
  }
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, kContentType);
  std::string out = "{\"lifecycleEventHookExecutionId\":";
  gateway::AppendJsonString(&out, request.execution_id);
  out += '}';
  res.body() = std::move(out);
  return res;
}

Response AwsJsonErrorResponse(const AwsJsonError& error) {
  Response res{static_cast<http::status>(error.http_status), 11};
  res.set(http::field::content_type, kContentType);
  res.set("x-amzn-ErrorType", error.type);
  std::string body = "{\"__type\":";
  gateway::AppendJsonString(&body, error.type);
  body += ",\"message\":";
  gateway::AppendJsonString(&body, error.message);
  body += '}';
  res.body() = std::move(body);
  return res;
}

}  // namespace cutover::api
