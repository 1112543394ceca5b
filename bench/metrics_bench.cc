// What recording costs: one RequestSample into a worker's ring (the request path), and turning
// one sample into its AWS metrics on the control loop (PlatformMetrics::Ingest). `make bench`
// reports both in ns per request.
#include <benchmark/benchmark.h>

#include "metrics/platform_metrics.h"
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

}  // namespace

BENCHMARK_MAIN();
