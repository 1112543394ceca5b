// CodeDeploy's PutLifecycleEventHookExecutionStatus as the admin port answers it on "POST /"
// (AWS JSON 1.1), so that hook code written for AWS (codedeploy.putLifecycleEventHookExecution
// Status) works unmodified with AWS_ENDPOINT_URL_CODEDEPLOY pointing at cutover.
//
// Kept apart from the admin server's connection handling so that the decoding can be tested and
// fuzzed without a socket (fuzz/codedeploy_hook_fuzzer.cc). Control loop thread, like the
// DeploymentController it reports to.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "api/http_types.h"

namespace cutover::deploy {
class DeploymentController;
}

namespace cutover::api {

inline constexpr std::string_view kPutHookStatusTarget =
    "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus";

// The three fields of a hook's report, "" when absent or not a string: the controller refuses
// those with CodeDeploy's own exceptions (DeploymentIdRequiredException, ...).
struct HookStatusRequest {
  std::string deployment_id;
  std::string execution_id;
  std::string status;
};

// An error in AWS JSON 1.1's shape: the HTTP status, the exception name (the body's `__type` and
// the x-amzn-ErrorType header) and the message.
struct AwsJsonError {
  unsigned http_status = 400;
  std::string type;
  std::string message;
};

// UnknownOperationException for any X-Amz-Target but kPutHookStatusTarget (the message quotes
// it), SerializationException for a body that is not a JSON object.
std::variant<HookStatusRequest, AwsJsonError> DecodeHookStatusRequest(std::string_view target,
                                                                      std::string_view body);

// The whole exchange: decode, report to `deployments` (nullptr when deployments are off), answer
// 200 with the execution id, or 400 / 503 (the store failed) in AWS's error shape.
Response AnswerHookStatus(std::string_view target, std::string_view body,
                          deploy::DeploymentController* deployments);

// The error as an AWS JSON 1.1 response. Written so that bytes which are not UTF-8 (a caller's
// X-Amz-Target, quoted in a message) become U+FFFD instead of making the body invalid JSON.
Response AwsJsonErrorResponse(const AwsJsonError& error);

}  // namespace cutover::api
