// Metric queries of the admin API: one statistic of one metric per period, asked one at a time
// (GET /v1/metrics/query, parameters in the query string) or several in one request
// (POST /v1/metrics/data, a JSON body in the spirit of CloudWatch's GetMetricData). Both forms
// parse into MetricQuery, are checked by the same rules, answered by AnswerMetricQuery and written
// by AppendMetricAnswer, so a batch answers exactly what the same queries asked one by one would.
//
// A dashboard page refreshes its 8 per-version charts every second: one batch instead of 8
// requests is what keeps 50 open pages from costing the gateway throughput (docs/PERFORMANCE.md,
// dashboards). The answer is written straight into a string, without a JSON tree per datapoint.
//
// Thread-safety: the functions read the MetricsStore, which the control loop owns; call them there.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "metrics/series_store.h"
#include "metrics/statistic.h"

namespace cutover::store {
class StateStore;
}

namespace cutover::api {

struct MetricQuery {
  std::string id;  // the caller's name for it in a batch; "" for a single query
  metrics::MetricKey key;
  metrics::Statistic statistic;
  int64_t period_s = 60;
  int64_t start_ms = 0;  // [start_ms, end_ms), epoch milliseconds of the daemon's clock
  int64_t end_ms = 0;
};

// The most queries one POST /v1/metrics/data may carry.
inline constexpr size_t kMaxQueriesPerBatch = 100;
// The most datapoints one query may answer.
inline constexpr int64_t kMaxDatapointsPerQuery = 100000;
// The most datapoints one batch may answer, all its queries together: GetMetricData's limit
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html).
inline constexpr int64_t kMaxDatapointsPerBatch = 100800;

// The query-string form: namespace, name, dimensions ("Name=Value,..."), statistic (default
// Average), period (default 60), start and end (epoch ms; end defaults to now_ms) or minutes (the
// last N minutes before end, default 15). `param` returns a parameter's value, or nullopt when it
// is absent. Errors are InvalidArgument naming the parameter.
using ParamLookup = std::function<std::optional<std::string>(std::string_view name)>;
Result<MetricQuery> MetricQueryFromParams(const ParamLookup& param, int64_t now_ms);

// The batch form, the body of POST /v1/metrics/data:
//   {"queries": [{"id": "q1", "namespace": "...", "name": "...", "dimensions": {"Name": "Value"},
//                 "statistic": "p99", "period": 1, "start": MS, "end": MS, "minutes": N}, ...]}
// with the same defaults as the query string; 1 to kMaxQueriesPerBatch queries, ids unique when
// given (a missing id becomes "q<index>"), at most kMaxDatapointsPerBatch datapoints in all.
// Errors name the query: "queries[2].period: ...".
Result<std::vector<MetricQuery>> MetricQueriesFromJson(std::string_view body, int64_t now_ms);

// One datapoint per period of [start_ms, end_ms) from memory; periods older than memory (3 h) and
// whole minutes long come from the store's 1-minute rollups when `store` is set.
Result<std::vector<metrics::Datapoint>> AnswerMetricQuery(const MetricQuery& query,
                                                          const metrics::MetricsStore& memory,
                                                          store::StateStore* store,
                                                          int64_t now_ms);

// Appends {"id"?, "metric", "statistic", "period", "exists", "datapoints": [{"timestamp", "value"
// (null: no data), "sample_count"}]} to `out`; "id" only when the query has one.
void AppendMetricAnswer(std::string* out, const MetricQuery& query, bool exists,
                        const std::vector<metrics::Datapoint>& points);

}  // namespace cutover::api
