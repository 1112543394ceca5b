// Rollups: the persisted form of a metric's per-minute aggregates, so that queries older than the
// in-memory rings (metrics/series_store.h: 3 h 10 min) can still be answered, for 15 days.
//
// The daemon writes, for every finished minute m, one store record per series with data in m
// (MetricsStore::MinuteAggregates): metric = EncodeMetricKey(key), minute = m, data =
// EncodeAggregate(aggregate) (store/state_store.h MetricRollupRecord). A query older than memory
// reads the records back, decodes them and merges each period's minutes (ComputeFromRollups).
//
// Formats (both are persisted: never change what an existing byte sequence means):
//
//   metric key  compact JSON, the key's canonical and only spelling:
//                 {"n":"AWS/ApiGateway","m":"Latency","d":[["ApiName","svc"],["Stage","dev"]]}
//               members in that order, dimensions sorted (as MakeKey sorts them), strings escaped
//               as Boost.JSON's serializer does (", \, control characters; other bytes as they
//               are, so a name that is not valid UTF-8 still round-trips). DecodeMetricKey accepts
//               only text that EncodeMetricKey produces for the key it describes (so one metric has
//               one primary key in the store); anything else is InvalidArgument.
//
//   aggregate   binary, little-endian, version 1:
//                 u8 1                         format version
//                 varint count                 Aggregate::count
//                 f64 sum, f64 min, f64 max    IEEE-754 bits, exact
//                 varint zero_count, varint negative_count
//                 varint n                     non-empty positive buckets (<= Sketch::kMaxBuckets)
//                 then n times: the bucket index (first: zigzag varint; then the gap to the
//                 previous index, varint >= 1) and its count (varint >= 1)
//               ("varint" is LEB128: 7 bits per byte, low bits first, at most 10 bytes.) Exact: the
//               decoded aggregate has the same count, the same bits of sum/min/max and a sketch
//               equal bucket for bucket (Sketch::operator==), so every statistic computed from it
//               equals the original's. An aggregate of 0/1 values takes about 30 bytes; a latency
//               minute a few hundred.
//
// Decoders validate everything they read: truncated, trailing, out-of-range or inconsistent bytes
// (counts that do not add up or exceed 2^48, min > max, non-finite min/max, buckets out of order,
// a bucket span a Sketch cannot hold) are InvalidArgument. No input crashes, and decoding an
// aggregate allocates at most about 50 KiB (kMaxBuckets buckets and one sketch).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "metrics/series_store.h"
#include "metrics/statistic.h"

namespace cutover::metrics {

// How long rollups are kept: CloudWatch keeps 1-minute datapoints for 15 days.
inline constexpr int64_t kRollupRetentionMinutes = int64_t{15} * 24 * 60;

std::string EncodeMetricKey(const MetricKey& key);
Result<MetricKey> DecodeMetricKey(std::string_view text);

std::string EncodeAggregate(const Aggregate& aggregate);
Result<Aggregate> DecodeAggregate(std::string_view bytes);

// One period's datapoint from the decoded minute aggregates that fall in it: their merge, with
// timestamp_ms = period_start_ms and sample_count the merged count; no value when there are no
// minutes (or only empty ones). Given in ascending minute order (as ListMetricRollups returns
// them), the result equals what Series::Compute answers from its per-minute ring for the same
// minutes (another order may round Sum/Average differently in the last bit).
Datapoint ComputeFromRollups(const Statistic& statistic, const std::vector<Aggregate>& minutes,
                             int64_t period_start_ms);

}  // namespace cutover::metrics
