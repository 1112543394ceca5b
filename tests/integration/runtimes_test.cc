// Every runtime family through the real daemon, via the gateway and via the Lambda Invoke API: the
// bash custom runtime, Node through aws-lambda-ric, and Python through cutover's bootstrap, each
// with the example service shipped in examples/.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

class RuntimesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new fs::path(MakeTempDir("cutover-runtimes"));
    daemon_ = Daemon::Start(*data_ / "data").release();
    for (const char* example : {"provided", "node", "python"}) {
      CommandResult r = daemon_->Deploy(SourceDir() / "examples" / example);
      ASSERT_EQ(r.exit_code, 0) << example << ": " << r.out << r.err;
    }
  }
  static void TearDownTestSuite() {
    delete daemon_;
    fs::remove_all(*data_);
    delete data_;
  }

  static json::object BodyOf(const HttpResult& r) {
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    return v.is_object() ? v.as_object() : json::object();
  }

  static json::object Invoke(const std::string& function, const std::string& payload) {
    HttpResult r =
        daemon_->Admin("POST", "/2015-03-31/functions/" + function + "/invocations", payload);
    EXPECT_EQ(r.headers["x-amz-function-error"], "");
    EXPECT_EQ(r.headers["x-amz-executed-version"], "$LATEST");  // unqualified runs $LATEST
    return BodyOf(r);
  }

  static inline Daemon* daemon_ = nullptr;
  static inline fs::path* data_ = nullptr;
};

TEST_F(RuntimesTest, ProvidedBashBootstrapThroughGateway) {
  json::object body = BodyOf(daemon_->Gateway("GET", "/provided/hello?x=1"));
  EXPECT_EQ(body["message"].as_string(), "hello from bash");
  EXPECT_EQ(body["version"].as_string(), "1");
}

TEST_F(RuntimesTest, NodeThroughAwsLambdaRicBothPayloadFormats) {
  json::object v1 = BodyOf(daemon_->Gateway("GET", "/node/hello?who=me"));
  EXPECT_EQ(v1["message"].as_string(), "hello from node");
  EXPECT_EQ(v1["payloadFormat"].as_string(), "1.0");
  EXPECT_EQ(v1["path"].as_string(), "/node/hello");
  EXPECT_EQ(v1["query"].as_object()["who"].as_string(), "me");
  EXPECT_EQ(v1["version"].as_string(), "1");
  json::object v2 = BodyOf(daemon_->Gateway("GET", "/node/v2/hello"));
  EXPECT_EQ(v2["payloadFormat"].as_string(), "2.0");
  EXPECT_EQ(v2["method"].as_string(), "GET");
}

TEST_F(RuntimesTest, NodeThroughInvokeApi) {
  json::object result = Invoke("cutover-example-node-dev-hello", R"({"httpMethod":"GET"})");
  EXPECT_EQ(result["statusCode"].as_int64(), 200);
  json::object body = json::parse(result["body"].as_string()).as_object();
  EXPECT_EQ(body["method"].as_string(), "GET");
  EXPECT_FALSE(body["requestId"].as_string().empty());
}

TEST_F(RuntimesTest, PythonThroughGatewayWithPathParameter) {
  json::object body = BodyOf(daemon_->Gateway("GET", "/python/hello/ada"));
  EXPECT_EQ(body["message"].as_string(), "hello from python, ada");
  EXPECT_EQ(body["path"].as_string(), "/python/hello/ada");
}

TEST_F(RuntimesTest, PythonThroughInvokeApi) {
  json::object result =
      Invoke("cutover-example-python-dev-hello", R"({"pathParameters":{"name":"bob"}})");
  json::object body = json::parse(result["body"].as_string()).as_object();
  EXPECT_EQ(body["message"].as_string(), "hello from python, bob");
}

TEST_F(RuntimesTest, OversizedHeadersAre431) {
  HttpResult r = daemon_->Gateway("GET", "/python/hello", "", {{"X-Big", std::string(20000, 'a')}});
  EXPECT_EQ(r.status, 431) << r.error;
}

TEST_F(RuntimesTest, StatusListsEveryFunctionAsJson) {
  CommandResult r = RunCutover({"status", "--json", "--admin", daemon_->admin_url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object status = json::parse(r.out).as_object();
  std::set<std::string> names;
  for (const auto& f : status["functions"].as_array()) {
    names.insert(std::string(f.as_object().at("function_name").as_string()));
  }
  EXPECT_TRUE(names.count("cutover-example-provided-dev-hello"));
  EXPECT_TRUE(names.count("cutover-example-node-dev-hello"));
  EXPECT_TRUE(names.count("cutover-example-python-dev-hello"));
}

TEST_F(RuntimesTest, LogOffsetsReturnOnlyNewLines) {
  const std::string fn = "cutover-example-python-dev-hello";
  ASSERT_EQ(daemon_->Gateway("GET", "/python/hello").status, 200);
  // Wait (with a deadline) for the first REPORT line to reach the log.
  HttpResult first;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    first = daemon_->Admin("GET", "/v1/functions/" + fn + "/logs?version=1");
  } while (first.body.find("REPORT") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_NE(first.headers["x-log-offset"], "");
  const std::string offset = first.headers["x-log-offset"];
  HttpResult nothing_new =
      daemon_->Admin("GET", "/v1/functions/" + fn + "/logs?version=1&offset=" + offset);
  EXPECT_EQ(nothing_new.status, 200);
  EXPECT_EQ(nothing_new.body, "");
  ASSERT_EQ(daemon_->Gateway("GET", "/python/hello").status, 200);
  HttpResult more;
  do {
    more = daemon_->Admin("GET", "/v1/functions/" + fn + "/logs?version=1&offset=" + offset);
  } while (more.body.find("REPORT") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(more.body.find("START"), 0u) << more.body;
  EXPECT_EQ(more.body.find("Init Duration"), std::string::npos) << "second call was warm";
}

}  // namespace
}  // namespace cutover::testing
