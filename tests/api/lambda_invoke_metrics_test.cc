// The Lambda Invoke API counts its invocations in AWS/Lambda's Invocations, Errors, Throttles and
// Duration under the same dimension sets as a gateway invocation, so an alarm on a function's
// Errors sees the errors of calls made through `aws lambda invoke` too.
//
// LambdaInvokeHandler runs over a real Publisher (in-memory store, a published service), a
// runtime that answers at once by the payload, a fake clock and a real PlatformMetrics; the
// handler's coroutine runs on an io_context standing in for the control loop.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "api/lambda_invoke.h"
#include "config/loader.h"
#include "metrics/platform_metrics.h"
#include "metrics/series_store.h"
#include "metrics/statistic.h"
#include "package/package.h"
#include "router/snapshot.h"
#include "store/state_store.h"

namespace cutover::api {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace http = boost::beast::http;

constexpr int64_t kT0 = 1'800'000'000'000;  // a whole minute, epoch ms
constexpr char kApi[] = "svc-dev-api";      // alias Live at version 1
constexpr char kPlain[] = "svc-dev-plain";  // version 1, no alias

constexpr char kServerlessYml[] = R"(service: svc
provider:
  name: aws
  runtime: provided.al2
  stage: dev
functions:
  api:
    handler: bootstrap
    deploymentSettings:
      type: AllAtOnce
      alias: Live
  plain:
    handler: bootstrap
)";

// Answers every invocation at once, by the payload's first key: {"error"...} a function error,
// {"timeout"...} a timeout, {"throttle"...} throttled, {"notfound"...} not found; anything else
// succeeds. Each invocation that runs takes 7 ms of function time and, to show which time the
// metrics use, moves the clock on by `advance`.
class AnsweringRuntime final : public runtime::RuntimeService {
 public:
  explicit AnsweringRuntime(FakeClock& clock) : clock_(clock) {}
  void Register(const runtime::InstanceConfig&) override {}
  void Retire(const runtime::VersionKey&) override {}
  Status Prewarm(const runtime::VersionKey&, int) override { return Status::Ok(); }
  void Invoke(const runtime::VersionKey& key, runtime::Invocation invocation,
              runtime::InvokeCallback done) override {
    runtime::InvokeResult r;
    r.executed_version = key.version;
    r.duration_ms = 7;
    const std::string& p = invocation.payload;
    if (p.starts_with(R"({"error")")) {
      r.outcome = runtime::InvokeOutcome::kFunctionError;
      r.error_type = "Boom";
      r.payload = R"({"errorType":"Boom","errorMessage":"it broke"})";
    } else if (p.starts_with(R"({"timeout")")) {
      r.outcome = runtime::InvokeOutcome::kTimeout;
    } else if (p.starts_with(R"({"throttle")")) {
      r.outcome = runtime::InvokeOutcome::kThrottled;
      r.duration_ms = 0;
    } else if (p.starts_with(R"({"notfound")")) {
      r.outcome = runtime::InvokeOutcome::kNotFound;
      r.duration_ms = 0;
    } else {
      r.payload = p;
    }
    clock_.Advance(advance);
    done(std::move(r));
  }
  bool TakesHttp(const runtime::VersionKey&) const override { return false; }
  void InvokeHttp(const runtime::VersionKey&, runtime::HttpInvocation,
                  runtime::HttpCallback done) override {
    done(runtime::HttpResult{});
  }
  void Tick() override {}
  runtime::PoolStats Stats(const runtime::VersionKey&) const override { return {}; }
  void Shutdown() override {}

  std::chrono::milliseconds advance{0};

 private:
  FakeClock& clock_;
};

class LambdaInvokeMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/cutover-invoke-metrics-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
    const fs::path service = root_ / "service";
    fs::create_directories(service);
    std::ofstream(service / "serverless.yml") << kServerlessYml;
    std::ofstream(service / "bootstrap") << "#!/bin/sh\n";
    chmod((service / "bootstrap").c_str(), 0755);

    deploy::PublisherSettings settings{root_ / "data"};
    settings.random_seed = 3;
    publisher_ = std::make_unique<deploy::Publisher>(settings, *store_, runtime_, routes_, clock_);
    ASSERT_TRUE(publisher_->Restore().ok());
    config::LoadOptions options;
    options.getenv = [](const std::string&) { return std::optional<std::string>(); };
    auto spec = config::LoadServiceSpec(service / "serverless.yml", options);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    auto package = package::CreatePackage(service, {});
    ASSERT_TRUE(package.ok()) << package.status().ToString();
    ASSERT_TRUE(publisher_->PutArtifact(package->sha256, package->bytes).ok());
    auto report = publisher_->PublishService(*spec, package->sha256);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    handler_.emplace(*publisher_, runtime_, "us-east-1", &platform_, &clock_);
  }
  void TearDown() override {
    handler_.reset();
    publisher_.reset();
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  // One Invoke API call, run to completion on the "control loop" (and whatever it posted there).
  Response Invoke(const std::string& name, const std::string& qualifier, const std::string& payload,
                  const std::string& type = "") {
    Request req{http::verb::post, "/2015-03-31/functions/" + name + "/invocations", 11};
    if (!type.empty()) req.set("X-Amz-Invocation-Type", type);
    req.body() = payload;
    std::optional<Response> out;
    asio::co_spawn(control_, handler_->Handle(req, name, qualifier),
                   [&out](std::exception_ptr e, Response res) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(res);
                   });
    control_.restart();
    control_.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(Response{});
  }

  // Sum (or another statistic) of AWS/Lambda `metric` under `dims` in the minute of kT0; nullopt
  // when the series has no data there.
  std::optional<double> Value(const char* metric, const metrics::Dimensions& dims,
                              const char* statistic = "Sum") const {
    auto stat = metrics::ParseStatistic(statistic);
    EXPECT_TRUE(stat.ok());
    auto points =
        metrics_.Query(metrics::MakeKey("AWS/Lambda", metric, dims), *stat, kT0, kT0 + 60'000, 60);
    return points.size() == 1 ? points[0].value : std::nullopt;
  }
  bool Exists(const char* metric, const metrics::Dimensions& dims) const {
    return metrics_.Find(metrics::MakeKey("AWS/Lambda", metric, dims)) != nullptr;
  }

  static metrics::Dimensions Fn(const std::string& fn) { return {{"FunctionName", fn}}; }
  static metrics::Dimensions Resource(const std::string& fn, const std::string& qualifier) {
    return {{"FunctionName", fn}, {"Resource", fn + ":" + qualifier}};
  }

  fs::path root_;
  FakeClock clock_{FromEpochMillis(kT0 + 1'000)};
  AnsweringRuntime runtime_{clock_};
  router::RouteTableSnapshot routes_;
  std::unique_ptr<store::StateStore> store_ = store::CreateMemoryStore();
  std::unique_ptr<deploy::Publisher> publisher_;
  metrics::MetricsStore metrics_;
  metrics::PlatformMetrics platform_{metrics_};
  asio::io_context control_;
  std::optional<LambdaInvokeHandler> handler_;
};

TEST_F(LambdaInvokeMetricsTest, FunctionErrorsCountInErrorsWithInvocationsAndDuration) {
  Response ok = Invoke(kPlain, "", R"({"hello": 1})");
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(ok.count("X-Amz-Function-Error"), 0u);
  Response failed = Invoke(kPlain, "", R"({"error": 1})");
  EXPECT_EQ(failed.result_int(), 200);
  EXPECT_EQ(failed["X-Amz-Function-Error"], "Unhandled");
  Response timed_out = Invoke(kPlain, "", R"({"timeout": 1})");
  EXPECT_EQ(timed_out["X-Amz-Function-Error"], "Unhandled");

  EXPECT_EQ(Value("Invocations", Fn(kPlain)), 3);
  EXPECT_EQ(Value("Errors", Fn(kPlain)), 2);  // the function error and the timeout
  EXPECT_EQ(Value("Errors", Fn(kPlain), "Average"), 2.0 / 3);
  EXPECT_EQ(Value("Throttles", Fn(kPlain)), 0);
  EXPECT_EQ(Value("Duration", Fn(kPlain), "Maximum"), 7);
  EXPECT_EQ(Value("Duration", Fn(kPlain), "SampleCount"), 3);
  // Unqualified ($LATEST) calls have no Resource: Lambda's Resource is a version or an alias.
  EXPECT_FALSE(Exists("Invocations", Resource(kPlain, "1")));
  EXPECT_FALSE(Exists("Invocations", Resource(kPlain, "$LATEST")));
  Invoke(kPlain, "$LATEST", R"({"error": 1})");
  EXPECT_EQ(Value("Errors", Fn(kPlain)), 3);
  EXPECT_FALSE(Exists("Errors", Resource(kPlain, "$LATEST")));
}

TEST_F(LambdaInvokeMetricsTest, VersionAndAliasQualifiersGetTheirResourceDimensions) {
  Invoke(kPlain, "1", R"({"error": 1})");
  EXPECT_EQ(Value("Invocations", Resource(kPlain, "1")), 1);
  EXPECT_EQ(Value("Errors", Resource(kPlain, "1")), 1);
  EXPECT_EQ(Value("Errors", Fn(kPlain)), 1);

  // Through the alias, by name or in the ARN: Resource = fn:Live, plus ExecutedVersion.
  Invoke(kApi, "Live", R"({"error": 1})");
  Invoke(std::string("arn:aws:lambda:us-east-1:000000000000:function:") + kApi + ":Live", "",
         R"({"fine": 1})");
  metrics::Dimensions executed = Resource(kApi, "Live");
  executed.insert(executed.begin(), {"ExecutedVersion", "1"});
  for (const metrics::Dimensions& dims : {Fn(kApi), Resource(kApi, "Live"), executed}) {
    EXPECT_EQ(Value("Invocations", dims), 2);
    EXPECT_EQ(Value("Errors", dims), 1);
    EXPECT_EQ(Value("Duration", dims, "SampleCount"), 2);
  }
  // The version itself was not the qualifier of these calls.
  EXPECT_FALSE(Exists("Invocations", Resource(kApi, "1")));
}

TEST_F(LambdaInvokeMetricsTest, ThrottlesAreNotInvocationsAndRefusalsCountNothing) {
  Response throttled = Invoke(kPlain, "", R"({"throttle": 1})");
  EXPECT_EQ(throttled.result_int(), 429);
  EXPECT_EQ(Value("Throttles", Fn(kPlain)), 1);
  EXPECT_EQ(Value("Invocations", Fn(kPlain)), std::nullopt);
  EXPECT_EQ(Value("Errors", Fn(kPlain)), std::nullopt);

  // Nothing ran: a missing function or qualifier, a bad payload, a dry run, a pool that is gone.
  EXPECT_EQ(Invoke("svc-dev-missing", "", "{}").result_int(), 404);
  EXPECT_EQ(Invoke(kApi, "Nope", "{}").result_int(), 404);
  EXPECT_EQ(Invoke(kApi, "", "not json").result_int(), 400);
  EXPECT_EQ(Invoke(kApi, "", "{}", "DryRun").result_int(), 204);
  EXPECT_EQ(Invoke(kApi, "", R"({"notfound": 1})").result_int(), 404);
  EXPECT_FALSE(Exists("Invocations", Fn(kApi)));
  EXPECT_FALSE(Exists("Invocations", Fn("svc-dev-missing")));
}

// `Event` invocations end on the runtime's thread; their result is posted to the control loop
// and counted there.
TEST_F(LambdaInvokeMetricsTest, EventInvocationsAreCountedWhenTheyEnd) {
  EXPECT_EQ(Invoke(kPlain, "", R"({"error": 1})", "Event").result_int(), 202);
  EXPECT_EQ(Invoke(kPlain, "", R"({"fine": 1})", "Event").result_int(), 202);
  EXPECT_EQ(Value("Invocations", Fn(kPlain)), 2);
  EXPECT_EQ(Value("Errors", Fn(kPlain)), 1);
}

// Lambda stamps its metrics with the invocation's start: a call that ends in the next minute
// still counts in the minute it started.
TEST_F(LambdaInvokeMetricsTest, DatapointsCarryTheInvocationsStartTime) {
  runtime_.advance = std::chrono::seconds(90);
  Invoke(kPlain, "", R"({"error": 1})");
  EXPECT_GE(ToEpochMillis(clock_.Now()), kT0 + 60'000);
  EXPECT_EQ(Value("Errors", Fn(kPlain)), 1);
}

// Without metrics (serve --no-metrics) the handler answers as before and counts nothing.
TEST_F(LambdaInvokeMetricsTest, WithoutMetricsNothingIsCounted) {
  handler_.emplace(*publisher_, runtime_, "us-east-1");
  Response failed = Invoke(kPlain, "", R"({"error": 1})");
  EXPECT_EQ(failed["X-Amz-Function-Error"], "Unhandled");
  EXPECT_EQ(metrics_.series_count(), 0u);
}

}  // namespace
}  // namespace cutover::api
