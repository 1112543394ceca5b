// The real daemon, driven through its gateway, its Invoke API and the CLI, with the custom-runtime
// `behaviours` service (tests/integration/testdata/behaviours) whose functions succeed, fail,
// crash, hang and answer garbage on purpose.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "common/cpu_affinity.h"
#include "harness.h"
#include "support/procfs.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

class PlatformTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new fs::path(MakeTempDir("cutover-platform"));
    daemon_ =
        Daemon::Start(*data_ / "data", {}, {"CUTOVER_TEST_INTEGRATION_TIMEOUT_MS=1500"}).release();
    service_ = new fs::path(SourceDir() / "tests/integration/testdata/behaviours");
    CommandResult r = daemon_->Deploy(*service_);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    fs::remove_all(*data_);
    delete data_;
    delete service_;
  }

  static json::object FunctionStatus(const std::string& name) {
    HttpResult r = daemon_->Admin("GET", "/v1/functions/" + name);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }

  static inline Daemon* daemon_ = nullptr;
  static inline fs::path* data_ = nullptr;
  static inline fs::path* service_ = nullptr;
};

TEST_F(PlatformTest, ServesARouteThroughTheAliasWithTheVersionHeader) {
  HttpResult r = daemon_->Gateway("GET", "/ok");
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(r.body, "ok v1 hello");
  EXPECT_EQ(r.headers["x-cutover-version"], "1");
  EXPECT_EQ(r.headers["content-type"], "text/plain");
}

TEST_F(PlatformTest, HttpApiRouteUsesPayloadFormat2) {
  HttpResult r = daemon_->Gateway("GET", "/v2/ok");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "ok v1 hello");

  // DataProcessed: request body (none) + response body bytes, under the route's ApiId sets. The
  // ApiId is the daemon's to derive: found through the metric list once the tick wrote it.
  std::string api_id;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       api_id.empty() && std::chrono::steady_clock::now() < until;) {
    HttpResult list = daemon_->Admin("GET", "/v1/metrics");
    ASSERT_EQ(list.status, 200) << list.body;
    const json::value listed = json::parse(list.body);
    for (const auto& m : listed.as_object().at("metrics").as_array()) {
      const json::object& o = m.as_object();
      const json::object& dims = o.at("dimensions").as_object();
      if (o.at("name") == "DataProcessed" && dims.contains("Route") &&
          dims.at("Route") == "GET /v2/ok") {
        api_id = std::string(dims.at("ApiId").as_string());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a tick is 100 ms
  }
  ASSERT_FALSE(api_id.empty());
  HttpResult q = daemon_->Admin(
      "GET", "/v1/metrics/query?namespace=AWS/ApiGateway&name=DataProcessed&dimensions=ApiId=" +
                 api_id + "&statistic=Sum&period=60&minutes=5");
  ASSERT_EQ(q.status, 200) << q.body;
  double bytes = 0;
  const json::value answer = json::parse(q.body);
  for (const auto& dp : answer.as_object().at("datapoints").as_array()) {
    const json::value& value = dp.as_object().at("value");
    if (value.is_number()) bytes += value.to_number<double>();
  }
  EXPECT_EQ(bytes, r.body.size());

  // The same query in a batch (POST /v1/metrics/data), after another one, answers the same.
  const json::array& points = answer.as_object().at("datapoints").as_array();
  ASSERT_FALSE(points.empty());
  const int64_t start = points.front().as_object().at("timestamp").to_number<int64_t>();
  const int64_t end = points.back().as_object().at("timestamp").to_number<int64_t>() + 60000;
  const std::string window = "&start=" + std::to_string(start) + "&end=" + std::to_string(end);
  HttpResult single = daemon_->Admin(
      "GET", "/v1/metrics/query?namespace=AWS/ApiGateway&name=DataProcessed&dimensions=ApiId=" +
                 api_id + "&statistic=Sum&period=60" + window);
  ASSERT_EQ(single.status, 200) << single.body;
  auto query = [&](const char* id, const char* name) {
    json::object q;
    q["id"] = id;
    q["namespace"] = "AWS/ApiGateway";
    q["name"] = name;
    q["statistic"] = "Sum";
    q["period"] = 60;
    q["start"] = start;
    q["end"] = end;
    q["dimensions"] = json::object{{"ApiId", api_id}};
    return q;
  };
  json::object request;
  request["queries"] = json::array{query("count", "Count"), query("bytes", "DataProcessed")};
  HttpResult batch = daemon_->Admin("POST", "/v1/metrics/data", json::serialize(request));
  ASSERT_EQ(batch.status, 200) << batch.body;
  const json::value batch_answer = json::parse(batch.body);
  const json::array& results = batch_answer.as_object().at("results").as_array();
  ASSERT_EQ(results.size(), 2u) << batch.body;
  EXPECT_EQ(results[0].as_object().at("id"), "count");
  EXPECT_EQ(std::string(results[0].as_object().at("metric").as_string())
                .rfind("AWS/ApiGateway Count ", 0),
            0u);
  json::object expected = json::parse(single.body).as_object();
  expected["id"] = "bytes";
  EXPECT_EQ(results[1], expected) << batch.body << "\n" << single.body;

  HttpResult refused = daemon_->Admin(
      "POST", "/v1/metrics/data",
      R"({"queries": [{"namespace": "N", "name": "M"}, {"namespace": "N", "name": "M", "period": -1}]})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("queries[1].period"), std::string::npos) << refused.body;
}

TEST_F(PlatformTest, UnknownRouteIsMissingAuthenticationToken) {
  HttpResult r = daemon_->Gateway("GET", "/nowhere");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, R"({"message":"Missing Authentication Token"})");
}

TEST_F(PlatformTest, EventCarriesTheRequest) {
  HttpResult r = daemon_->Gateway("PUT", "/echo/a/b?x=1&x=2", "payload", {{"X-Thing", "yes"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json::object event = json::parse(r.body).as_object();
  EXPECT_EQ(event["resource"].as_string(), "/echo/{proxy+}");
  EXPECT_EQ(event["path"].as_string(), "/echo/a/b");
  EXPECT_EQ(event["httpMethod"].as_string(), "PUT");
  EXPECT_EQ(event["body"].as_string(), "payload");
  EXPECT_EQ(event["pathParameters"].as_object()["proxy"].as_string(), "a/b");
  EXPECT_EQ(event["multiValueQueryStringParameters"].as_object()["x"], json::parse(R"(["1","2"])"));
  EXPECT_EQ(event["queryStringParameters"].as_object()["x"].as_string(), "2");
  EXPECT_EQ(event["headers"].as_object()["X-Thing"].as_string(), "yes");
  auto ctx = event["requestContext"].as_object();
  EXPECT_EQ(ctx["path"].as_string(), "/dev/echo/a/b");
  EXPECT_EQ(ctx["stage"].as_string(), "dev");
  EXPECT_EQ(ctx["identity"].as_object()["sourceIp"].as_string(), "127.0.0.1");
  EXPECT_TRUE(ctx["requestTimeEpoch"].is_int64());
}

TEST_F(PlatformTest, FunctionErrorIs502) {
  HttpResult r = daemon_->Gateway("GET", "/error");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, R"({"message": "Internal server error"})");
}

TEST_F(PlatformTest, MalformedResponseIs502) {
  EXPECT_EQ(daemon_->Gateway("GET", "/malformed").status, 502);
}

TEST_F(PlatformTest, TimeoutIs502AndTheInstanceIsReplaced) {
  const std::string name = "behaviours-dev-slow";
  HttpResult r = daemon_->Gateway("GET", "/slow");
  EXPECT_EQ(r.status, 502) << r.body;
  // The timed-out instance was killed; the pool counts the replacement.
  json::object fn = FunctionStatus(name);
  auto pool = fn["versions"].as_array()[0].as_object()["pool"].as_object();
  EXPECT_GE(pool["restarts"].as_int64(), 1);
  EXPECT_EQ(pool["busy"].as_int64(), 0);
}

TEST_F(PlatformTest, CrashIs502ThenTheNextRequestGetsAFreshInstance) {
  EXPECT_EQ(daemon_->Gateway("GET", "/crash").status, 502);
  // The crash function always crashes; what must recover is the platform: other functions still
  // serve, and the crashed pool accepts the next request (and answers 502 again, not a hang).
  EXPECT_EQ(daemon_->Gateway("GET", "/crash").status, 502);
  EXPECT_EQ(daemon_->Gateway("GET", "/ok").status, 200);
}

TEST_F(PlatformTest, CrashIs502ThenTheSameFunctionRecoversOnAFreshInstance) {
  EXPECT_EQ(daemon_->Gateway("GET", "/crashonce").status, 502);
  HttpResult r = daemon_->Gateway("GET", "/crashonce");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "recovered");
}

TEST_F(PlatformTest, IntegrationTimeoutIs504) {
  // The daemon runs with a 1.5 s integration timeout; `hang` takes 5 s within its 10 s timeout.
  HttpResult r = daemon_->Gateway("GET", "/hang");
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.body, R"({"message": "Endpoint request timed out"})");
}

TEST_F(PlatformTest, HeadAnswersCarryNoBodyAndKeepTheConnectionUsable) {
  HttpClient client("127.0.0.1", daemon_->gateway_port());
  HttpResult head = client.Request("HEAD", "/nowhere");
  EXPECT_EQ(head.status, 403);
  HttpResult next = client.Request("GET", "/ok");
  EXPECT_EQ(next.status, 200) << next.error;
  EXPECT_EQ(next.body, "ok v1 hello");
}

TEST_F(PlatformTest, InvokeApiTakesALargePayload) {
  std::string payload = R"({"data":")" + std::string(4 * 1024 * 1024, 'a') + R"("})";
  HttpResult r =
      daemon_->Admin("POST", "/2015-03-31/functions/behaviours-dev-echo/invocations", payload);
  ASSERT_EQ(r.status, 200) << r.error << r.body.substr(0, 200);
  auto echoed = json::parse(r.body).as_object();
  EXPECT_EQ(echoed["body"].as_string().size(), payload.size());
  HttpResult too_big =
      daemon_->Admin("POST", "/2015-03-31/functions/behaviours-dev-echo/invocations",
                     std::string(6 * 1024 * 1024 + 1, ' '));
  EXPECT_EQ(too_big.status, 413);
}

TEST_F(PlatformTest, BodyOverTenMegabytesIs413) {
  std::string body(10 * 1024 * 1024 + 1, 'x');
  HttpResult r = daemon_->Gateway("POST", "/upload", body);
  EXPECT_EQ(r.status, 413) << r.error;
}

TEST_F(PlatformTest, ConcurrencyLimitAndFullQueueIs429) {
  // testdata/gate runs the compiled proxy_bootstrap with reservedConcurrency 1: each invocation
  // blocks until `release` exists. One busy instance and a full queue (10 per allowed instance)
  // make the next invocation throttled whatever the machine's speed.
  fs::path root = MakeTempDir("cutover-gate");
  fs::path service = root / "service";
  fs::create_directories(service);
  fs::copy_file(SourceDir() / "tests/integration/testdata/gate/serverless.yml",
                service / "serverless.yml");
  fs::copy_file(CUTOVER_PROXY_BOOTSTRAP, service / "bootstrap");
  fs::permissions(service / "bootstrap", fs::perms::owner_all | fs::perms::group_read |
                                             fs::perms::group_exec | fs::perms::others_read |
                                             fs::perms::others_exec);
  const fs::path release = root / "release";
  CommandResult deployed = daemon_->Deploy(service, {"--opt", "gate=" + release.string()});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err;

  // Whatever fails below, the blocked invocations are released (and their calls joined) before
  // the test returns, so they neither outlive it nor hold the shared daemon.
  std::vector<std::future<HttpResult>> held;
  struct Release {
    fs::path file;
    std::vector<std::future<HttpResult>>& calls;
    ~Release() {
      { std::ofstream touch(file); }
      for (auto& c : calls) {
        if (c.valid()) c.wait();
      }
      fs::remove_all(file.parent_path());
    }
  } release_on_exit{release, held};

  // Through the Invoke API, which has no integration timeout: these wait for the release.
  const std::string invoke = "/2015-03-31/functions/gate-dev-gate/invocations?Qualifier=1";
  constexpr int kAdmitted = 1 + 10;  // one running, ten queued
  for (int i = 0; i < kAdmitted; ++i) {
    held.push_back(
        std::async(std::launch::async, [invoke] { return daemon_->Admin("POST", invoke, "{}"); }));
  }
  // Wait (with a deadline) until the pool holds them all: one busy, ten queued.
  int64_t busy = -1, queued = -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    json::object fn = FunctionStatus("gate-dev-gate");
    auto pool = fn["versions"].as_array()[0].as_object()["pool"].as_object();
    busy = pool["busy"].as_int64();
    queued = pool["queued"].as_int64();
    if (busy == 1 && queued == 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the pool's state
  }
  ASSERT_EQ(busy, 1);
  ASSERT_EQ(queued, 10);

  // ConcurrentExecutions, sampled by the control tick: the one executing invocation, not the ten
  // queued behind it.
  auto peak = [] {
    HttpResult q = daemon_->Admin(
        "GET",
        "/v1/metrics/query?namespace=AWS/Lambda&name=ConcurrentExecutions&dimensions="
        "FunctionName=gate-dev-gate&statistic=Maximum&period=60&minutes=5");
    EXPECT_EQ(q.status, 200) << q.body;
    double most = -1;
    boost::system::error_code ec;
    json::value v = json::parse(q.body, ec);
    if (ec) return most;
    for (const auto& dp : v.as_object().at("datapoints").as_array()) {
      const json::value& value = dp.as_object().at("value");
      if (value.is_number()) most = std::max(most, value.to_number<double>());
    }
    return most;
  };
  double concurrent = -1;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       concurrent < 0 && std::chrono::steady_clock::now() < until;) {
    concurrent = peak();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a tick is 100 ms
  }
  EXPECT_EQ(concurrent, 1);

  // The pool is full, so the gateway throttles at once, and so does the Invoke API.
  HttpResult throttled = daemon_->Gateway("GET", "/gate");
  EXPECT_EQ(throttled.status, 429) << throttled.body << throttled.error;
  EXPECT_EQ(throttled.body, R"({"message":"Too Many Requests"})");
  EXPECT_EQ(throttled.headers["x-cutover-version"], "1");
  HttpResult refused = daemon_->Admin("POST", invoke, "{}");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.headers["x-amzn-errortype"], "TooManyRequestsException");

  // Released, every admitted invocation completes, and the pool serves again.
  { std::ofstream touch(release); }
  for (auto& c : held) {
    HttpResult r = c.get();
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(r.headers["x-amz-function-error"], "");
    boost::system::error_code ec;
    json::value payload = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(payload.as_object()["body"], "released") << r.body;
  }
  HttpResult again = daemon_->Gateway("GET", "/gate");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body, "released");
}

TEST_F(PlatformTest, InvokeApiRequestResponseEventAndDryRun) {
  const std::string path = "/2015-03-31/functions/behaviours-dev-echo/invocations";
  HttpResult r = daemon_->Admin("POST", path, R"({"hello":"world"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-amz-executed-version"], "$LATEST");  // unqualified runs $LATEST
  auto echoed = json::parse(r.body).as_object();
  EXPECT_EQ(json::parse(echoed["body"].as_string()), json::parse(R"({"hello":"world"})"));

  r = daemon_->Admin("POST", path, "{}", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(r.status, 202);
  r = daemon_->Admin("POST", path, "{}", {{"X-Amz-Invocation-Type", "DryRun"}});
  EXPECT_EQ(r.status, 204);
}

TEST_F(PlatformTest, InvokeApiByArnWithAliasQualifier) {
  HttpResult r = daemon_->Admin(
      "POST",
      "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:behaviours-dev-ok/"
      "invocations?Qualifier=Live",
      "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-amz-executed-version"], "1");
}

TEST_F(PlatformTest, InvokeApiReportsFunctionErrors) {
  // An invocation through the Invoke API counts in AWS/Lambda as one through the gateway does: one
  // more invocation, one more error (other tests of the suite may share the daemon and call it).
  auto sum = [](const char* metric) {
    HttpResult q = daemon_->Admin(
        "GET",
        std::string("/v1/metrics/query?namespace=AWS/Lambda&name=") + metric +
            "&dimensions=FunctionName=behaviours-dev-error&statistic=Sum&period=60&minutes=5");
    double total = 0;
    boost::system::error_code ec;
    json::value v = json::parse(q.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("datapoints")) return -1.0;
    for (const auto& dp : v.as_object().at("datapoints").as_array()) {
      const json::value& value = dp.as_object().at("value");
      if (value.is_number()) total += value.to_number<double>();
    }
    return total;
  };
  const double errors_before = sum("Errors"), invocations_before = sum("Invocations");
  ASSERT_GE(errors_before, 0);

  HttpResult r =
      daemon_->Admin("POST", "/2015-03-31/functions/behaviours-dev-error/invocations", "{}");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-amz-function-error"], "Unhandled");
  EXPECT_EQ(json::parse(r.body).as_object()["errorType"].as_string(), "BrokenError");

  r = daemon_->Admin("POST", "/2015-03-31/functions/nope/invocations", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers["x-amzn-errortype"], "ResourceNotFoundException");

  EXPECT_TRUE(WaitFor([&] { return sum("Errors") == errors_before + 1; }, std::chrono::seconds(10)))
      << sum("Errors") << " errors, " << errors_before << " before";
  EXPECT_EQ(sum("Invocations"), invocations_before + 1);
}

TEST_F(PlatformTest, CliInvokeExitsOneOnFunctionError) {
  CommandResult ok = RunCutover({"invoke", "behaviours-dev-ok", "--admin", daemon_->admin_url()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ok v1"), std::string::npos);
  CommandResult bad = RunCutover({"invoke", "error", "--admin", daemon_->admin_url()});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
}

TEST_F(PlatformTest, LogsHaveLambdaLines) {
  ASSERT_EQ(daemon_->Gateway("GET", "/ok").status, 200);
  // Function output reaches the log through a pipe, after the response: wait for it with a
  // deadline.
  CommandResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    r = RunCutover({"logs", "behaviours-dev-ok", "--admin", daemon_->admin_url()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  } while (r.out.find("REPORT RequestId: ") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_NE(r.out.find("START RequestId: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("END RequestId: "), std::string::npos);
  EXPECT_NE(r.out.find("REPORT RequestId: "), std::string::npos);
  EXPECT_NE(r.out.find("Init Duration: "), std::string::npos);
  EXPECT_NE(r.out.find("handling "), std::string::npos);
}

TEST_F(PlatformTest, RedeployWithoutChangesPublishesNoNewVersion) {
  CommandResult r = daemon_->Deploy(*service_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object out = json::parse(r.out).as_object();
  for (const auto& f : out["functions"].as_array()) {
    EXPECT_FALSE(f.as_object().at("created").as_bool()) << json::serialize(f);
    EXPECT_EQ(f.as_object().at("version").as_int64(), 1);
  }
}

TEST_F(PlatformTest, CannotReachDaemonExitsThree) {
  CommandResult r = RunCutover({"status", "--admin", "http://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cutover serve"), std::string::npos) << r.err;
}

// Each gateway worker thread, by name, with the CPUs it may run on (Cpus_allowed_list).
std::map<std::string, std::string> WorkerCpuLists(pid_t pid) {
  std::map<std::string, std::string> out;
  for (const auto& [name, dir] : procfs::ThreadsOf(pid)) {
    if (name.starts_with("gateway-")) out[name] = procfs::StatusField(dir, "Cpus_allowed_list");
  }
  return out;
}

// The workers name (and pin) themselves when their threads start, which may be just after the
// daemon reports it is listening: waits, with a deadline, until `count` of them have.
std::map<std::string, std::string> WaitForWorkers(pid_t pid, size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::map<std::string, std::string> lists = WorkerCpuLists(pid);
  while (lists.size() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
    lists = WorkerCpuLists(pid);
  }
  return lists;
}

// Pinned, each worker keeps its connections, its instances' Runtime API endpoints and (through
// the kernel's wake-affine rule) those instances on one core: docs/PERFORMANCE.md measured what
// that saves. --no-pin-workers leaves them on every core the daemon may use.
TEST(WorkerThreadsTest, EachGatewayWorkerIsPinnedToACoreOfItsOwnUnlessToldNot) {
  const std::vector<int> allowed = AllowedCpus();
  if (allowed.size() < 2) GTEST_SKIP() << "one core: nothing is pinned";
  fs::path data = MakeTempDir("cutover-workers");
  auto pinned = Daemon::Start(data / "pinned", {"--workers", "2"});
  std::map<std::string, std::string> lists = WaitForWorkers(pinned->pid(), 2);
  EXPECT_EQ(lists, (std::map<std::string, std::string>{{"gateway-0", std::to_string(allowed[0])},
                                                       {"gateway-1", std::to_string(allowed[1])}}));
  EXPECT_NE(pinned->Log().find("gateway workers pinned to CPUs"), std::string::npos)
      << pinned->Log();
  EXPECT_TRUE(pinned->Stop());

  auto floating = Daemon::Start(data / "floating", {"--workers", "2", "--no-pin-workers"});
  lists = WaitForWorkers(floating->pid(), 2);
  ASSERT_EQ(lists.size(), 2u);
  for (const auto& [name, list] : lists) {
    EXPECT_EQ(list.find_first_of(",-") != std::string::npos, true) << name << ": " << list;
  }
  EXPECT_TRUE(floating->Stop());
  fs::remove_all(data);
}

}  // namespace
}  // namespace cutover::testing
