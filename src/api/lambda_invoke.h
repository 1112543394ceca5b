// The Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations) in AWS's REST-JSON shape,
// so `aws lambda invoke --endpoint-url` and the AWS SDKs work against the admin port.
//
// Control loop thread, like the rest of the admin API.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "api/http_types.h"
#include "common/random.h"
#include "deploy/publisher.h"
#include "runtime/runtime_service.h"

namespace cutover::api {

class LambdaInvokeHandler final {
 public:
  LambdaInvokeHandler(const deploy::Publisher& publisher, runtime::RuntimeService& runtime,
                      std::string region);

  // `name` is the path parameter, decoded: a function name or an ARN, optionally ending in
  // ":QUALIFIER"; `qualifier` is the Qualifier query parameter ("" when absent).
  boost::asio::awaitable<Response> Handle(Request& request, std::string name,
                                          std::string qualifier);

 private:
  const deploy::Publisher& publisher_;
  runtime::RuntimeService& runtime_;
  std::string region_;
  Random random_;
};

}  // namespace cutover::api
