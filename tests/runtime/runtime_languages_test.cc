// Python (cutover's bootstrap), Node.js (the npm aws-lambda-ric) and PHP (cutover's bootstrap for
// Bref's function and console layers) handlers through the Runtime API.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>

#include "runtime/runtime_service.h"
#include "runtime_fixture.h"
#include "support/procfs.h"

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
  // The PHP CLI of RuntimeSettings::php_cli (the php8.2-cli package).
  static bool PhpInstalled() { return std::system("php8.2 -v >/dev/null 2>&1") == 0; }

  // A Bref function (or, with a "-console" runtime, console) layer function on testdata/php.
  InstanceConfig PhpConfig(const std::string& function, uint32_t version,
                           const std::string& handler, const std::string& runtime = "php-82") {
    InstanceConfig config = Config(function, version, TaskRoot("php"), RuntimeFamily::kPhpFunction);
    config.runtime_name = runtime;
    config.handler = handler;
    return config;
  }
};

#define SKIP_WITHOUT_RIC() \
  if (!RicInstalled()) GTEST_SKIP() << "aws-lambda-ric is not installed: run `make deps`"
#define SKIP_WITHOUT_PHP() \
  if (!PhpInstalled()) GTEST_SKIP() << "php8.2 is not installed (apt-get install php8.2-cli)"

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

// ---- PHP: Bref's function layer (php-82, php-74, ...) ----

TEST_F(RuntimeLanguagesTest, PhpFunctionGetsEventContextAndEnvironment) {
  SKIP_WITHOUT_PHP();
  Start();
  InstanceConfig config = PhpConfig("php", 3, "index.php");
  config.environment = {{"GREETING", "hello from php"}};
  service().Register(config);
  InvokeResult r = Invoke({"php", 3}, R"({"name":"ada"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload << Logs("php");
  EXPECT_GT(r.init_duration_ms, 0);
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["hello"].as_string(), "ada");
  EXPECT_EQ(o["event"].as_object()["name"].as_string(), "ada");
  std::string request_id(o["requestId"].as_string());
  EXPECT_EQ(request_id.size(), 36u);
  EXPECT_GT(o["remainingMs"].to_number<int64_t>(), 5000);
  EXPECT_LE(o["remainingMs"].to_number<int64_t>(), 10000);
  EXPECT_EQ(o["invokedFunctionArn"].as_string(),
            "arn:aws:lambda:us-east-1:000000000000:function:php:3");
  std::string trace_id(o["traceId"].as_string());
  EXPECT_NE(trace_id.find("Root=1-"), std::string::npos) << trace_id;

  boost::json::object env = o["env"].as_object();
  EXPECT_EQ(env["GREETING"].as_string(), "hello from php");
  EXPECT_EQ(env["SERVER_GREETING"].as_string(), "hello from php");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"].as_string(), "php");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"].as_string(), "3");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"].as_string(), "128");
  EXPECT_EQ(env["LAMBDA_TASK_ROOT"].as_string(), config.task_root.string());
  EXPECT_EQ(env["cwd"].as_string(), config.task_root.string());
  EXPECT_EQ(env["_HANDLER"].as_string(), "index.php");
  EXPECT_EQ(env["LAMBDA_REQUEST_ID"].as_string(), request_id);
  EXPECT_EQ(env["_X_AMZN_TRACE_ID"].as_string(), trace_id);
  boost::json::object context =
      ParseObject(std::string(env["LAMBDA_INVOCATION_CONTEXT"].as_string()));
  EXPECT_EQ(context["awsRequestId"].as_string(), request_id);
  EXPECT_EQ(context["invokedFunctionArn"].as_string(),
            "arn:aws:lambda:us-east-1:000000000000:function:php:3");
  EXPECT_EQ(context["traceId"].as_string(), trace_id);
  EXPECT_GT(context["deadlineMs"].to_number<int64_t>(), 1'700'000'000'000);

  // No name: the default; PHP's error_log() output is in the function log.
  InvokeResult warm = Invoke({"php", 3}, "{}");
  ASSERT_EQ(warm.outcome, InvokeOutcome::kSuccess) << warm.payload;
  EXPECT_EQ(ParseObject(warm.payload)["hello"].as_string(), "world");
  EXPECT_TRUE(LogsContain("php", R"(php handling {"name":"ada"})"));
  EXPECT_TRUE(LogsContain("php", "php handling []"));
}

TEST_F(RuntimeLanguagesTest, PhpFunctionRunsEachInvocationInAFreshProcess) {
  SKIP_WITHOUT_PHP();
  Start();
  InstanceConfig config = PhpConfig("phpfresh", 1, "index.php");
  config.max_concurrency = 1;  // one instance: both invocations go through the same shell loop
  service().Register(config);
  InvokeResult first = Invoke({"phpfresh", 1}, "{}");
  ASSERT_EQ(first.outcome, InvokeOutcome::kSuccess) << first.payload << Logs("phpfresh");
  InvokeResult second = Invoke({"phpfresh", 1}, "{}");
  ASSERT_EQ(second.outcome, InvokeOutcome::kSuccess) << second.payload << Logs("phpfresh");
  boost::json::object a = ParseObject(first.payload), b = ParseObject(second.payload);
  EXPECT_NE(a["pid"].to_number<int64_t>(), b["pid"].to_number<int64_t>());
  EXPECT_EQ(a["ppid"].to_number<int64_t>(), b["ppid"].to_number<int64_t>());  // the same instance
  EXPECT_EQ(second.init_duration_ms, 0);  // a warm instance, though its PHP process is new
  EXPECT_EQ(service().Stats({"phpfresh", 1}).cold_starts, 1);
  EXPECT_TRUE(LogsContain("phpfresh", "php handler file loaded", 2));
}

TEST_F(RuntimeLanguagesTest, PhpFunctionLoopMaxReusesAProcess) {
  SKIP_WITHOUT_PHP();
  Start();
  InstanceConfig config = PhpConfig("phploop", 1, "index.php");
  config.max_concurrency = 1;
  config.environment = {{"BREF_LOOP_MAX", "2"}};
  service().Register(config);
  std::vector<boost::json::object> results;
  for (int i = 0; i < 3; ++i) {
    InvokeResult r = Invoke({"phploop", 1}, "{}");
    ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload << Logs("phploop");
    results.push_back(ParseObject(r.payload));
  }
  EXPECT_EQ(results[0]["pid"].to_number<int64_t>(), results[1]["pid"].to_number<int64_t>());
  EXPECT_NE(results[1]["pid"].to_number<int64_t>(), results[2]["pid"].to_number<int64_t>());
  EXPECT_EQ(results[0]["ppid"].to_number<int64_t>(), results[2]["ppid"].to_number<int64_t>());
}

TEST_F(RuntimeLanguagesTest, PhpFunctionExceptionIsAFunctionError) {
  SKIP_WITHOUT_PHP();
  Start();
  InstanceConfig config = PhpConfig("phperr", 1, "index.php");
  config.max_concurrency = 1;
  service().Register(config);
  InvokeResult r = Invoke({"phperr", 1}, R"({"action":"fail"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kFunctionError) << r.payload << Logs("phperr");
  EXPECT_EQ(r.error_type, "Unhandled");
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["errorType"].as_string(), "InvalidArgumentException");
  EXPECT_EQ(o["errorMessage"].as_string(), "php boom");
  ASSERT_TRUE(o["stackTrace"].is_array());
  EXPECT_FALSE(o["stackTrace"].as_array().empty());
  EXPECT_TRUE(LogsContain("phperr", "\tInvoke Error\t{\"errorType\":\"InvalidArgumentException\""));
  // The failed process is gone; the instance's next one serves the next invocation.
  InvokeResult next = Invoke({"phperr", 1}, "{}");
  EXPECT_EQ(next.outcome, InvokeOutcome::kSuccess) << next.payload;
  EXPECT_EQ(service().Stats({"phperr", 1}).restarts, 0);
}

TEST_F(RuntimeLanguagesTest, PhpFunctionUnserializableResultIsAMarshalError) {
  SKIP_WITHOUT_PHP();
  Start();
  service().Register(PhpConfig("phpmarshal", 1, "index.php"));
  InvokeResult r = Invoke({"phpmarshal", 1}, R"({"action":"unserializable"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kFunctionError) << r.payload << Logs("phpmarshal");
  EXPECT_EQ(ParseObject(r.payload)["errorType"].as_string(), "Runtime.MarshalError");
}

TEST_F(RuntimeLanguagesTest, PhpFunctionExitDuringAnInvocationIsAnExitError) {
  SKIP_WITHOUT_PHP();
  Start();
  InstanceConfig config = PhpConfig("phpexit", 1, "index.php");
  config.max_concurrency = 1;
  service().Register(config);
  InvokeResult r = Invoke({"phpexit", 1}, R"({"action":"exit"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kFunctionError) << r.payload << Logs("phpexit");
  EXPECT_EQ(r.error_type, "Runtime.ExitError");
  // Reported by the bootstrap's shutdown function, not found later by the platform.
  EXPECT_NE(r.payload.find("Runtime exited with error: the PHP process exited"), std::string::npos)
      << r.payload;
  EXPECT_EQ(Invoke({"phpexit", 1}, "{}").outcome, InvokeOutcome::kSuccess);

  // A PHP fatal error (memory_limit) the same way, with PHP's message.
  InvokeResult fatal = Invoke({"phpexit", 1}, R"({"action":"fatal"})");
  ASSERT_EQ(fatal.outcome, InvokeOutcome::kFunctionError) << fatal.payload << Logs("phpexit");
  EXPECT_EQ(fatal.error_type, "Runtime.ExitError");
  EXPECT_NE(fatal.payload.find("PHP Fatal error: Allowed memory size"), std::string::npos)
      << fatal.payload;
  EXPECT_TRUE(LogsContain("phpexit", "PHP Fatal error:  Allowed memory size"));
  EXPECT_EQ(Invoke({"phpexit", 1}, "{}").outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(service().Stats({"phpexit", 1}).restarts, 0);  // the instance itself never died
}

TEST_F(RuntimeLanguagesTest, PhpFunctionTimeoutKillsTheShellLoopAndPhp) {
  SKIP_WITHOUT_PHP();
  Start();
  InstanceConfig config = PhpConfig("phphang", 1, "index.php");
  config.max_concurrency = 1;
  config.timeout_ms = 1000;
  service().Register(config);
  InvokeResult first = Invoke({"phphang", 1}, "{}");
  ASSERT_EQ(first.outcome, InvokeOutcome::kSuccess) << first.payload << Logs("phphang");
  int loop_pid = static_cast<int>(ParseObject(first.payload)["ppid"].to_number<int64_t>());
  ASSERT_GT(loop_pid, 1);

  InvokeResult r = Invoke({"phphang", 1}, R"({"action":"hang"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kTimeout) << r.payload << Logs("phphang");
  std::ifstream pid_file(config.task_root / "hanging.pid");
  int php_pid = 0;
  pid_file >> php_pid;
  ASSERT_GT(php_pid, 1);
  EXPECT_TRUE(TickUntil([&] { return procfs::Ended(loop_pid) && procfs::Ended(php_pid); }));
  InvokeResult next = Invoke({"phphang", 1}, "{}");
  ASSERT_EQ(next.outcome, InvokeOutcome::kSuccess) << next.payload;
  EXPECT_NE(ParseObject(next.payload)["ppid"].to_number<int64_t>(), loop_pid);  // a new instance
}

TEST_F(RuntimeLanguagesTest, PhpFunctionResponseOverTheLimit) {
  SKIP_WITHOUT_PHP();
  Start();
  InstanceConfig config = PhpConfig("phpbig", 1, "index.php");
  config.max_concurrency = 1;
  service().Register(config);
  InvokeResult r = Invoke({"phpbig", 1}, R"({"action":"big"})");
  EXPECT_EQ(r.outcome, InvokeOutcome::kResponseTooLarge) << r.payload << Logs("phpbig");
  EXPECT_EQ(Invoke({"phpbig", 1}, "{}").outcome, InvokeOutcome::kSuccess);
}

TEST_F(RuntimeLanguagesTest, PhpFunctionObjectHandler) {
  SKIP_WITHOUT_PHP();
  Start();
  service().Register(PhpConfig("phpobject", 1, "object.php"));
  InvokeResult r = Invoke({"phpobject", 1}, "{}");
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload << Logs("phpobject");
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["handledBy"].as_string(), "object");
  EXPECT_EQ(o["requestId"].as_string().size(), 36u);
}

TEST_F(RuntimeLanguagesTest, PhpFunctionMissingHandlerIsAnInitError) {
  SKIP_WITHOUT_PHP();
  Start();
  service().Register(PhpConfig("phpmissing", 1, "nothere.php"));
  InvokeResult r = Invoke({"phpmissing", 1}, "{}");
  ASSERT_EQ(r.outcome, InvokeOutcome::kInitError) << r.payload << Logs("phpmissing");
  EXPECT_EQ(r.error_type, "Runtime.NoSuchHandler");
  EXPECT_NE(r.payload.find("nothere.php` doesn't exist"), std::string::npos) << r.payload;
  // The instance is stopped, not left restarting PHP.
  EXPECT_TRUE(TickUntil([&] { return service().Stats({"phpmissing", 1}).instances == 0; }));
}

TEST_F(RuntimeLanguagesTest, PhpFunctionNonCallableHandlerIsAnInitError) {
  SKIP_WITHOUT_PHP();
  Start();
  service().Register(PhpConfig("phpnotcallable", 1, "not_callable.php"));
  InvokeResult r = Invoke({"phpnotcallable", 1}, "{}");
  ASSERT_EQ(r.outcome, InvokeOutcome::kInitError) << r.payload << Logs("phpnotcallable");
  EXPECT_EQ(r.error_type, "Runtime.NoSuchHandler");
  EXPECT_NE(r.payload.find("must return a function or object handler"), std::string::npos)
      << r.payload;
}

TEST_F(RuntimeLanguagesTest, PhpFunctionHandlerFailingToLoadIsAnInitError) {
  SKIP_WITHOUT_PHP();
  Start();
  service().Register(PhpConfig("phpthrows", 1, "throws_on_load.php"));
  InvokeResult r = Invoke({"phpthrows", 1}, "{}");
  ASSERT_EQ(r.outcome, InvokeOutcome::kInitError) << r.payload << Logs("phpthrows");
  EXPECT_EQ(r.error_type, "Runtime.UnknownReason");
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["errorType"].as_string(), "LogicException");
  EXPECT_EQ(o["errorMessage"].as_string(), "cannot load me");

  // A handler that ends the process while loading: an init error at once, not an init timeout.
  service().Register(PhpConfig("phpexits", 1, "exits_on_load.php"));
  InvokeResult exits = Invoke({"phpexits", 1}, "{}");
  ASSERT_EQ(exits.outcome, InvokeOutcome::kInitError) << exits.payload << Logs("phpexits");
  EXPECT_EQ(exits.error_type, "Runtime.ExitError");
  EXPECT_NE(exits.payload.find("The handler ended the process while loading"), std::string::npos)
      << exits.payload;
  EXPECT_TRUE(LogsContain("phpexits", "exiting while loading"));
  EXPECT_TRUE(TickUntil([&] { return service().Stats({"phpexits", 1}).instances == 0; }));
}

TEST_F(RuntimeLanguagesTest, PhpFunctionBootstrapIsWrittenFromTheEmbeddedCopy) {
  Start();
  std::filesystem::path written = settings().data_dir / "runtime" / "php_function_bootstrap.php";
  ASSERT_TRUE(std::filesystem::exists(written));
  std::ifstream a(written), b(std::filesystem::path(CUTOVER_SOURCE_DIR) / "src" / "runtime" /
                              "php_function_bootstrap.php");
  std::string sa((std::istreambuf_iterator<char>(a)), {}),
      sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(sa, sb);
}

// ---- PHP: Bref's console layer (php-82-console) ----

TEST_F(RuntimeLanguagesTest, PhpConsoleRunsTheScriptWithArguments) {
  SKIP_WITHOUT_PHP();
  Start();
  InstanceConfig config = PhpConfig("phpconsole", 1, "console.php", "php-82-console");
  config.environment = {{"GREETING", "hello from the console"}};
  config.max_concurrency = 1;
  service().Register(config);
  // The event is the argument string, parsed by the shell as in a terminal.
  InvokeResult r = Invoke({"phpconsole", 1}, R"("greet --name=ada 'two words'")");
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload << Logs("phpconsole");
  boost::json::object o = ParseObject(r.payload);
  EXPECT_EQ(o["exitCode"].as_int64(), 0);
  EXPECT_EQ(o["output"].as_string(),
            "[\"greet\",\"--name=ada\",\"two words\"]\nconsole stderr line\n");
  EXPECT_TRUE(LogsContain("phpconsole", "console stderr line"));

  // Bref's former format, {"cli": "..."}; the command sees the function's environment.
  InvokeResult env = Invoke({"phpconsole", 1}, R"({"cli":"env"})");
  ASSERT_EQ(env.outcome, InvokeOutcome::kSuccess) << env.payload;
  std::string output(ParseObject(env.payload)["output"].as_string());
  EXPECT_NE(output.find("hello from the console "), std::string::npos) << output;
  EXPECT_EQ(output.find("hello from the console \n"), std::string::npos)
      << "no request id in LAMBDA_INVOCATION_CONTEXT: " << output;

  // A non-zero exit status is an error, as with Bref.
  InvokeResult fail = Invoke({"phpconsole", 1}, R"("fail 3")");
  ASSERT_EQ(fail.outcome, InvokeOutcome::kFunctionError) << fail.payload;
  boost::json::object e = ParseObject(fail.payload);
  EXPECT_EQ(e["errorType"].as_string(), "Exception");
  EXPECT_EQ(e["errorMessage"].as_string(), "The command exited with a non-zero status code: 3");
  EXPECT_EQ(Invoke({"phpconsole", 1}, "\"\"").outcome, InvokeOutcome::kSuccess);
}

TEST_F(RuntimeLanguagesTest, PhpConsoleMissingScriptIsAnInitError) {
  SKIP_WITHOUT_PHP();
  Start();
  service().Register(PhpConfig("phpconsolemissing", 1, "bin/console", "php-82-console"));
  InvokeResult r = Invoke({"phpconsolemissing", 1}, "\"list\"");
  ASSERT_EQ(r.outcome, InvokeOutcome::kInitError) << r.payload << Logs("phpconsolemissing");
  EXPECT_EQ(r.error_type, "Runtime.NoSuchHandler");
}

}  // namespace
}  // namespace cutover::runtime
