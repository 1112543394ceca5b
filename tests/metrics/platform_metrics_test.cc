// PlatformMetrics' sampled metric, ConcurrentExecutions (RecordConcurrency), and HTTP APIs'
// DataProcessed, on a fake clock that ticks every 100 ms as the daemon's control loop does.
#include "metrics/platform_metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "allocation_counter.h"
#include "common/clock.h"
#include "metrics/recorder.h"
#include "metrics/series_store.h"

namespace cutover::metrics {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;  // a whole minute, in ms
constexpr char kWeb[] = "svc-dev-web";
constexpr char kOther[] = "svc-dev-other";

Statistic Stat(std::string_view text) {
  auto s = ParseStatistic(text);
  EXPECT_TRUE(s.ok()) << text;
  return *s;
}

class ConcurrencyTest : public ::testing::Test {
 protected:
  // One control tick, 100 ms after the previous one.
  void Tick(std::vector<VersionConcurrency> peaks) {
    clock_.Advance(std::chrono::milliseconds(100));
    platform_.RecordConcurrency(ToEpochMillis(clock_.Now()), peaks, aliases_);
  }

  // The statistic of ConcurrentExecutions under `dims` over [start, start + period).
  std::optional<double> Value(const Dimensions& dims, const char* statistic, int64_t start = kT0,
                              int period_s = 1) {
    auto points = store_.Query(MakeKey("AWS/Lambda", "ConcurrentExecutions", dims), Stat(statistic),
                               start, start + period_s * 1000, period_s);
    EXPECT_EQ(points.size(), 1u);
    return points.empty() ? std::nullopt : points[0].value;
  }
  bool Exists(const Dimensions& dims) const {
    return store_.Find(MakeKey("AWS/Lambda", "ConcurrentExecutions", dims)) != nullptr;
  }

  static Dimensions Resource(const std::string& function, const std::string& qualifier) {
    return {{"FunctionName", function}, {"Resource", function + ":" + qualifier}};
  }

  FakeClock clock_{FromEpochMillis(kT0)};
  MetricsStore store_;
  PlatformMetrics platform_{store_};
  // The web function's alias sends a share of its traffic to version 2.
  std::vector<AliasVersions> aliases_ = {{kWeb, "Live", 1, 2}};
};

TEST_F(ConcurrencyTest, MaximumPerSecondUnderEveryDimensionSet) {
  Tick({{kWeb, 1, 3}, {kWeb, 2, 1}, {kOther, 5, 2}});  // kT0 + 100
  Tick({{kWeb, 1, 5}, {kWeb, 2, 0}, {kOther, 5, 0}});
  Tick({{kWeb, 1, 2}, {kWeb, 2, 2}, {kOther, 5, 0}});
  Tick({{kWeb, 1, 0}, {kWeb, 2, 0}, {kOther, 5, 0}});  // kT0 + 400: all idle again

  // Per version: the peak of its ticks.
  EXPECT_EQ(Value(Resource(kWeb, "1"), "Maximum"), 5);
  EXPECT_EQ(Value(Resource(kWeb, "2"), "Maximum"), 2);
  EXPECT_EQ(Value(Resource(kOther, "5"), "Maximum"), 2);
  // The alias and the function: per tick the sum of the versions (4, 5, 4), then its peak.
  EXPECT_EQ(Value(Resource(kWeb, "Live"), "Maximum"), 5);
  EXPECT_EQ(Value({{"FunctionName", kWeb}}, "Maximum"), 5);
  EXPECT_EQ(Value({{"FunctionName", kOther}}, "Maximum"), 2);
  // The account: every function (6, 5, 4).
  EXPECT_EQ(Value({}, "Maximum"), 6);
  EXPECT_EQ(Value({}, "Maximum", kT0, 60), 6);

  // Datapoints while busy and one 0 when it drops back: the other function's tick 1 and tick 2.
  EXPECT_EQ(Value({{"FunctionName", kOther}}, "SampleCount"), 2);
  EXPECT_EQ(Value({{"FunctionName", kOther}}, "Minimum"), 0);
  EXPECT_EQ(Value(Resource(kWeb, "1"), "SampleCount"), 4);
  EXPECT_EQ(Value({}, "Minimum"), 0);

  // Idle through kT0 + 2000: no data in second 1, as Lambda publishes nothing for a function that
  // does not run.
  for (int i = 0; i < 16; ++i) Tick({{kWeb, 1, 0}, {kWeb, 2, 0}, {kOther, 5, 0}});
  EXPECT_EQ(Value({}, "SampleCount", kT0 + 1000), std::nullopt);
  EXPECT_EQ(Value(Resource(kWeb, "Live"), "Maximum", kT0 + 1000), std::nullopt);

  // Busy again (kT0 + 2100): data again.
  Tick({{kWeb, 2, 7}});
  EXPECT_EQ(Value(Resource(kWeb, "Live"), "Maximum", kT0 + 2000), 7);
  EXPECT_EQ(Value({}, "Maximum", kT0 + 2000), 7);
  EXPECT_EQ(Value(Resource(kWeb, "1"), "Maximum", kT0 + 2000), std::nullopt);
}

TEST_F(ConcurrencyTest, OnlyTheDimensionSetsLambdaPublishesAndNoSeriesForIdleVersions) {
  Tick({{kWeb, 1, 1}, {kWeb, 3, 0}});
  EXPECT_TRUE(Exists({}));
  EXPECT_TRUE(Exists({{"FunctionName", kWeb}}));
  EXPECT_TRUE(Exists(Resource(kWeb, "1")));
  EXPECT_TRUE(Exists(Resource(kWeb, "Live")));
  EXPECT_FALSE(Exists(Resource(kWeb, "3")));  // never busy
  EXPECT_FALSE(Exists(Resource(kWeb, "2")));
  EXPECT_FALSE(
      Exists({{"ExecutedVersion", "1"}, {"FunctionName", kWeb}, {"Resource", "svc-dev-web:Live"}}));
  EXPECT_EQ(store_.series_count(), 4u);
}

TEST_F(ConcurrencyTest, AVersionListedTwiceAddsUp) {
  // A retired pool still draining beside a new pool of the same version.
  Tick({{kWeb, 1, 2}, {kWeb, 1, 1}});
  EXPECT_EQ(Value(Resource(kWeb, "1"), "Maximum"), 3);
  EXPECT_EQ(Value(Resource(kWeb, "Live"), "Maximum"), 3);
  EXPECT_EQ(Value({}, "Maximum"), 3);
}

TEST_F(ConcurrencyTest, AnAliasCountsOnlyTheVersionsItRoutesToNow) {
  aliases_ = {{kWeb, "Live", 2, 0}};   // shifted: 100 % to version 2
  Tick({{kWeb, 1, 4}, {kWeb, 2, 1}});  // version 1 still finishing what it had
  EXPECT_EQ(Value(Resource(kWeb, "Live"), "Maximum"), 1);
  EXPECT_EQ(Value({{"FunctionName", kWeb}}, "Maximum"), 5);

  aliases_ = {{kWeb, "Live", 2, 2}};  // a degenerate record: the version counts once
  Tick({{kWeb, 2, 3}});
  EXPECT_EQ(Value(Resource(kWeb, "Live"), "Maximum"), 3);
}

TEST(DataProcessedTest, HttpApisRecordRequestAndResponseBytesUnderApiIdSets) {
  MetricsStore store;
  PlatformMetrics platform(store);
  const RouteLabels* http_api = InternRouteLabels(
      {false, "dev-svc", "abc123", "$default", "POST", "/upload", "svc-dev-fn", ""});
  const RouteLabels* rest =
      InternRouteLabels({true, "dev-svc", "", "dev", "POST", "/upload", "svc-dev-fn", ""});
  for (const RouteLabels* route : {http_api, rest}) {
    for (uint32_t bytes : {1000u, 234u}) {
      RequestSample s;
      s.route = route;
      s.time_ms = s.invoke_start_ms = kT0;
      s.version = 1;
      s.status = 200;
      s.invoke = InvokeKind::kSuccess;
      s.data_bytes = bytes;
      platform.Ingest(s);
    }
  }
  for (const Dimensions& dims :
       {Dimensions{{"ApiId", "abc123"}}, Dimensions{{"ApiId", "abc123"}, {"Stage", "$default"}},
        Dimensions{{"ApiId", "abc123"}, {"Route", "POST /upload"}, {"Stage", "$default"}}}) {
    auto sum = store.Query(MakeKey("AWS/ApiGateway", "DataProcessed", dims), Stat("Sum"), kT0,
                           kT0 + 60'000, 60);
    EXPECT_EQ(sum[0].value, 1234.0);
    EXPECT_EQ(sum[0].sample_count, 2u);
  }
  // REST APIs have no DataProcessed.
  for (const MetricKey& key : store.Keys()) {
    if (key.name == "DataProcessed") {
      EXPECT_EQ(key.dims.front().first, "ApiId") << key.ToString();
    }
  }
}

TEST(PerVersionTest, CutoverNamespaceSplitsTheGatewayViewByExecutedVersion) {
  MetricsStore store;
  PlatformMetrics platform(store);
  // Two routes of one alias (the seed's 'ANY /' and 'ANY /{proxy+}') share the version's series.
  const RouteLabels* root =
      InternRouteLabels({true, "dev-svc", "", "dev", "ANY", "/", kWeb, "Live"});
  const RouteLabels* proxy =
      InternRouteLabels({true, "dev-svc", "", "dev", "ANY", "/{proxy+}", kWeb, "Live"});
  auto ingest = [&](const RouteLabels* route, uint32_t version, uint16_t status, float latency) {
    RequestSample s;
    s.route = route;
    s.time_ms = s.invoke_start_ms = kT0 + 250;
    s.version = version;
    s.status = status;
    s.latency_ms = latency;
    // A handler's own 500 is a successful invocation: Lambda's Errors cannot see it.
    s.invoke = InvokeKind::kSuccess;
    platform.Ingest(s);
  };
  ingest(root, 1, 200, 4);
  ingest(proxy, 1, 200, 6);
  ingest(proxy, 1, 404, 2);
  ingest(root, 2, 500, 30);
  ingest(proxy, 2, 200, 10);
  ingest(proxy, 0, 502, 1);  // no version ran: not any version's request

  auto value = [&](const char* name, const char* version, const char* statistic) {
    Dimensions dims = {{"ExecutedVersion", version},
                       {"FunctionName", kWeb},
                       {"Resource", std::string(kWeb) + ":Live"}};
    auto points =
        store.Query(MakeKey("Cutover", name, dims), Stat(statistic), kT0, kT0 + 1000, 1);
    EXPECT_EQ(points.size(), 1u);
    return points.empty() ? std::nullopt : points[0].value;
  };
  EXPECT_EQ(value("Requests", "1", "Sum"), 3);
  EXPECT_EQ(value("Requests", "2", "Sum"), 2);
  EXPECT_EQ(value("5XXError", "1", "Average"), 0);
  EXPECT_EQ(value("5XXError", "2", "Average"), 0.5);
  EXPECT_NEAR(*value("4XXError", "1", "Average"), 1.0 / 3, 1e-9);
  EXPECT_EQ(value("Latency", "2", "Maximum"), 30);
  EXPECT_EQ(value("Latency", "1", "Minimum"), 2);
  // Lambda saw no error at all: the per-version 5XX view is the only one that shows v2 failing.
  auto errors = store.Query(
      MakeKey("AWS/Lambda", "Errors",
              {{"ExecutedVersion", "2"}, {"FunctionName", kWeb}, {"Resource", std::string(kWeb) + ":Live"}}),
      Stat("Sum"), kT0, kT0 + 1000, 1);
  EXPECT_EQ(errors[0].value, 0);
}

// Issue 4: recording costs no allocation per request. The request path is RequestSample + Push
// (gateway/server.cc, Record); the control loop's Ingest allocates only for a (route, version) or
// a second it has not seen before, never per sample.
TEST(SteadyStateTest, PushAndIngestAllocateNothingPerRequest) {
  if (!cutover::testing::AllocationsCounted()) GTEST_SKIP() << "ThreadSanitizer owns operator new";
  MetricsStore store;
  PlatformMetrics platform(store);
  Recorder recorder(1, 1 << 12);
  const RouteLabels* route =
      InternRouteLabels({true, "dev-svc", "", "dev", "GET", "/steady", kWeb, "Live"});
  auto sample = [&](int64_t ms, uint32_t version, uint16_t status) {
    RequestSample s;
    s.route = route;
    s.time_ms = s.invoke_start_ms = ms;
    s.version = version;
    s.status = status;
    s.latency_ms = 3.5f;
    s.invoke = InvokeKind::kSuccess;
    return s;
  };
  auto drain = [&] { recorder.DrainAll([&](const RequestSample& s) { platform.Ingest(s); }); };
  // Warm up: both versions, every status class, the second under test.
  for (uint32_t v : {1u, 2u}) {
    for (uint16_t status : {200, 404, 500}) recorder.shard(0).Push(sample(kT0, v, status));
  }
  drain();

  const uint64_t before = cutover::testing::Allocations();
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 1000; ++i) {
      recorder.shard(0).Push(sample(kT0 + i % 1000, 1 + i % 2, i % 7 == 0 ? 500 : 200));
    }
    drain();
  }
  EXPECT_EQ(cutover::testing::Allocations(), before) << "allocations for 10,000 requests";
  auto sum = store.Query(MakeKey("Cutover", "Requests",
                                 {{"ExecutedVersion", "1"},
                                  {"FunctionName", kWeb},
                                  {"Resource", std::string(kWeb) + ":Live"}}),
                         Stat("Sum"), kT0, kT0 + 1000, 1);
  EXPECT_EQ(sum[0].value, 3 + 5000);
}

}  // namespace
}  // namespace cutover::metrics
