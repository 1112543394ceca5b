// PromQL for CloudWatch-style alarms: what `--metrics-source prometheus://HOST:PORT` asks a
// Prometheus that scrapes every node's /metrics (metrics/prometheus.h names the families).
//
// One range query per evaluation (step = the period): each point, at a period's end E, covers
// [E - P, E). Each node exports cumulative values, so a period's part of a family F is, per node,
// "F now minus F one period ago" — or all of F when the series is younger than the period (its
// first samples fall in it) or the node restarted within it (its sample count S went down):
//     Delta(F) = F - (F offset P * 1 unless on(instance, job) (S < S offset P) or F * 0)
// (the `* 1` drops the metric name, so the `or` keeps the older value where there is one). Summed
// over the nodes, per statistic:
//     SampleCount  sum(Delta(cutover_cloudwatch_samples_total))
//     Sum          sum(Delta(cutover_cloudwatch_sum))
//     Average      Sum / SampleCount
//     Maximum      max(max_over_time(cutover_cloudwatch_maximum{sel}[Ps]))  (Minimum alike)
//     pNN          histogram_quantile(NN/100, sum by (le)
//     (Delta(cutover_cloudwatch_latency_bucket)))
// The selector names the exact dimension set (the `dimensions` label), as CloudWatch matches one.
// A period whose SampleCount is 0 or absent is missing data, as in single-node mode.
//
// Approximations, stated in docs/SCALING.md: samples are assigned to periods by scrape time, not by
// their own timestamps (a scrape interval late, at most); Maximum/Minimum see every sample of the
// [E - P - 12 s, E] window when the scrape interval is at most 10 s; pNN is interpolated inside
// the histogram bucket it falls in; a node restart within the period counts only what that node
// saw since it restarted.
//
// Other statistics (trimmed and winsorized means, TC, TS, PR, IQM) and pNN of a metric without the
// histogram cannot be expressed: Supported() says why, and the daemon refuses such an alarm at
// deploy time.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alarms/metric_source.h"
#include "common/status.h"
#include "metrics/series_store.h"
#include "metrics/statistic.h"

namespace cutover::alarms {

// OK when `statistic` of `key` can be read from Prometheus; otherwise InvalidArgument saying why.
Status PromQlSupported(const metrics::MetricKey& key, const metrics::Statistic& statistic);

// The selector of exactly `key`'s series in family `family`:
// family{namespace="AWS/Lambda",metric="Errors",dimensions="FunctionName",dim_FunctionName="f"}.
std::string PromQlSelector(std::string_view family, const metrics::MetricKey& key);

// The query whose result holds two samples, labelled part="value" (the statistic) and
// part="samples" (SampleCount), for the period of `period_s` seconds ending at the query's time.
// REQUIRES: PromQlSupported(key, statistic).ok(), period_s >= 1.
std::string PromQlForPeriod(const metrics::MetricKey& key, const metrics::Statistic& statistic,
                            int64_t period_s);

// Reads the JSON answer of /api/v1/query_range to PromQlForPeriod's query evaluated at
// first_end_s, first_end_s + period_s, ... (`count` times): one PeriodValue per period, oldest
// first. Prometheus's refusal of the query (errorType bad_data or execution) is InvalidArgument;
// a body that is not a successful answer otherwise is Unavailable.
Result<std::vector<PeriodValue>> ParsePeriodValues(std::string_view body, int64_t first_end_s,
                                                   int64_t period_s, int count);

}  // namespace cutover::alarms
