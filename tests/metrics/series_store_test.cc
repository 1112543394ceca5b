// The time series store (src/metrics/series_store.h), the request-sample ring and the mapping of
// samples to AWS's metrics (platform_metrics.h), and the Prometheus text (prometheus.h).
#include <gtest/gtest.h>

#include <thread>

#include "metrics/platform_metrics.h"
#include "metrics/prometheus.h"
#include "metrics/recorder.h"
#include "metrics/series_store.h"

namespace cutover::metrics {
namespace {

Statistic Stat(std::string_view text) {
  auto s = ParseStatistic(text);
  EXPECT_TRUE(s.ok()) << text;
  return *s;
}

constexpr int64_t kT0 = 1'800'000'000'000;  // a whole minute, in ms

TEST(SeriesStoreTest, BasicStatisticsPerPeriodWithMissingPeriods) {
  MetricsStore store;
  MetricKey key = MakeKey("AWS/ApiGateway", "5XXError", {{"Stage", "dev"}, {"ApiName", "a"}});
  EXPECT_EQ(key.dims.front().first, "ApiName");  // dimensions are a sorted set
  // Minute 0: three requests, one 5xx. Minute 1: none. Minute 2: two 5xx of two.
  store.Add(key, kT0 + 1000, 0);
  store.Add(key, kT0 + 2000, 1);
  store.Add(key, kT0 + 59'999, 0);
  store.Add(key, kT0 + 120'000, 1);
  store.Add(key, kT0 + 179'000, 1);
  auto sum = store.Query(key, Stat("Sum"), kT0, kT0 + 180'000, 60);
  ASSERT_EQ(sum.size(), 3u);
  EXPECT_EQ(sum[0].timestamp_ms, kT0);
  EXPECT_EQ(sum[0].value, 1.0);
  EXPECT_EQ(sum[0].sample_count, 3u);
  EXPECT_FALSE(sum[1].value.has_value());
  EXPECT_EQ(sum[2].value, 2.0);
  auto avg = store.Query(key, Stat("Average"), kT0, kT0 + 60'000, 60);
  EXPECT_NEAR(*avg[0].value, 1.0 / 3, 1e-12);
  EXPECT_EQ(*store.Query(key, Stat("SampleCount"), kT0, kT0 + 60'000, 60)[0].value, 3.0);
  // Periods of 10 s split minute 0.
  auto ten = store.Query(key, Stat("Sum"), kT0, kT0 + 60'000, 10);
  ASSERT_EQ(ten.size(), 6u);
  EXPECT_EQ(*ten[0].value, 1.0);
  EXPECT_FALSE(ten[1].value.has_value());
  EXPECT_EQ(*ten[5].value, 0.0);
  // Another dimension set is another metric.
  EXPECT_EQ(store.Find(MakeKey("AWS/ApiGateway", "5XXError", {{"ApiName", "a"}})), nullptr);
  EXPECT_FALSE(store.Query(MakeKey("AWS/ApiGateway", "5XXError", {{"ApiName", "a"}}), Stat("Sum"),
                           kT0, kT0 + 60'000, 60)[0]
                   .value.has_value());
}

TEST(SeriesStoreTest, PercentilesFromRecentSecondsAndOlderMinutes) {
  MetricsStore store;
  MetricKey key = MakeKey("AWS/ApiGateway", "Latency", {{"ApiName", "a"}});
  for (int i = 1; i <= 1000; ++i) store.Add(key, kT0 + (i % 60) * 1000, i);
  auto p99 = store.Query(key, Stat("p99"), kT0, kT0 + 60'000, 60);
  ASSERT_TRUE(p99[0].value.has_value());
  EXPECT_NEAR(*p99[0].value, 990, 990 * 0.01);
  EXPECT_EQ(*store.Query(key, Stat("Maximum"), kT0, kT0 + 60'000, 60)[0].value, 1000);
  // An hour later, the per-second sketches are gone but the per-minute ones answer.
  store.Add(key, kT0 + 3600'000, 5);
  auto old = store.Query(key, Stat("p50"), kT0, kT0 + 60'000, 60);
  ASSERT_TRUE(old[0].value.has_value());
  EXPECT_NEAR(*old[0].value, 500, 500 * 0.01);
  // ... but not at a sub-minute period: unavailable rather than wrong.
  EXPECT_FALSE(store.Query(key, Stat("p50"), kT0, kT0 + 10'000, 10)[0].value.has_value());
  // Basic statistics stay exact at 1 s for 3 hours.
  EXPECT_EQ(*store.Query(key, Stat("SampleCount"), kT0, kT0 + 60'000, 60)[0].value, 1000);
}

TEST(SeriesStoreTest, OldDataLeavesTheRings) {
  MetricsStore store;
  MetricKey key = MakeKey("N", "M", {});
  store.Add(key, kT0, 7);
  store.Add(key, kT0 + (Series::kSummarySeconds + 10) * 1000, 1);
  EXPECT_FALSE(store.Query(key, Stat("Sum"), kT0, kT0 + 1000, 1)[0].value.has_value());
}

TEST(SeriesStoreTest, ASeriesHoldsMemoryForTheTimesItSawNotForItsWholeRings) {
  MetricsStore store;
  MetricKey key = MakeKey("Cutover", "Latency", {{"ExecutedVersion", "1"}});
  store.Add(key, kT0 + 1000, 12);
  const Series& series = *store.Find(key);
  // One request: a chunk of each ring (the three rings at full size were about 0.8 MB).
  const size_t one = series.MemoryBytes();
  EXPECT_LT(one, 32u * 1024) << one;
  // A minute of traffic stays small too (mostly its 60 per-second sketches).
  for (int s = 0; s < 60; ++s) store.Add(key, kT0 + s * 1000, 5 + s);
  EXPECT_LT(series.MemoryBytes(), 128u * 1024) << series.MemoryBytes();
  // Three hours of it fill the rings; every second and minute is still where it belongs, across
  // chunk boundaries and after the rings wrapped.
  const int64_t end_s = kT0 / 1000 + Series::kSummarySeconds + 500;
  for (int64_t t = kT0 / 1000; t < end_s; ++t) store.Add(key, t * 1000, static_cast<double>(t % 1000));
  EXPECT_GT(series.MemoryBytes(), 400u * 1024);
  for (int64_t t : {end_s - 1, end_s - 256, end_s - 257, end_s - 899, end_s - 3000}) {
    auto sum = store.Query(key, Stat("Sum"), t * 1000, (t + 1) * 1000, 1);
    ASSERT_TRUE(sum[0].value.has_value()) << t;
    EXPECT_EQ(*sum[0].value, static_cast<double>(t % 1000)) << t;
  }
  auto p50 = store.Query(key, Stat("p50"), (end_s - 600) * 1000, (end_s - 599) * 1000, 1);
  ASSERT_TRUE(p50[0].value.has_value());
  EXPECT_NEAR(*p50[0].value, static_cast<double>((end_s - 600) % 1000), 0.01 * 1000);
  const int64_t minute = (end_s - 7200) / 60 * 60;  // two hours back: the per-minute ring
  auto minute_max = store.Query(key, Stat("p100"), minute * 1000, (minute + 60) * 1000, 60);
  ASSERT_TRUE(minute_max[0].value.has_value());
}

TEST(SeriesStoreTest, IdleSeriesAreDroppedOnceNothingOfThemIsLeftInMemory) {
  MetricsStore store;
  MetricKey old_key = MakeKey("N", "Old", {});
  MetricKey live_key = MakeKey("N", "Live", {});
  store.Add(old_key, kT0, 7);
  store.Add(live_key, kT0, 1);
  store.GetOrCreate(MakeKey("N", "NeverWritten", {}));
  const int64_t now_s = kT0 / 1000 + Series::kSummarySeconds;
  // The first two still have their sample in the summary ring; the empty one goes.
  EXPECT_EQ(store.EvictIdle(now_s), 1u);
  EXPECT_EQ(store.series_count(), 2u);
  store.Add(live_key, (now_s + 1) * 1000, 1);
  EXPECT_EQ(store.EvictIdle(now_s + 1), 1u);
  EXPECT_EQ(store.Find(old_key), nullptr);
  ASSERT_NE(store.Find(live_key), nullptr);
  // The store's one-entry cache of the last series added to does not outlive an eviction.
  store.Add(old_key, (now_s + 2) * 1000, 3);
  EXPECT_EQ(store.Query(old_key, Stat("Sum"), (now_s + 2) * 1000, (now_s + 3) * 1000, 1)[0].value,
            3);
}

TEST(PlatformMetricsTest, EvictionForgetsDroppedSeriesAndWritesAgainAfterIt) {
  MetricsStore store;
  PlatformMetrics platform(store);
  const RouteLabels* route = InternRouteLabels(
      {true, "dev-svc", "abc", "dev", "ANY", "/{proxy+}", "svc-dev-web", "Live"});
  auto sample = [&](uint32_t version, int64_t at) {
    RequestSample s;
    s.route = route;
    s.time_ms = s.invoke_start_ms = at;
    s.version = version;
    s.status = 200;
    s.invoke = InvokeKind::kSuccess;
    platform.Ingest(s);
  };
  sample(1, kT0);  // version 1: a canary that served once
  const size_t with_one = store.series_count();
  const int64_t later = kT0 + (Series::kSummarySeconds + 60) * 1000;
  sample(2, later);
  const size_t with_both = store.series_count();
  ASSERT_GT(with_both, with_one);
  // Version 1's own series go (ExecutedVersion=1 and the Cutover per-version ones); the shared
  // ones stay, written again at `later`.
  EXPECT_GT(platform.EvictIdle(later), 0u);
  EXPECT_LT(store.series_count(), with_both);
  EXPECT_EQ(store.Find(MakeKey("AWS/Lambda", "Invocations",
                               {{"ExecutedVersion", "1"},
                                {"FunctionName", "svc-dev-web"},
                                {"Resource", "svc-dev-web:Live"}})),
            nullptr);
  // Both versions write again without touching a dropped series (ASan would see it).
  sample(1, later + 1000);
  sample(2, later + 1000);
  auto points = store.Query(MakeKey("AWS/ApiGateway", "Count", {{"ApiName", "dev-svc"}}),
                            Stat("Sum"), later, later + 2000, 2);
  EXPECT_EQ(points[0].value, 3);
}

TEST(SampleRingTest, DeliversInOrderAcrossThreadsAndCountsDrops) {
  SampleRing ring(1024);
  constexpr int kTotal = 200'000;
  std::thread producer([&] {
    for (int i = 0; i < kTotal;) {
      RequestSample s;
      s.version = static_cast<uint32_t>(i);
      if (ring.Push(s)) ++i;  // retry when full: this test wants every sample
    }
  });
  int expected = 0;
  bool in_order = true;
  while (expected < kTotal) {
    ring.Drain([&](const RequestSample& s) {
      in_order &= s.version == static_cast<uint32_t>(expected);
      ++expected;
    });
  }
  producer.join();
  EXPECT_TRUE(in_order);
  SampleRing small(2);
  EXPECT_TRUE(small.Push({}));
  EXPECT_TRUE(small.Push({}));
  EXPECT_FALSE(small.Push({}));
  EXPECT_EQ(small.dropped(), 1u);
  EXPECT_EQ(small.Drain([](const RequestSample&) {}), 2u);
  EXPECT_TRUE(small.Push({}));  // room again once drained
}

TEST(RouteLabelsTest, InterningGivesOneAddressPerDistinctLabels) {
  RouteLabels a{true, "dev-svc", "", "dev", "ANY", "/{proxy+}", "svc-dev-web", "Live"};
  RouteLabels b = a;
  EXPECT_EQ(InternRouteLabels(a), InternRouteLabels(b));
  b.alias = "";
  EXPECT_NE(InternRouteLabels(a), InternRouteLabels(b));
}

TEST(PlatformMetricsTest, RestRequestsBecomeApiGatewayAndLambdaMetrics) {
  MetricsStore store;
  PlatformMetrics platform(store);
  const RouteLabels* route = InternRouteLabels(
      {true, "dev-svc", "abc", "dev", "ANY", "/{proxy+}", "svc-dev-web", "Live"});
  auto sample = [&](uint16_t status, InvokeKind kind, uint32_t version, int64_t at) {
    RequestSample s;
    s.route = route;
    s.time_ms = at;
    s.invoke_start_ms = at + 1;
    s.latency_ms = 12;
    s.integration_ms = 10;
    s.duration_ms = 8;
    s.version = version;
    s.status = status;
    s.invoke = kind;
    platform.Ingest(s);
  };
  sample(200, InvokeKind::kSuccess, 1, kT0);
  sample(500, InvokeKind::kSuccess, 2, kT0 + 1000);  // a 500 response: not a Lambda error
  sample(502, InvokeKind::kError, 2, kT0 + 2000);
  sample(429, InvokeKind::kThrottled, 2, kT0 + 3000);

  auto sum = [&](const char* ns, const char* name, Dimensions dims) {
    auto points = store.Query(MakeKey(ns, name, std::move(dims)), Stat("Sum"), kT0, kT0 + 60'000, 60);
    return points[0].value.value_or(-1);
  };
  for (const Dimensions& dims :
       {Dimensions{{"ApiName", "dev-svc"}},
        Dimensions{{"ApiName", "dev-svc"}, {"Stage", "dev"}},
        Dimensions{{"ApiName", "dev-svc"}, {"Method", "ANY"}, {"Resource", "/{proxy+}"},
                   {"Stage", "dev"}}}) {
    EXPECT_EQ(sum("AWS/ApiGateway", "Count", dims), 4);
    EXPECT_EQ(sum("AWS/ApiGateway", "5XXError", dims), 2);
    EXPECT_EQ(sum("AWS/ApiGateway", "4XXError", dims), 1);
  }
  EXPECT_EQ(sum("AWS/Lambda", "Invocations", {{"FunctionName", "svc-dev-web"}}), 3);
  EXPECT_EQ(sum("AWS/Lambda", "Errors", {{"FunctionName", "svc-dev-web"}}), 1);
  EXPECT_EQ(sum("AWS/Lambda", "Throttles", {{"FunctionName", "svc-dev-web"}}), 1);
  EXPECT_EQ(sum("AWS/Lambda", "Invocations",
                {{"FunctionName", "svc-dev-web"}, {"Resource", "svc-dev-web:Live"}}),
            3);
  EXPECT_EQ(sum("AWS/Lambda", "Errors",
                {{"FunctionName", "svc-dev-web"},
                 {"Resource", "svc-dev-web:Live"},
                 {"ExecutedVersion", "2"}}),
            1);
  EXPECT_EQ(sum("AWS/Lambda", "Invocations",
                {{"FunctionName", "svc-dev-web"},
                 {"Resource", "svc-dev-web:Live"},
                 {"ExecutedVersion", "1"}}),
            1);

  PipelineCounters pipeline{.dropped_samples = 7, .emf_accepted = 3, .emf_malformed = 2,
                            .emf_dropped = 1};
  std::string text =
      PrometheusText(platform, nullptr, 0, {{"cutover_alarm_state", "", {{"alarm", "a\"b"}}, 1}},
                     pipeline);
  EXPECT_NE(text.find(R"(cutover_requests_total{function="svc-dev-web",version="2",alias="Live",route="ANY /{proxy+}",api="rest",status_class="5xx"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(cutover_alarm_state{alarm="a\"b"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find("cutover_metric_samples_dropped_total 7"), std::string::npos);
  EXPECT_NE(text.find(R"(cutover_emf_lines_total{result="accepted"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(cutover_emf_lines_total{result="malformed"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(cutover_emf_lines_total{result="dropped"} 1)"), std::string::npos);
  EXPECT_TRUE(text.ends_with("# EOF\n"));
}

TEST(PlatformMetricsTest, HttpApiUsesLowerCaseNamesAndApiIdDimensions) {
  MetricsStore store;
  PlatformMetrics platform(store);
  const RouteLabels* route =
      InternRouteLabels({false, "dev-svc", "abc123", "$default", "GET", "/v2/x", "svc-dev-fn", ""});
  RequestSample s;
  s.route = route;
  s.time_ms = kT0;
  s.invoke_start_ms = kT0;
  s.version = 3;
  s.status = 503;
  s.invoke = InvokeKind::kSuccess;
  platform.Ingest(s);
  auto points = store.Query(MakeKey("AWS/ApiGateway", "5xx",
                                    {{"ApiId", "abc123"}, {"Stage", "$default"}, {"Route", "GET /v2/x"}}),
                            Stat("Sum"), kT0, kT0 + 60'000, 60);
  EXPECT_EQ(points[0].value, 1.0);
  // A version invocation: Resource is name:version.
  EXPECT_NE(store.Find(MakeKey("AWS/Lambda", "Invocations",
                               {{"FunctionName", "svc-dev-fn"}, {"Resource", "svc-dev-fn:3"}})),
            nullptr);
}

// The CloudWatch-style series as Prometheus sees them: exact dimension sets, cumulative counts and
// sums, the extremes of the last seconds, and a cumulative latency histogram.
TEST(PrometheusTextTest, ExposesEveryCloudWatchSeriesForFleetWideQueries) {
  MetricsStore store;
  PlatformMetrics platform(store);
  const int64_t t0_s = 1'800'000'000;
  const MetricKey errors = MakeKey("AWS/Lambda", "Errors",
                                   {{"FunctionName", "fn"}, {"Resource", "fn:Live"}});
  store.Add(errors, t0_s * 1000, 1);
  store.Add(errors, t0_s * 1000 + 10, 0);
  store.Add(errors, (t0_s - 60) * 1000, 1);  // long ago: counted, but not in the extremes
  const MetricKey duration = MakeKey("AWS/Lambda", "Duration", {{"FunctionName", "fn"}});
  for (double ms : {0.5, 3.0, 3.0, 120.0, 40'000.0}) store.Add(duration, t0_s * 1000, ms);
  const MetricKey custom = MakeKey("App", "odd.name", {{"a.b", "x\"y"}});
  store.Add(custom, t0_s * 1000, -2.5);

  const std::string text = PrometheusText(platform, &store, t0_s + 3, {}, {});
  const std::string errors_labels =
      R"({namespace="AWS/Lambda",metric="Errors",dimensions="FunctionName,Resource",dim_FunctionName="fn",dim_Resource="fn:Live"})";
  EXPECT_NE(text.find("cutover_cloudwatch_samples_total" + errors_labels + " 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cutover_cloudwatch_sum" + errors_labels + " 2\n"), std::string::npos);
  EXPECT_NE(text.find("cutover_cloudwatch_maximum" + errors_labels + " 1\n"), std::string::npos);
  EXPECT_NE(text.find("cutover_cloudwatch_minimum" + errors_labels + " 0\n"), std::string::npos);
  const std::string d =
      R"(namespace="AWS/Lambda",metric="Duration",dimensions="FunctionName",dim_FunctionName="fn")";
  EXPECT_NE(text.find("cutover_cloudwatch_latency_bucket{" + d + R"(,le="1"} 1)" + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cutover_cloudwatch_latency_bucket{" + d + R"(,le="5"} 3)" + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("cutover_cloudwatch_latency_bucket{" + d + R"(,le="250"} 4)" + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("cutover_cloudwatch_latency_bucket{" + d + R"(,le="30000"} 4)" + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("cutover_cloudwatch_latency_bucket{" + d + R"(,le="+Inf"} 5)" + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("cutover_cloudwatch_latency_count{" + d + "} 5\n"), std::string::npos);
  // Only latency metrics carry buckets.
  EXPECT_EQ(text.find("cutover_cloudwatch_latency_bucket{namespace=\"AWS/Lambda\",metric=\"Errors\""),
            std::string::npos);
  // Dimension names become valid label names; values are escaped.
  EXPECT_NE(text.find(R"(cutover_cloudwatch_sum{namespace="App",metric="odd.name",dimensions="a.b",dim_a_2Eb="x\"y"} -2.5)"),
            std::string::npos)
      << text;
  // One-to-one: "a.b" and "a_b" never share a label.
  EXPECT_EQ(PrometheusLabelName("a.b"), "dim_a_2Eb");
  EXPECT_EQ(PrometheusLabelName("a_b"), "dim_a__b");
  EXPECT_EQ(PrometheusLabelName("Api Name"), "dim_Api_20Name");
  // Past the window, the extremes leave the exposition; the counters stay.
  const std::string later = PrometheusText(platform, &store, t0_s + kExtremeWindowSeconds, {}, {});
  EXPECT_EQ(later.find("cutover_cloudwatch_maximum" + errors_labels), std::string::npos);
  EXPECT_NE(later.find("cutover_cloudwatch_samples_total" + errors_labels + " 3\n"),
            std::string::npos);
  EXPECT_TRUE(later.ends_with("# EOF\n"));
}

}  // namespace
}  // namespace cutover::metrics
