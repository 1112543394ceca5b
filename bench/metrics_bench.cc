// What recording costs: one RequestSample into a worker's ring (the request path), and turning
// one sample into its AWS metrics on the control loop (PlatformMetrics::Ingest). `make bench`
// reports both in ns per request. And what one Prometheus scrape of /metrics costs the control
// loop (PrometheusText) with every series of N routes written in the last seconds.
#include <benchmark/benchmark.h>

#include <string>

#include "metrics/platform_metrics.h"
#include "metrics/prometheus.h"
#include "metrics/recorder.h"
#include "metrics/series_store.h"

namespace {

using namespace cutover::metrics;

const RouteLabels* Route() {
  return InternRouteLabels(
      {true, "dev-bench", "abc", "dev", "ANY", "/{proxy+}", "bench-dev-fn", "Live"});
}

// The request path: one Push; the ring is drained every 4,096 pushes as the control tick would.
void BM_RecordSample(benchmark::State& state) {
  SampleRing ring(1 << 16);
  RequestSample s;
  s.route = Route();
  s.version = 1;
  s.status = 200;
  s.latency_ms = 1.5f;
  s.invoke = InvokeKind::kSuccess;
  uint64_t n = 0;
  for (auto _ : state) {
    s.time_ms = static_cast<int64_t>(n);
    benchmark::DoNotOptimize(ring.Push(s));
    if ((++n & 4095) == 0) {
      state.PauseTiming();
      ring.Drain([](const RequestSample&) {});
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_RecordSample);

// The control loop: one sample -> 15 API Gateway series and 12 Lambda series.
void BM_IngestSample(benchmark::State& state) {
  MetricsStore store;
  PlatformMetrics platform(store);
  RequestSample s;
  s.route = Route();
  s.version = 1;
  s.status = 200;
  s.invoke = InvokeKind::kSuccess;
  int64_t t = 1'800'000'000'000;
  uint64_t i = 0;
  for (auto _ : state) {
    s.time_ms = s.invoke_start_ms = t + static_cast<int64_t>(i / 2000) * 1000;  // 2,000 req/s
    s.latency_ms = 1.0f + static_cast<float>(i % 97) * 0.1f;
    s.integration_ms = s.latency_ms - 0.2f;
    s.duration_ms = s.latency_ms - 0.4f;
    platform.Ingest(s);
    ++i;
  }
}
BENCHMARK(BM_IngestSample);

// One scrape: the exposition of `routes` REST routes, each served by two versions of its own
// function in the last second (about 40 CloudWatch-style series per route and version).
void BM_PrometheusText(benchmark::State& state) {
  MetricsStore store;
  PlatformMetrics platform(store);
  const int64_t t = 1'800'000'000'000;
  for (int r = 0; r < state.range(0); ++r) {
    const std::string fn = "bench-dev-fn" + std::to_string(r);
    const RouteLabels* route = InternRouteLabels(
        {true, "dev-bench", "abc", "dev", "GET", "/r" + std::to_string(r), fn, "Live"});
    for (uint32_t version : {1u, 2u}) {
      RequestSample s;
      s.route = route;
      s.version = version;
      s.status = 200;
      s.invoke = InvokeKind::kSuccess;
      s.time_ms = s.invoke_start_ms = t;
      s.latency_ms = 12.5f;
      s.integration_ms = 12.0f;
      s.duration_ms = 11.0f;
      platform.Ingest(s);
    }
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = PrometheusText(platform, &store, t / 1000, {}, {});
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["series"] = static_cast<double>(store.series_count());
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PrometheusText)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
