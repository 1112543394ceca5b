// CodeDeploy's PutLifecycleEventHookExecutionStatus, the way a hook function calls it: an
// X-Amz-Target and an AWS JSON 1.1 body, handed to api::AnswerHookStatus (what the admin server
// answers on "POST /"), whose decoder gives deploymentId, lifecycleEventHookExecutionId and status
// to DeploymentController::ReportHook. The platform has one deployment waiting for its
// pre-traffic hook (platform_fixture.h); the fuzz target prints its ids at start-up.
//
// Input: line 1 is the X-Amz-Target header; the rest is the body.
//
// Invariants: only 200, 400 and 503; errors in AWS JSON 1.1's shape ({"__type", "message"} and
// x-amzn-ErrorType), valid JSON whatever bytes the target and body hold; a 200 echoes the
// execution id, and the same report sent again is refused (CodeDeploy's
// LifecycleEventAlreadyCompletedException). A report that was accepted changes the deployment, so
// the platform is built anew for the next input: every input starts from the same state.
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "api/codedeploy_api.h"
#include "fuzz_util.h"
#include "platform_fixture.h"

namespace cutover::fuzz {
namespace {

std::unique_ptr<Platform>& GetPlatform() {
  static auto* platform = [] {
    auto* p = new std::unique_ptr<Platform>(Platform::Create());
    std::fprintf(stderr, "codedeploy_hook: deploymentId %s, lifecycleEventHookExecutionId %s\n",
                 (*p)->deployment_id().c_str(), (*p)->hook_execution_id().c_str());
    return p;
  }();
  return *platform;
}

}  // namespace
}  // namespace cutover::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cutover::fuzz;
  namespace api = cutover::api;
  std::unique_ptr<Platform>& platform = GetPlatform();
  std::string_view text = AsView(data, size);
  size_t eol = text.find('\n');
  std::string_view target = text.substr(0, eol);
  std::string_view body = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);

  api::Response res = api::AnswerHookStatus(target, body, &platform->controller());
  const unsigned status = res.result_int();
  CUTOVER_FUZZ_CHECK(status == 200 || status == 400 || status == 503, std::to_string(status));
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(res.body(), ec);
  CUTOVER_FUZZ_CHECK(!ec && doc.is_object(), res.body());
  if (status != 200) {
    CUTOVER_FUZZ_CHECK(!res["x-amzn-ErrorType"].empty(), res.body());
    CUTOVER_FUZZ_CHECK(doc.as_object().contains("__type") && doc.as_object().contains("message"),
                       res.body());
    return 0;
  }
  // Accepted: the same report again is refused, and the next input needs a fresh deployment.
  api::Response again = api::AnswerHookStatus(target, body, &platform->controller());
  CUTOVER_FUZZ_CHECK(again.result_int() == 400, again.body());
  CUTOVER_FUZZ_CHECK(again["x-amzn-ErrorType"] == "LifecycleEventAlreadyCompletedException",
                     again.body());
  platform.reset();
  platform = Platform::Create();
  return 0;
}
