// MetricsStore: the in-memory time series behind alarms, `cutover metrics` and the dashboard.
//
// A metric is CloudWatch's: namespace, name and one exact set of dimensions (each combination is a
// metric of its own; nothing is aggregated across dimensions at query time). Time is the daemon's
// clock in whole seconds, so `--time-scale` compresses buckets with everything else.
//
// Per series, in three rings indexed by time:
//   * a summary (count, sum, min, max) per second for the last 3 h 10 min: every basic statistic
//     (SampleCount, Sum, Average, Minimum, Maximum) at any period over that window;
//   * a full aggregate (summary + quantile sketch) per second for the last 15 minutes, and
//   * one per minute for the last 3 h 10 min: percentile-based statistics (pNN, TM, WM, PR, TC,
//     TS, IQM) at periods that are multiples of 60 s over 3 h, and at any period over 15 min.
// Memory bound per series: 11,400 × 32 B of summaries (365 KB) plus 1,090 sketches, each capped by
// the sketch's own bound (metrics/sketch.h); a series whose values are 0/1 keeps tiny sketches.
// Rings are allocated on a series' first sample, so a daemon without traffic holds none; a series
// whose last sample has left the summary ring is dropped (EvictIdle), so versions that stopped
// serving (a rolled-back canary, a version replaced by the next deploy) give their memory back
// 3 h 10 min after their last request.
//
// Thread-safety: not thread-safe. The control loop owns it (the admin API runs there too).
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "metrics/statistic.h"

namespace cutover::metrics {

using Dimensions = std::vector<std::pair<std::string, std::string>>;

struct MetricKey {
  std::string ns;    // "AWS/ApiGateway"
  std::string name;  // "5XXError"
  Dimensions dims;   // sorted by name

  auto operator<=>(const MetricKey&) const = default;
  bool operator==(const MetricKey&) const = default;
  // "AWS/ApiGateway 5XXError {ApiName=dev-svc,Stage=dev}"
  std::string ToString() const;
};

// Sorts the dimensions (CloudWatch treats them as a set).
MetricKey MakeKey(std::string ns, std::string name, Dimensions dims);

// The upper bounds (ms) of the cumulative latency histogram kept for the Prometheus exposition
// (metrics/prometheus.h) by the series IsLatencyMetric names; +Inf is implicit. Roughly 2.5x apart
// from 1 ms to 30 s (API Gateway's integration timeout): a pNN read from them (PromQL's
// histogram_quantile interpolates linearly inside a bucket) is off by at most the width of the
// bucket the quantile falls in.
inline constexpr double kLatencyBucketBoundsMs[] = {1,   2.5,  5,    10,   25,    50,   100, 250,
                                                    500, 1000, 2500, 5000, 10000, 30000};
inline constexpr size_t kLatencyBuckets = std::size(kLatencyBucketBoundsMs) + 1;  // with +Inf

// True for the platform's duration metrics, which get the histogram: Duration (AWS/Lambda),
// Latency and IntegrationLatency (AWS/ApiGateway), Latency (Cutover).
bool IsLatencyMetric(const MetricKey& key);

struct Datapoint {
  int64_t timestamp_ms = 0;     // period start
  std::optional<double> value;  // nullopt: no data in the period (or the statistic is unavailable)
  uint64_t sample_count = 0;
};

// A ring of `size` slots for consecutive times (seconds or minutes): time t lives in slot
// t mod size. Slots are allocated kChunk at a time, at the first write into a chunk, so a series
// that saw a few seconds of traffic holds a few KB rather than all its hours of slots (which made
// every series resident at about 0.8 MB from its first sample). A slot read before its chunk was
// written reads as absent. Each slot records which time it holds; the ring does not.
template <class Slot, size_t kChunk>
class ChunkedRing {
 public:
  explicit ChunkedRing(size_t size) : size_(size), chunks_((size + kChunk - 1) / kChunk) {}

  size_t size() const { return size_; }
  // The slot of time `at`, its chunk allocated (default-constructed slots) when new.
  Slot& Write(int64_t at) {
    const size_t i = Index(at);
    std::unique_ptr<Slot[]>& chunk = chunks_[i / kChunk];
    if (chunk == nullptr) chunk = std::make_unique<Slot[]>(kChunk);
    return chunk[i % kChunk];
  }
  // The slot of time `at`, or nullptr when its chunk was never written.
  const Slot* Read(int64_t at) const {
    const size_t i = Index(at);
    const std::unique_ptr<Slot[]>& chunk = chunks_[i / kChunk];
    return chunk == nullptr ? nullptr : &chunk[i % kChunk];
  }
  // Calls fn(const Slot&) for every slot of every allocated chunk.
  template <class Fn>
  void ForEachAllocated(Fn&& fn) const {
    for (const auto& chunk : chunks_) {
      if (chunk == nullptr) continue;
      for (size_t i = 0; i < kChunk; ++i) fn(chunk[i]);
    }
  }
  size_t allocated_chunks() const {
    size_t n = 0;
    for (const auto& chunk : chunks_) n += chunk != nullptr;
    return n;
  }
  size_t MemoryBytes() const {
    return chunks_.capacity() * sizeof(chunks_[0]) + allocated_chunks() * kChunk * sizeof(Slot);
  }

 private:
  size_t Index(int64_t at) const {
    const int64_t m = at % static_cast<int64_t>(size_);
    return static_cast<size_t>(m < 0 ? m + static_cast<int64_t>(size_) : m);
  }

  size_t size_;
  std::vector<std::unique_ptr<Slot[]>> chunks_;
};

class Series {
 public:
  static constexpr int64_t kSummarySeconds = 3 * 3600 + 600;
  static constexpr int64_t kFullSeconds = 15 * 60;
  static constexpr int64_t kFullMinutes = kSummarySeconds / 60;

  void Add(int64_t second, double value, uint64_t count = 1);
  // The statistic over [start, end) seconds, nullopt when there is no data (or, for
  // distribution statistics, when the range is older than the rings that can answer it).
  Datapoint Compute(const Statistic& statistic, int64_t start_s, int64_t end_s) const;
  int64_t last_second() const { return last_second_; }
  // The per-minute ring's aggregate of `minute` (minutes since the epoch), or nullptr when the
  // ring does not hold that minute (never written, or overwritten) or it holds no value. The
  // pointer is valid until the next Add.
  const Aggregate* MinuteAggregate(int64_t minute) const;
  size_t MemoryBytes() const;

  // Since the series was created, for the Prometheus exposition: every sample counted once, their
  // sum, and (after KeepLatencyBuckets) how many fell into each bucket of kLatencyBucketBoundsMs
  // (not cumulative; the last entry is +Inf).
  uint64_t total_count() const { return total_count_; }
  double total_sum() const { return total_sum_; }
  const std::vector<uint64_t>& latency_buckets() const { return latency_buckets_; }
  void KeepLatencyBuckets() { latency_buckets_.assign(kLatencyBuckets, 0); }

 private:
  struct Summary {
    int64_t second = INT64_MIN;  // which second the slot holds
    uint64_t count = 0;
    double sum = 0, min = 0, max = 0;
  };
  struct Full {
    int64_t at = INT64_MIN;  // second (per-second ring) or minute (per-minute ring)
    Aggregate aggregate;
  };

  // 40-byte summaries 256 to a chunk (about 10 KB, 4 minutes); sketch slots 64 to a chunk.
  ChunkedRing<Summary, 256> summaries_{kSummarySeconds};
  ChunkedRing<Full, 64> seconds_{kFullSeconds};
  ChunkedRing<Full, 64> minutes_{kFullMinutes};
  int64_t last_second_ = INT64_MIN;
  uint64_t total_count_ = 0;
  double total_sum_ = 0;
  std::vector<uint64_t> latency_buckets_;  // empty unless KeepLatencyBuckets
};

class MetricsStore {
 public:
  void Add(const MetricKey& key, int64_t time_ms, double value, uint64_t count = 1);
  // The series of `key`, created empty when new. The reference stays valid until EvictIdle drops
  // the series.
  Series& GetOrCreate(const MetricKey& key);
  const Series* Find(const MetricKey& key) const;
  // One datapoint per period in [start_ms, end_ms), start aligned down to the period.
  std::vector<Datapoint> Query(const MetricKey& key, const Statistic& statistic, int64_t start_ms,
                               int64_t end_ms, int period_s) const;
  std::vector<MetricKey> Keys() const;
  const std::map<MetricKey, std::unique_ptr<Series>>& series() const { return series_; }
  // Every series with data in `minute` (minutes since the epoch), by key, with its per-minute
  // aggregate (Series::MinuteAggregate). The pointers are valid until the next Add.
  std::vector<std::pair<const MetricKey*, const Aggregate*>> MinuteAggregates(int64_t minute) const;
  size_t series_count() const { return series_.size(); }
  // Drops every series with nothing left in its rings at `now_s`: no sample (or only samples
  // older than Series::kSummarySeconds). Nothing could be read from them any more, and their
  // minutes went to the store's rollups long before. Returns how many were dropped; references
  // to those are invalid from here on.
  size_t EvictIdle(int64_t now_s);
  size_t MemoryBytes() const;

 private:
  // Finds or creates the series; a new latency series keeps its histogram.
  std::map<MetricKey, std::unique_ptr<Series>>::iterator FindOrCreate(const MetricKey& key);

  std::map<MetricKey, std::unique_ptr<Series>> series_;
  // The last series added to: consecutive samples of one request hit few keys repeatedly.
  const MetricKey* last_key_ = nullptr;
  Series* last_series_ = nullptr;
};

// Whole seconds since the epoch, rounding down (negative times too).
inline int64_t SecondOf(int64_t time_ms) {
  return time_ms >= 0 ? time_ms / 1000 : -((-time_ms + 999) / 1000);
}

}  // namespace cutover::metrics
