// Sketch: a mergeable quantile sketch with bounded relative error, the distribution part of one
// metric series' aggregate (metrics/statistic.h). Percentiles, trimmed means and the other raw-data
// statistics are computed from it.
//
// Idea (DDSketch, Masson, Rim & Lee, VLDB 2019; implemented here from the published description):
// a positive value v falls in bucket k = ceil(log_gamma(v)), which covers (gamma^(k-1), gamma^k],
// with gamma = (1 + alpha) / (1 - alpha). Every value in bucket k is represented by 2 * gamma^k /
// (gamma + 1), which is within relative error alpha of it. Because the bucket map is monotone, the
// i-th smallest value of the sketch's "representative dataset" is within alpha of the i-th smallest
// value added, so every rank-based statistic computed from the buckets inherits the bound.
//
//   - alpha = kRelativeAccuracy = 0.005 (0.5%), half of the 1% the statistics promise, so floating
//     error at bucket edges never matters.
//   - Zero is tracked exactly (its own count, representative 0).
//   - Negative values are only counted (negative_count()): CloudWatch does not serve percentiles
//   for a
//     period with any negative value, so their distribution is never needed.
//   - Non-finite values (NaN, +-inf) are dropped; CloudWatch rejects them at PutMetricData.
//
// Memory bound: the counts live in one contiguous window of at most kMaxBuckets = 2048 buckets
// (16 KiB of counts; MemoryBytes() <= kMaxMemoryBytes). 2048 buckets span a factor of about 7.8e8
// between the smallest and largest value kept apart (e.g. 1 microsecond to 13 minutes). When a
// series spans more than that, the LOWEST buckets are collapsed into the lowest kept one: high
// quantiles stay within alpha, the collapsed low values are over-estimated (they report the value
// of bucket max_index - 2047). Latency alarms watch the high end, hence this choice. Collapsing
// depends only on the largest bucket ever seen, so Merge stays associative and commutative.
//
// Cost: Add is one log() and one increment; it allocates only when a value falls outside the
// current window (the window grows with slack, so a stream whose range is covered never allocates).
// Merge of a sketch whose window fits inside this one's is a plain loop over the other's counts, no
// allocation.
//
// Thread-safety: none; a Sketch is a value owned by one thread (the control loop or one worker).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cutover::metrics {

// The rank rule shared by Sketch::Quantile and the exact statistics: the q-quantile of n values is
// the k-th smallest (1-based) with k = ceil(q * n) clamped to [1, n] ("nearest rank": the smallest
// value such that at least a fraction q of the data is <= it). q * n within 1e-9 of an integer
// counts as that integer, so q = 0.07, n = 100 gives k = 7 although 0.07 * 100 == 7.000000000000001
// in doubles. REQUIRES: n > 0, 0 <= q <= 1.
uint64_t QuantileRank(double q, uint64_t n);

class Sketch final {
 public:
  static constexpr double kRelativeAccuracy = 0.005;
  static constexpr size_t kMaxBuckets = 2048;
  // Counts plus the object itself; MemoryBytes() never exceeds it.
  static constexpr size_t kMaxMemoryBytes = kMaxBuckets * sizeof(uint64_t) + 64;

  Sketch() = default;

  // Adds n copies of v. Negative v only increments negative_count(); non-finite v is dropped.
  void Add(double v, uint64_t n = 1);

  // Adds every value of `other` (equivalent, bucket for bucket, to having added them here).
  void Merge(const Sketch& other);

  // Removes all values. Keeps the allocated window, so a sketch reused every second does not
  // reallocate.
  void Clear();

  // Number of values >= 0 added; these are what Quantile and ForEachBucket cover.
  uint64_t count() const { return zero_count_ + positive_count_; }
  uint64_t negative_count() const { return negative_count_; }
  uint64_t zero_count() const { return zero_count_; }

  // The value of rank QuantileRank(q, count()) in the representative dataset: within relative error
  // kRelativeAccuracy of the exact nearest-rank quantile, unless that value was collapsed (see
  // above). Exact (0) when it falls on a zero. REQUIRES: count() > 0, 0 <= q <= 1.
  double Quantile(double q) const;

  // Calls fn(double value, uint64_t count) for every non-empty bucket in ascending value order, the
  // zero bucket (value 0) first. `value` is the bucket's representative value.
  template <typename Fn>
  void ForEachBucket(Fn&& fn) const {
    if (zero_count_ > 0) fn(0.0, zero_count_);
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] != 0) fn(BucketValue(offset_ + static_cast<int32_t>(i)), counts_[i]);
    }
  }

  // Exact export and import of the buckets, for persisting a sketch (metrics/rollup.h).
  // ForEachBucketIndex calls fn(int32_t index, uint64_t count) for every non-empty bucket of
  // positive values in ascending index order (zeros and negatives are zero_count() and
  // negative_count()). AddToBucket adds n values to bucket `index`, exactly as Add of n values
  // falling in that bucket would. Adding an exported sketch's buckets to an empty sketch (with
  // Add(0, zero_count()) and Add(-1, negative_count())) gives a sketch equal to it.
  // REQUIRES (AddToBucket): |index| <= kMaxBucketIndexMagnitude; positive count does not overflow.
  static constexpr int32_t kMaxBucketIndexMagnitude = 80000;  // finite doubles stay within +-75000
  template <typename Fn>
  void ForEachBucketIndex(Fn&& fn) const {
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] != 0) fn(offset_ + static_cast<int32_t>(i), counts_[i]);
    }
  }
  void AddToBucket(int32_t index, uint64_t n);

  // Bytes held by this sketch (object + counts). <= kMaxMemoryBytes.
  size_t MemoryBytes() const;

  // Number of buckets currently allocated (<= kMaxBuckets); for tests and memory accounting.
  size_t allocated_buckets() const { return counts_.size(); }

  // Same values in the same buckets (the allocated window may differ).
  friend bool operator==(const Sketch& a, const Sketch& b);

  // The bucket index of v > 0 and the representative value of bucket `index`; exposed for tests.
  static int32_t BucketIndex(double v);
  static double BucketValue(int32_t index);

 private:
  // Makes the window cover [lo, hi] (bucket indices), growing it with slack, or, when the data
  // would span more than kMaxBuckets, moving it to the top kMaxBuckets indices and folding the
  // counts below into its first bucket. After the call, indices below offset_ must be clamped to
  // offset_.
  void Cover(int32_t lo, int32_t hi);
  // Add's body once the bucket index of a positive value is known.
  void AddIndex(int32_t index, uint64_t n);
  // Lowest and highest index holding a non-zero count; false when there is none.
  bool DataRange(int32_t* lo, int32_t* hi) const;
  // True when the window starts where collapsing would put it for data whose highest bucket is
  // max_index, so lower indices simply clamp to offset_.
  bool AtCollapseFloor(int32_t max_index) const;

  std::vector<uint64_t> counts_;  // counts_[i] is bucket offset_ + i
  int32_t offset_ = 0;
  int32_t max_index_ = 0;  // highest bucket holding data; meaningful when positive_count_ > 0
  uint64_t positive_count_ = 0;
  uint64_t zero_count_ = 0;
  uint64_t negative_count_ = 0;
};

}  // namespace cutover::metrics
