// MetricSource: where the AlarmEngine reads an alarm's statistic for one period.
//
//   LocalMetricSource       this node's MetricsStore (single node, the default): exact, in memory.
//   PrometheusMetricSource  a Prometheus that scrapes every node (`--metrics-source
//                           prometheus://HOST:PORT`): the whole fleet's data, one PromQL instant
//                           query per period (alarms/promql.h), over the synchronous HTTP client.
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
  // The statistic over [start_s, end_s) on the daemon's clock, in seconds.
  virtual Result<PeriodValue> Read(const metrics::MetricKey& key,
                                   const metrics::Statistic& statistic, int64_t start_s,
                                   int64_t end_s) = 0;
  // For logs: "this node's metrics", "prometheus://127.0.0.1:9090".
  virtual std::string Describe() const = 0;
};

class LocalMetricSource final : public MetricSource {
 public:
  explicit LocalMetricSource(const metrics::MetricsStore& store) : store_(store) {}
  Status Supports(const metrics::MetricKey&, const metrics::Statistic&) const override {
    return Status::Ok();
  }
  Result<PeriodValue> Read(const metrics::MetricKey& key, const metrics::Statistic& statistic,
                           int64_t start_s, int64_t end_s) override;
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
  Result<PeriodValue> Read(const metrics::MetricKey& key, const metrics::Statistic& statistic,
                           int64_t start_s, int64_t end_s) override;
  std::string Describe() const override;

 private:
  HttpClient client_;
};

// "prometheus://HOST:PORT" -> the endpoint; anything else is InvalidArgument.
Result<Endpoint> ParsePrometheusUrl(std::string_view url);

}  // namespace cutover::alarms
