// PHP on php-fpm through the real daemon, as Bref runs it: the gateway speaks FastCGI to a php-fpm
// master per version (testdata/php-app), the Invoke API maps events the way Bref's FPM layer
// does, and the seed's serverless.yml deploys as written.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "common/sha256.h"
#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

constexpr char kWeb[] = "php-app-test-web";
constexpr char kShort[] = "php-app-test-short";

json::object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return !ec && v.is_object() ? v.as_object() : json::object();
}

std::vector<std::string> Values(const HttpResult& r, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : r.header_list) {
    if (n == name) out.push_back(v);
  }
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The pid written by the version's php-fpm master (data/fpm/<id>/php-fpm.pid), or -1.
pid_t MasterPid(const fs::path& data) {
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(data / "fpm", ec)) {
    std::ifstream in(dir.path() / "php-fpm.pid");
    pid_t pid = -1;
    if ((in >> pid) && pid > 0 && ::kill(pid, 0) == 0) return pid;
  }
  return -1;
}

class PhpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
    data_ = new fs::path(MakeTempDir("cutover-php"));
    daemon_ = Daemon::Start(*data_ / "data").release();
    CommandResult r = daemon_->Deploy(SourceDir() / "tests/integration/testdata/php-app");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    if (data_) fs::remove_all(*data_);
    delete data_;
    data_ = nullptr;
  }
  void SetUp() override {
    if (daemon_ == nullptr) GTEST_SKIP() << "php-fpm8.2 is not installed";
  }

  static json::object Q(const HttpResult& r) {
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    return ParseObject(r.body);
  }

  static json::object Pool(const std::string& function, int version) {
    json::object fn = ParseObject(daemon_->Admin("GET", "/v1/functions/" + function).body);
    for (const auto& v : fn["versions"].as_array()) {
      if (v.as_object().at("version").as_int64() == version) {
        return v.as_object().at("pool").as_object();
      }
    }
    ADD_FAILURE() << "no version " << version << " of " << function;
    return {};
  }

  static inline Daemon* daemon_ = nullptr;
  static inline fs::path* data_ = nullptr;
};

TEST_F(PhpTest, GetWithQueryStringHeadersAndBrefParameters) {
  HttpResult r = daemon_->Gateway("GET", "/rest/q?a=1&b=x%20y&list[]=p&list[]=q", "",
                                  {{"X-Custom", "hello"}, {"Cookie", "c1=v1; c2=v2"}});
  json::object body = Q(r);
  EXPECT_EQ(body["method"].as_string(), "GET");
  EXPECT_EQ(body["uri"].as_string(), "/rest/q?a=1&b=x%20y&list[]=p&list[]=q");
  EXPECT_EQ(body["get"].as_object()["a"].as_string(), "1");
  EXPECT_EQ(body["get"].as_object()["b"].as_string(), "x y");
  EXPECT_EQ(body["get"].as_object()["list"].as_array().size(), 2u);
  EXPECT_EQ(body["custom"].as_string(), "hello");
  EXPECT_EQ(body["cookie"].as_object()["c2"].as_string(), "v2");
  EXPECT_TRUE(body["script"].as_string().ends_with("/public/index.php")) << body["script"];
  // Bref's LAMBDA_REQUEST_CONTEXT (format 1.0 for `http` events) and LAMBDA_INVOCATION_CONTEXT.
  json::object rc = body["request_context"].as_object();
  EXPECT_EQ(rc["stage"].as_string(), "test");
  EXPECT_EQ(rc["httpMethod"].as_string(), "GET");
  EXPECT_EQ(rc["requestId"].as_string(), r.headers["x-amzn-requestid"]);
  json::object ic = body["invocation_context"].as_object();
  EXPECT_EQ(ic["awsRequestId"].as_string(), r.headers["x-amzn-requestid"]);
  EXPECT_GT(ic["deadlineMs"].as_int64(), 0);
  EXPECT_TRUE(ic["invokedFunctionArn"].as_string().ends_with(":function:php-app-test-web:$LATEST") ||
              ic["invokedFunctionArn"].as_string().find(":function:php-app-test-web") !=
                  std::string::npos);
  // clear_env = no: the Lambda environment and the function's own reach the script.
  json::array env = body["env"].as_array();
  EXPECT_EQ(env[0].as_string(), "from-function");
  EXPECT_EQ(env[1].as_string(), "from-provider");
  EXPECT_EQ(env[2].as_string(), "1");
  EXPECT_EQ(env[3].as_string(), kWeb);
  EXPECT_EQ(r.headers["x-cutover-version"], "1");
}

TEST_F(PhpTest, PostFormAndJsonBodies) {
  json::object form = Q(daemon_->Gateway("POST", "/rest/q", "name=ada&lang=php%2Bc",
                                         {{"Content-Type", "application/x-www-form-urlencoded"}}));
  EXPECT_EQ(form["method"].as_string(), "POST");
  EXPECT_EQ(form["post"].as_object()["name"].as_string(), "ada");
  EXPECT_EQ(form["post"].as_object()["lang"].as_string(), "php+c");
  json::object js = Q(daemon_->Gateway("PUT", "/rest/q", R"({"n":[1,2,3],"s":"é"})",
                                       {{"Content-Type", "application/json"}}));
  EXPECT_EQ(js["method"].as_string(), "PUT");
  EXPECT_EQ(js["json"].as_object()["n"].as_array().size(), 3u);
  EXPECT_EQ(js["json"].as_object()["s"].as_string(), "é");
}

TEST_F(PhpTest, FiveMegabyteUploadArrivesIntact) {
  std::string body(5 * 1024 * 1024, '\0');
  uint32_t x = 12345;
  for (char& c : body) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  json::object r = Q(daemon_->Gateway("POST", "/rest/upload", body,
                                      {{"Content-Type", "application/octet-stream"}}));
  EXPECT_EQ(r["length"].as_int64(), static_cast<int64_t>(body.size()));
  EXPECT_EQ(r["sha256"].as_string(), Sha256Hex(body));
}

TEST_F(PhpTest, RepeatedSetCookieHeadersAndStatus) {
  HttpResult r = daemon_->Gateway("GET", "/rest/cookies");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Values(r, "set-cookie"), (std::vector<std::string>{"first=1", "second=2"}));
  EXPECT_EQ(Values(r, "x-repeated"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(r.body, "cookies");
  HttpResult teapot = daemon_->Gateway("GET", "/rest/teapot");
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(teapot.body, "short and stout");
}

TEST_F(PhpTest, HttpApiJoinsRepeatedHeadersButKeepsCookiesApart) {
  HttpResult r = daemon_->Gateway("GET", "/v2/cookies");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Values(r, "set-cookie"), (std::vector<std::string>{"first=1", "second=2"}));
  EXPECT_EQ(Values(r, "x-repeated"), (std::vector<std::string>{"one, two"}));
  json::object q = Q(daemon_->Gateway("GET", "/v2/q?x=1"));
  EXPECT_EQ(q["get"].as_object()["x"].as_string(), "1");
  // Format 2.0 request context.
  EXPECT_EQ(q["request_context"].as_object()["http"].as_object()["method"].as_string(), "GET");
}

TEST_F(PhpTest, BinaryResponseIsByteExact) {
  HttpResult r = daemon_->Gateway("GET", "/rest/binary");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body.size(), 512u);
  for (int i = 0; i < 512; ++i) ASSERT_EQ(static_cast<unsigned char>(r.body[i]), i % 256) << i;
  EXPECT_EQ(r.headers["content-type"], "application/octet-stream");
}

TEST_F(PhpTest, FatalErrorIsA500ResponseNotAFunctionError) {
  HttpResult r = daemon_->Gateway("GET", "/rest/fatal");
  EXPECT_EQ(r.status, 500);
  // Through the Invoke API: a successful invocation whose response says 500 (no
  // X-Amz-Function-Error), as Lambda + Bref report it.
  HttpResult inv = daemon_->Admin(
      "POST", std::string("/2015-03-31/functions/") + kWeb + "/invocations",
      R"({"httpMethod":"GET","path":"/rest/fatal","headers":{"host":"x"},"requestContext":{}})");
  EXPECT_EQ(inv.status, 200) << inv.body;
  EXPECT_EQ(inv.headers["x-amz-function-error"], "");
  EXPECT_EQ(ParseObject(inv.body)["statusCode"].as_int64(), 500);
  // PHP's messages (FCGI_STDERR) are in the function's log.
  fs::path log = *data_ / "data/logs" / kWeb / "1.log";
  EXPECT_TRUE(WaitFor([&] { return ReadFile(log).find("marker-fatal") != std::string::npos; },
                      std::chrono::seconds(5)))
      << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("undefined_function_for_the_test"), std::string::npos);
}

TEST_F(PhpTest, InvokeApiMapsBothEventFormats) {
  const std::string target = std::string("/2015-03-31/functions/") + kWeb + "/invocations";
  HttpResult v1 = daemon_->Admin(
      "POST", target,
      R"({"httpMethod":"POST","path":"/rest/q","multiValueQueryStringParameters":{"a":["1","2"]},)"
      R"("multiValueHeaders":{"Content-Type":["application/json"]},"body":"{\"k\":7}",)"
      R"("requestContext":{"stage":"test"}})");
  ASSERT_EQ(v1.status, 200) << v1.body;
  json::object res1 = ParseObject(v1.body);
  EXPECT_EQ(res1["statusCode"].as_int64(), 200);
  EXPECT_TRUE(res1.contains("multiValueHeaders"));
  json::object b1 = ParseObject(std::string(res1["body"].as_string()));
  EXPECT_EQ(b1["method"].as_string(), "POST");
  EXPECT_EQ(b1["json"].as_object()["k"].as_int64(), 7);
  EXPECT_EQ(b1["uri"].as_string(), "/rest/q?a=1&a=2");

  HttpResult v2 = daemon_->Admin(
      "POST", target,
      R"({"version":"2.0","rawPath":"/v2/cookies","rawQueryString":"","cookies":["a=b"],)"
      R"("headers":{"host":"x"},"requestContext":{"http":{"method":"GET"}},"isBase64Encoded":false})");
  ASSERT_EQ(v2.status, 200) << v2.body;
  json::object res2 = ParseObject(v2.body);
  EXPECT_EQ(res2["statusCode"].as_int64(), 200);
  EXPECT_EQ(res2["cookies"].as_array().size(), 2u);
  EXPECT_EQ(res2["headers"].as_object()["X-Repeated"].as_string(), "one, two");

  // Not an HTTP event: Bref's FPM handler throws, a function error.
  HttpResult bad = daemon_->Admin("POST", target, R"({"hello":"world"})");
  EXPECT_EQ(bad.headers["x-amz-function-error"], "Unhandled");
}

TEST_F(PhpTest, TimeoutKillsTheWorkerAnswers502AndThePoolRecovers) {
  auto started = std::chrono::steady_clock::now();
  HttpResult r = daemon_->Gateway("GET", "/short/sleep?ms=5000");
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status, 502) << r.body;
  // php-fpm's request_terminate_timeout (1 s) ended it, well before the script's 5 s.
  EXPECT_LT(took, std::chrono::milliseconds(4500));
  HttpResult ok = daemon_->Gateway("GET", "/short/sleep?ms=1");
  EXPECT_EQ(ok.status, 200) << ok.body;
  fs::path log = *data_ / "data/logs" / kShort / "1.log";
  EXPECT_TRUE(WaitFor([&] { return ReadFile(log).find("Task timed out after 1.00 seconds") !=
                                   std::string::npos; },
                      std::chrono::seconds(5)))
      << ReadFile(log);
}

TEST_F(PhpTest, KillingTheMasterGives502ThenRecoversAndCountsARestart) {
  ASSERT_EQ(Q(daemon_->Gateway("GET", "/rest/sleep?ms=1"))["slept"].as_int64(), 1);
  const int64_t restarts_before = Pool(kWeb, 1)["restarts"].as_int64();
  pid_t master = MasterPid(*data_ / "data");
  ASSERT_GT(master, 0);
  // A request in flight when the master dies gets a 502.
  HttpResult in_flight;
  std::thread t([&] {
    HttpClient client("127.0.0.1", daemon_->gateway_port());
    in_flight = client.Request("GET", "/rest/sleep?ms=3000");
  });
  ASSERT_TRUE(WaitFor([&] { return Pool(kWeb, 1)["busy"].as_int64() > 0; },
                      std::chrono::seconds(5)));
  ASSERT_EQ(::kill(-master, SIGKILL), 0);  // the master and its workers, as an OOM kill would
  t.join();
  EXPECT_EQ(in_flight.status, 502) << in_flight.body;
  // A new master takes over.
  EXPECT_TRUE(WaitFor([&] { return daemon_->Gateway("GET", "/rest/sleep?ms=1").status == 200; },
                      std::chrono::seconds(10)));
  EXPECT_EQ(Pool(kWeb, 1)["restarts"].as_int64(), restarts_before + 1);
  pid_t replacement = MasterPid(*data_ / "data");
  EXPECT_GT(replacement, 0);
  EXPECT_NE(replacement, master);
}

TEST_F(PhpTest, ConcurrentRequestsBeyondThePoolQueueInsteadOfFailing) {
  // reservedConcurrency 3 → 3 php-fpm children; 8 concurrent 200 ms requests all succeed.
  std::vector<std::thread> threads;
  std::vector<int> statuses(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client("127.0.0.1", daemon_->gateway_port());
      statuses[i] = client.Request("GET", "/rest/sleep?ms=200").status;
    });
  }
  for (auto& t : threads) t.join();
  for (int s : statuses) EXPECT_EQ(s, 200);
  json::object pool = Pool(kWeb, 1);
  EXPECT_EQ(pool["instances"].as_int64(), 3);
}

// A daemon with a 1.5 s integration timeout: a slower script gets API Gateway's 504.
TEST(PhpIntegrationTimeoutTest, SlowScriptGets504) {
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path data = MakeTempDir("cutover-php-504");
  {
    auto daemon = Daemon::Start(data / "data", {}, {"CUTOVER_TEST_INTEGRATION_TIMEOUT_MS=1500"});
    CommandResult r = daemon->Deploy(SourceDir() / "tests/integration/testdata/php-app");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(daemon->Gateway("GET", "/rest/sleep?ms=3000").status, 504);
    EXPECT_EQ(daemon->Gateway("GET", "/rest/sleep?ms=1").status, 200);
  }
  fs::remove_all(data);
}

// The seed's service exactly as the article deploys it: its serverless.yml unchanged, Bref's
// php-74-fpm layer served by php-fpm 8.2, answering on `/` and `/{proxy+}`.
TEST(SeedTest, SeedServiceAnswersOnRootAndProxyRoutes) {
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path data = MakeTempDir("cutover-seed");
  {
    auto daemon = Daemon::Start(data / "data");
    CommandResult r = daemon->Deploy(SourceDir() / "examples/seed");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    // The PHP version notice: the seed asks for 7.4.
    EXPECT_NE((r.out + r.err).find("PHP 7.4"), std::string::npos) << r.out << r.err;
    HttpResult root = daemon->Gateway("GET", "/");
    ASSERT_EQ(root.status, 200) << root.body;
    json::object body = ParseObject(root.body);
    EXPECT_EQ(body["app"].as_string(), "bref-canary-deployments-demo");
    EXPECT_EQ(body["version"].as_string(), "1");
    EXPECT_EQ(daemon->Gateway("GET", "/health").status, 200);
    EXPECT_EQ(ParseObject(daemon->Gateway("GET", "/checkout").body)["status"].as_string(),
              "ordered");
    EXPECT_EQ(daemon->Gateway("GET", "/no/such/page").status, 404);
  }
  fs::remove_all(data);
}

}  // namespace
}  // namespace cutover::testing
