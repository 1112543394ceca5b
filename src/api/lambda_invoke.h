// The Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations) in AWS's REST-JSON shape,
// so `aws lambda invoke --endpoint-url` and the AWS SDKs work against the admin port.
//
// Every invocation that ran or was throttled is counted in AWS/Lambda's Invocations, Errors,
// Throttles and Duration (metrics::PlatformMetrics::IngestInvocation), as a gateway invocation
// is, so an alarm on a function's Errors also sees the errors of calls made through this API.
//
// Control loop thread, like the rest of the admin API: Handle runs there and resumes there after
// the invocation, and an `Event` invocation's result is posted back there before it is counted.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "api/http_types.h"
#include "common/clock.h"
#include "common/random.h"
#include "deploy/publisher.h"
#include "metrics/platform_metrics.h"
#include "runtime/runtime_service.h"

namespace cutover::api {

class LambdaInvokeHandler final {
 public:
  // `metrics` may be null (metrics off: nothing is counted); with it, `clock` (the daemon's)
  // stamps each invocation's start and must be given too. Both must outlive the handler and the
  // control loop's last run.
  LambdaInvokeHandler(const deploy::Publisher& publisher, runtime::RuntimeService& runtime,
                      std::string region, metrics::PlatformMetrics* metrics = nullptr,
                      const Clock* clock = nullptr);

  // `name` is the path parameter, decoded: a function name or an ARN, optionally ending in
  // ":QUALIFIER"; `qualifier` is the Qualifier query parameter ("" when absent).
  boost::asio::awaitable<Response> Handle(Request& request, std::string name,
                                          std::string qualifier);

 private:
  const deploy::Publisher& publisher_;
  runtime::RuntimeService& runtime_;
  std::string region_;
  metrics::PlatformMetrics* metrics_;  // null: not counted
  const Clock* clock_;
  Random random_;
};

}  // namespace cutover::api
