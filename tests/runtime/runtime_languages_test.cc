// Python (cutover's bootstrap) and Node.js (the npm aws-lambda-ric) handlers through the Runtime
// API.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "runtime/runtime_service.h"
#include "runtime_fixture.h"

namespace cutover::runtime {
namespace {

using testing::RuntimeFixture;

class RuntimeLanguagesTest : public RuntimeFixture {
 protected:
  // The npm package is installed by `make deps` (scripts/install-deps), not checked in.
  static bool RicInstalled() {
    return std::filesystem::exists(std::filesystem::path(CUTOVER_SOURCE_DIR) /
                                   "third_party/node/node_modules/aws-lambda-ric/bin/index.mjs");
  }
};

#define SKIP_WITHOUT_RIC() \
  if (!RicInstalled()) GTEST_SKIP() << "aws-lambda-ric is not installed: run `make deps`"

boost::json::object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return v.as_object();
}

TEST_F(RuntimeLanguagesTest, PythonHandlerGetsEventAndContext) {
  Start();
  InstanceConfig config = Config("py", 2, TaskRoot("python"), RuntimeFamily::kPython);
  config.handler = "app.handler";
  config.memory_mb = 512;
  service().Register(config);
  InvokeResult r = Invoke({"py", 2}, R"({"hello":"python"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload << Logs("py");
  EXPECT_GT(r.init_duration_ms, 0);
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["event"].as_object()["hello"].as_string(), "python");
  EXPECT_EQ(o["function_name"].as_string(), "py");
  EXPECT_EQ(o["function_version"].as_string(), "2");
  EXPECT_EQ(o["memory_limit_in_mb"].as_string(), "512");
  EXPECT_EQ(o["log_group_name"].as_string(), "/aws/lambda/py");
  EXPECT_EQ(o["invoked_function_arn"].as_string(),
            "arn:aws:lambda:us-east-1:000000000000:function:py:2");
  EXPECT_EQ(o["execution_env"].as_string(), "AWS_Lambda_python3.11");
  EXPECT_GT(o["remaining_ms"].to_number<int64_t>(), 5000);
  EXPECT_LE(o["remaining_ms"].to_number<int64_t>(), 10000);
  EXPECT_EQ(o["request_id"].as_string().size(), 36u);
  EXPECT_TRUE(o["trace_id"].is_string());
  // Warm, and its output is in the logs.
  InvokeResult warm = Invoke({"py", 2}, R"({"n":2})");
  EXPECT_EQ(warm.outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(warm.init_duration_ms, 0);
  EXPECT_TRUE(LogsContain("py", "app module loaded"));
  EXPECT_TRUE(LogsContain("py", "python handling ", 2));
}

TEST_F(RuntimeLanguagesTest, PythonExceptionIsAFunctionError) {
  Start();
  InstanceConfig config = Config("pyerr", 1, TaskRoot("python"), RuntimeFamily::kPython);
  config.handler = "app.handler";
  service().Register(config);
  InvokeResult r = Invoke({"pyerr", 1}, R"({"action":"fail"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kFunctionError) << r.payload;
  EXPECT_EQ(r.error_type, "Unhandled");
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["errorType"].as_string(), "ValueError");
  EXPECT_EQ(o["errorMessage"].as_string(), "python boom");
  ASSERT_TRUE(o["stackTrace"].is_array());
  EXPECT_FALSE(o["stackTrace"].as_array().empty());
  EXPECT_TRUE(LogsContain("pyerr", "[ERROR] ValueError: python boom"));
  EXPECT_EQ(Invoke({"pyerr", 1}, "{}").outcome, InvokeOutcome::kSuccess);
}

TEST_F(RuntimeLanguagesTest, PythonUnserializableResultIsAMarshalError) {
  Start();
  InstanceConfig config = Config("pymarshal", 1, TaskRoot("python"), RuntimeFamily::kPython);
  config.handler = "app.handler";
  service().Register(config);
  InvokeResult r = Invoke({"pymarshal", 1}, R"({"action":"unserializable"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kFunctionError) << r.payload;
  EXPECT_NE(r.payload.find("Runtime.MarshalError"), std::string::npos) << r.payload;
}

TEST_F(RuntimeLanguagesTest, PythonImportFailureIsAnInitError) {
  Start();
  InstanceConfig config = Config("pybroken", 1, TaskRoot("python"), RuntimeFamily::kPython);
  config.handler = "broken.handler";
  service().Register(config);
  InvokeResult r = Invoke({"pybroken", 1}, "{}");
  ASSERT_EQ(r.outcome, InvokeOutcome::kInitError) << r.payload;
  EXPECT_EQ(r.error_type, "Runtime.ImportModuleError");
  EXPECT_NE(r.payload.find("Unable to import module 'broken'"), std::string::npos) << r.payload;
  EXPECT_TRUE(LogsContain("pybroken", "Runtime.ImportModuleError"));
}

TEST_F(RuntimeLanguagesTest, PythonMissingHandlerIsAnInitError) {
  Start();
  InstanceConfig config = Config("pynohandler", 1, TaskRoot("python"), RuntimeFamily::kPython);
  config.handler = "app.nothing_here";
  service().Register(config);
  InvokeResult r = Invoke({"pynohandler", 1}, "{}");
  ASSERT_EQ(r.outcome, InvokeOutcome::kInitError) << r.payload;
  EXPECT_EQ(r.error_type, "Runtime.HandlerNotFound");
}

TEST_F(RuntimeLanguagesTest, PythonBootstrapIsWrittenFromTheEmbeddedCopy) {
  Start();
  std::filesystem::path written = settings().data_dir / "runtime" / "python_bootstrap.py";
  ASSERT_TRUE(std::filesystem::exists(written));
  std::ifstream a(written),
      b(std::filesystem::path(CUTOVER_SOURCE_DIR) / "src" / "runtime" / "python_bootstrap.py");
  std::string sa((std::istreambuf_iterator<char>(a)), {}),
      sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(sa, sb);
}

TEST_F(RuntimeLanguagesTest, NodeHandlerRunsThroughAwsLambdaRic) {
  SKIP_WITHOUT_RIC();
  Start();
  InstanceConfig config = Config("nd", 4, TaskRoot("node"), RuntimeFamily::kNode);
  config.handler = "app.handler";
  service().Register(config);
  InvokeResult r = Invoke({"nd", 4}, R"({"hello":"node"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload << Logs("nd");
  EXPECT_GT(r.init_duration_ms, 0);
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["event"].as_object()["hello"].as_string(), "node");
  EXPECT_EQ(o["functionName"].as_string(), "nd");
  EXPECT_EQ(o["functionVersion"].as_string(), "4");
  EXPECT_EQ(o["executionEnv"].as_string(), "AWS_Lambda_nodejs20.x");
  EXPECT_EQ(o["requestId"].as_string().size(), 36u);
  EXPECT_GT(o["remainingMs"].to_number<int64_t>(), 5000);

  InvokeResult warm = Invoke({"nd", 4}, R"({"n":2})");
  EXPECT_EQ(warm.outcome, InvokeOutcome::kSuccess) << warm.payload;
  EXPECT_EQ(warm.init_duration_ms, 0);
  EXPECT_TRUE(LogsContain("nd", "node handling", 2));
}

TEST_F(RuntimeLanguagesTest, NodeExceptionIsAFunctionError) {
  SKIP_WITHOUT_RIC();
  Start();
  InstanceConfig config = Config("nderr", 1, TaskRoot("node"), RuntimeFamily::kNode);
  config.handler = "app.handler";
  service().Register(config);
  InvokeResult r = Invoke({"nderr", 1}, R"({"action":"fail"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kFunctionError) << r.payload << Logs("nderr");
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["errorType"].as_string(), "TypeError");
  EXPECT_EQ(o["errorMessage"].as_string(), "node boom");
  // aws-lambda-ric sends no Lambda-Runtime-Function-Error-Type; the body's errorType is used.
  EXPECT_EQ(r.error_type, "TypeError");
  EXPECT_EQ(Invoke({"nderr", 1}, "{}").outcome, InvokeOutcome::kSuccess);
}

TEST_F(RuntimeLanguagesTest, NodeMissingModuleIsAnInitError) {
  SKIP_WITHOUT_RIC();
  Start();
  InstanceConfig config = Config("ndmissing", 1, TaskRoot("node"), RuntimeFamily::kNode);
  config.handler = "nothere.handler";
  service().Register(config);
  InvokeResult r = Invoke({"ndmissing", 1}, "{}");
  EXPECT_EQ(r.outcome, InvokeOutcome::kInitError) << r.payload << Logs("ndmissing");
}

}  // namespace
}  // namespace cutover::runtime
