// The OpenMetrics text exposition served at /metrics on the admin port: per route and executed
// version, requests by status class, invocation errors, throttles and the latency sum, plus
// whatever gauges the caller adds (alarm states).
//
// With a MetricsStore it also exposes every CloudWatch-style series the node holds, so that a
// Prometheus scraping the fleet can answer an alarm's statistic over all nodes (alarms/promql.h
// turns an alarm into the query). One family per aspect, every series labelled
//   namespace="AWS/Lambda", metric="Errors",
//   dimensions="ExecutedVersion,FunctionName,Resource"   (the exact dimension set, sorted, so a
//                                                          query can ask for exactly that set),
//   dim_<Name>="value" for each dimension (PrometheusLabelName):
//     cutover_cloudwatch_samples_total   counter: samples since the series was created
//     cutover_cloudwatch_sum             gauge: their cumulative sum (a gauge: values may be negative)
//     cutover_cloudwatch_maximum/_minimum gauge: the extreme over the last kExtremeWindowSeconds
//                                          seconds, present only while that window has samples
//     cutover_cloudwatch_latency         histogram over kLatencyBucketBoundsMs, latency metrics only
// A series leaves the exposition when the store evicts it (3 h 10 min idle); Prometheus then
// marks it stale.
//
// Why not prometheus-cpp (Debian's prometheus-cpp-dev): its registry would be a second copy of the
// counters PlatformMetrics already keeps, updated on the request path with its own atomics; the
// exposition is a few lines of text over our own counters, written on demand.
//
// Pure: a function of its inputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/platform_metrics.h"
#include "metrics/series_store.h"

namespace cutover::metrics {

struct Gauge {
  std::string family;  // "cutover_alarm_state"
  std::string help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// The metrics pipeline's own counters: what it lost or refused, so that a gap in a chart or an alarm
// that never fires can be told apart from a quiet function.
struct PipelineCounters {
  uint64_t dropped_samples = 0;  // request samples lost to a full recording ring (Recorder)
  uint64_t emf_accepted = 0;     // EMF lines that became metric data (EmfInbox)
  uint64_t emf_malformed = 0;    // EMF lines refused: invalid, or a timestamp out of range
  uint64_t emf_dropped = 0;      // EMF lines dropped because the inbox was full
};

inline constexpr char kOpenMetricsContentType[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// How far back cutover_cloudwatch_maximum and _minimum look, the current second included: a scrape
// interval of 10 s or less sees every sample in at least one scrape, with 2 s to spare for a sample
// stamped late in its second or ingested a tick after it.
inline constexpr int64_t kExtremeWindowSeconds = 12;

// `store` may be null (no cutover_cloudwatch_* families); `now_s` is the daemon's clock in seconds.
std::string PrometheusText(const PlatformMetrics& metrics, const MetricsStore* store,
                           int64_t now_s, const std::vector<Gauge>& gauges,
                           const PipelineCounters& pipeline);

// "dim_" + the dimension name with letters and digits kept, '_' doubled and every other byte
// written "_XX" (hex): a valid Prometheus label name that cannot collide with the fixed labels, and
// one-to-one, so two dimensions of a series never share a label ("a.b" -> dim_a_2Eb, "a_b" ->
// dim_a__b): a duplicate label would make Prometheus refuse the node's whole scrape.
std::string PrometheusLabelName(std::string_view dimension);

// The `dimensions` label: the dimension names, sorted, joined with ','.
std::string DimensionSetLabel(const Dimensions& dims);

// A label value with \, " and newline escaped.
std::string EscapeLabelValue(std::string_view value);

}  // namespace cutover::metrics
