// CloudWatch Embedded Metric Format (EMF): a log line that is a JSON object carrying
// `_aws.CloudWatchMetrics` becomes metric data, the way CloudWatch Logs extracts it from a Lambda
// function's log (AWS Lambda Powertools and Bref's monolog formatter write these lines).
//
//   {"_aws": {"Timestamp": 1700000000000,
//             "CloudWatchMetrics": [{"Namespace": "shop",
//                                    "Dimensions": [["service"], ["service", "route"]],
//                                    "Metrics": [{"Name": "Orders", "Unit": "Count"}]}]},
//    "service": "checkout", "route": "/buy", "Orders": 3}
//
// Each directive's Metrics are published under each of its dimension sets, one metric per set
// (CloudWatch does the same; `[]` as a set means no dimensions, and `"Dimensions": []` publishes
// the metrics once without dimensions). A metric's value is the top-level member of its name: a
// number or an array of up to 100 numbers; a dimension's value is the top-level string member of
// its name.
//
// A line that breaks the specification is rejected whole (InvalidArgument with the reason), as
// CloudWatch rejects it: invalid JSON, a missing or mistyped field, a referenced member missing or
// of the wrong type, more than 30 dimensions in a set, more than 100 metrics in a directive or 100
// values in a metric, a unit CloudWatch does not know, a StorageResolution other than 1 or 60,
// a non-finite number, a namespace starting with "AWS/" (reserved, as for PutMetricData: a
// function cannot write into the platform's own metrics). cutover adds one limit of its own: a line
// may yield at most kMaxEmfDatumsPerLine metrics (sets × metrics over all directives).
// `_aws.Timestamp` (epoch milliseconds) is optional here, unlike in the specification: missing, the
// caller's default applies.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "metrics/series_store.h"

namespace cutover::metrics {

inline constexpr size_t kMaxEmfDimensionsPerSet = 30;
inline constexpr size_t kMaxEmfMetricsPerDirective = 100;
inline constexpr size_t kMaxEmfValuesPerMetric = 100;
inline constexpr size_t kMaxEmfDatumsPerLine = 1000;

// One metric of one dimension set, as extracted from a line.
struct EmfDatum {
  MetricKey key;  // Namespace, Name, the set's dimensions (sorted by name)
  int64_t timestamp_ms = 0;
  std::vector<double> values;  // 1..kMaxEmfValuesPerMetric finite numbers
  std::string unit;            // "Count", "Milliseconds", ...; "None" when not given

  bool operator==(const EmfDatum&) const = default;
};

// A cheap pre-check so ordinary log lines cost almost nothing: the first non-blank character is
// '{' and "_aws" occurs in the line. ParseEmfLine rejects every line for which it is false; true
// does not mean the line is valid.
bool LooksLikeEmf(std::string_view line);

// The metric data in `line` (one log line, without its newline). Timestamps are
// `_aws.Timestamp`, or `default_timestamp_ms` when the line has none. An EMF document with no
// directives yields an empty vector. InvalidArgument (naming the offending field) otherwise.
Result<std::vector<EmfDatum>> ParseEmfLine(std::string_view line, int64_t default_timestamp_ms);

}  // namespace cutover::metrics
