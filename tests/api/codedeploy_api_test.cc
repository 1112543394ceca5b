// The CodeDeploy hook callback's decoding and error shape (api/codedeploy_api.h), without a
// socket. The accepted path, a report reaching a waiting deployment, is hooks_test's and the
// codedeploy_hook fuzz target's.
#include "api/codedeploy_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <variant>

namespace cutover::api {
namespace {

namespace json = boost::json;

AwsJsonError ErrorOf(std::string_view target, std::string_view body) {
  auto decoded = DecodeHookStatusRequest(target, body);
  EXPECT_TRUE(std::holds_alternative<AwsJsonError>(decoded)) << body;
  return std::holds_alternative<AwsJsonError>(decoded) ? std::get<AwsJsonError>(decoded)
                                                       : AwsJsonError{};
}

TEST(CodeDeployApiTest, DecodesTheThreeFields) {
  auto decoded = DecodeHookStatusRequest(
      kPutHookStatusTarget,
      R"({"deploymentId":"d-ABC","lifecycleEventHookExecutionId":"e-1","status":"Succeeded"})");
  ASSERT_TRUE(std::holds_alternative<HookStatusRequest>(decoded));
  const auto& req = std::get<HookStatusRequest>(decoded);
  EXPECT_EQ(req.deployment_id, "d-ABC");
  EXPECT_EQ(req.execution_id, "e-1");
  EXPECT_EQ(req.status, "Succeeded");
}

TEST(CodeDeployApiTest, MissingOrNonStringFieldsAreEmptyForTheControllerToRefuse) {
  auto decoded = DecodeHookStatusRequest(kPutHookStatusTarget,
                                         R"({"deploymentId":7,"status":["Succeeded"]})");
  ASSERT_TRUE(std::holds_alternative<HookStatusRequest>(decoded));
  const auto& req = std::get<HookStatusRequest>(decoded);
  EXPECT_EQ(req.deployment_id, "");
  EXPECT_EQ(req.execution_id, "");
  EXPECT_EQ(req.status, "");
}

TEST(CodeDeployApiTest, OtherOperationsAreUnknown) {
  AwsJsonError e = ErrorOf("CodeDeploy_20141006.CreateDeployment", "{}");
  EXPECT_EQ(e.http_status, 400u);
  EXPECT_EQ(e.type, "UnknownOperationException");
  EXPECT_NE(e.message.find("CreateDeployment"), std::string::npos);
  EXPECT_EQ(ErrorOf("", "{}").type, "UnknownOperationException");
}

TEST(CodeDeployApiTest, BodiesThatAreNotJsonObjectsAreSerializationErrors) {
  for (std::string_view body : {"", "[]", "\"x\"", "{", "{\"deploymentId\":}", "null"}) {
    EXPECT_EQ(ErrorOf(kPutHookStatusTarget, body).type, "SerializationException") << body;
  }
}

TEST(CodeDeployApiTest, ErrorsAreAwsJson11WithTheTypeInHeaderAndBody) {
  Response res = AnswerHookStatus("Nope", "{}", nullptr);
  EXPECT_EQ(res.result_int(), 400u);
  EXPECT_EQ(res["x-amzn-ErrorType"], "UnknownOperationException");
  EXPECT_EQ(res[boost::beast::http::field::content_type], "application/x-amz-json-1.1");
  json::value doc = json::parse(res.body());
  EXPECT_EQ(doc.at("__type").as_string(), "UnknownOperationException");
  EXPECT_NE(doc.at("message").as_string().find("'Nope'"), json::string::npos);
}

TEST(CodeDeployApiTest, WithDeploymentsOffAValidReportFindsNoDeployment) {
  Response res = AnswerHookStatus(
      kPutHookStatusTarget,
      R"({"deploymentId":"d-ABC","lifecycleEventHookExecutionId":"e-1","status":"Succeeded"})",
      nullptr);
  EXPECT_EQ(res.result_int(), 400u);
  EXPECT_EQ(res["x-amzn-ErrorType"], "DeploymentDoesNotExistException");
}

// Found by fuzz/codedeploy_hook_fuzzer (corpus input known_target_not_utf8): the message quotes the
// X-Amz-Target header, whose bytes need not be UTF-8; the body must stay valid JSON all the same.
TEST(CodeDeployApiTest, ATargetThatIsNotUtf8StillGivesAJsonBody) {
  const std::string target = "CodeDeploy_20141006.Put\xff\xfe\x80Status";
  Response res = AnswerHookStatus(target, "{}", nullptr);
  EXPECT_EQ(res.result_int(), 400u);
  boost::system::error_code ec;
  json::value doc = json::parse(res.body(), ec);
  ASSERT_FALSE(ec) << res.body();
  EXPECT_NE(doc.at("message").as_string().find("\xEF\xBF\xBD"), json::string::npos);
}

}  // namespace
}  // namespace cutover::api
