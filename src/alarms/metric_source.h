// MetricSource: where the AlarmEngine reads an alarm's statistic for one period.
//
//   LocalMetricSource       this node's MetricsStore (single node, the default): exact, in memory.
//   PrometheusMetricSource  a Prometheus that scrapes every node (`--metrics-source
//                           prometheus://HOST:PORT`): the whole fleet's data, one PromQL range
//                           query per alarm evaluation (alarms/promql.h), over the synchronous HTTP
//                           client.
//
// Either way the engine hands the periods to the same Evaluate(), so the M-of-N and missing-data
// rules do not depend on the source. A source that cannot answer (Prometheus down) returns an
// error: the engine then skips the evaluation and keeps the alarm's state rather than read the
// silence as missing data, which under TreatMissingData=notBreaching would hide a failing canary.
//
// Thread-safety: control loop only, like the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/status.h"
#include "metrics/series_store.h"
#include "metrics/statistic.h"

namespace cutover::alarms {

struct PeriodValue {
  std::optional<double> value;  // nullopt: missing (no samples, or no statistic for them)
  uint64_t samples = 0;         // samples behind `value`
};

class MetricSource {
 public:
  virtual ~MetricSource() = default;
  // OK when Read can answer `statistic` of `key`; otherwise InvalidArgument saying why (the daemon
  // refuses such an alarm at deploy time).
  virtual Status Supports(const metrics::MetricKey& key,
                          const metrics::Statistic& statistic) const = 0;
  // The statistic over `count` consecutive periods of `period_s` seconds, the first starting at
  // `first_start_s` (the daemon's clock, seconds): one PeriodValue per period, oldest first. An
  // error means the source could not say: InvalidArgument when this query is at fault (e.g.
  // Prometheus refused it), anything else when the source itself is unavailable.
  virtual Result<std::vector<PeriodValue>> ReadPeriods(const metrics::MetricKey& key,
                                                       const metrics::Statistic& statistic,
                                                       int64_t first_start_s, int64_t period_s,
                                                       int count) = 0;
  // For logs: "this node's metrics", "prometheus://127.0.0.1:9090".
  virtual std::string Describe() const = 0;
};

class LocalMetricSource final : public MetricSource {
 public:
  explicit LocalMetricSource(const metrics::MetricsStore& store) : store_(store) {}
  Status Supports(const metrics::MetricKey&, const metrics::Statistic&) const override {
    return Status::Ok();
  }
  Result<std::vector<PeriodValue>> ReadPeriods(const metrics::MetricKey& key,
                                               const metrics::Statistic& statistic,
                                               int64_t first_start_s, int64_t period_s,
                                               int count) override;
  std::string Describe() const override { return "this node's metrics"; }

 private:
  const metrics::MetricsStore& store_;
};

class PrometheusMetricSource final : public MetricSource {
 public:
  // Each query gets `timeout` to connect and answer; the control loop waits that long at most.
  explicit PrometheusMetricSource(Endpoint endpoint,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(2));
  Status Supports(const metrics::MetricKey& key,
                  const metrics::Statistic& statistic) const override;
  // One /api/v1/query_range per call, whatever `count`.
  Result<std::vector<PeriodValue>> ReadPeriods(const metrics::MetricKey& key,
                                               const metrics::Statistic& statistic,
                                               int64_t first_start_s, int64_t period_s,
                                               int count) override;
  std::string Describe() const override;

 private:
  HttpClient client_;
};

// "prometheus://HOST:PORT" -> the endpoint; anything else is InvalidArgument.
Result<Endpoint> ParsePrometheusUrl(std::string_view url);

}  // namespace cutover::alarms
