#include "metrics/sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/status.h"

namespace cutover::metrics {
namespace {

constexpr double kGamma = (1.0 + Sketch::kRelativeAccuracy) / (1.0 - Sketch::kRelativeAccuracy);
// Extra buckets added on a side the window grows towards, so a stream that drifts does not
// reallocate on every new extreme. 32 buckets = a factor of ~1.38 in value.
constexpr int64_t kSlack = 32;
constexpr int64_t kMaxWindow = static_cast<int64_t>(Sketch::kMaxBuckets);

const double kLogGamma = std::log(kGamma);
const double kInvLogGamma = 1.0 / kLogGamma;
// log(2 / (gamma + 1)): the representative of bucket k is exp(k * log(gamma) + this).
const double kLogRepresentativeFactor = std::log(2.0 / (kGamma + 1.0));

}  // namespace

uint64_t QuantileRank(double q, uint64_t n) {
  CUTOVER_CHECK(n > 0);
  CUTOVER_CHECK(q >= 0.0 && q <= 1.0);
  const double r = q * static_cast<double>(n);
  const double nearest = std::round(r);
  const double k = std::fabs(r - nearest) <= 1e-9 * std::max(1.0, r) ? nearest : std::ceil(r);
  if (k <= 1.0) return 1;
  if (k >= static_cast<double>(n)) return n;
  return static_cast<uint64_t>(k);
}

int32_t Sketch::BucketIndex(double v) {
  return static_cast<int32_t>(std::ceil(std::log(v) * kInvLogGamma));
}

double Sketch::BucketValue(int32_t index) {
  const double v = std::exp(static_cast<double>(index) * kLogGamma + kLogRepresentativeFactor);
  return std::min(v, std::numeric_limits<double>::max());
}

void Sketch::Add(double v, uint64_t n) {
  if (n == 0 || !std::isfinite(v)) return;
  if (v < 0) {
    negative_count_ += n;
    return;
  }
  if (v == 0) {
    zero_count_ += n;
    return;
  }
  AddIndex(BucketIndex(v), n);
}

void Sketch::AddToBucket(int32_t index, uint64_t n) {
  if (n == 0) return;
  CUTOVER_CHECK(index >= -kMaxBucketIndexMagnitude && index <= kMaxBucketIndexMagnitude);
  CUTOVER_CHECK(positive_count_ <= std::numeric_limits<uint64_t>::max() - n);
  AddIndex(index, n);
}

void Sketch::AddIndex(int32_t index, uint64_t n) {
  const int64_t size = static_cast<int64_t>(counts_.size());
  const bool above = static_cast<int64_t>(index) - offset_ >= size;  // also true when empty
  // Below the window is fine (index clamps to offset_) once the window sits at the collapse floor
  // of the data; otherwise the window must grow downwards or collapse.
  const bool below = index < offset_ && (positive_count_ == 0 || !AtCollapseFloor(max_index_));
  if (above || below) Cover(index, index);
  const int32_t stored = std::max(index, offset_);
  counts_[static_cast<size_t>(stored - offset_)] += n;
  max_index_ = positive_count_ == 0 ? index : std::max(max_index_, index);
  positive_count_ += n;
}

bool Sketch::AtCollapseFloor(int32_t max_index) const {
  return static_cast<int64_t>(offset_) == static_cast<int64_t>(max_index) - kMaxWindow + 1;
}

void Sketch::Merge(const Sketch& other) {
  negative_count_ += other.negative_count_;
  zero_count_ += other.zero_count_;
  if (other.positive_count_ == 0) return;
  const int32_t new_max =
      positive_count_ == 0 ? other.max_index_ : std::max(max_index_, other.max_index_);
  const int64_t hi = static_cast<int64_t>(offset_) + static_cast<int64_t>(counts_.size()) - 1;
  const bool fits_above = !counts_.empty() && other.max_index_ <= hi;
  const bool fits_below = other.offset_ >= offset_ || AtCollapseFloor(new_max);
  if (!fits_above || !fits_below) {
    int32_t lo_index = 0;
    int32_t hi_index = 0;
    CUTOVER_CHECK(other.DataRange(&lo_index, &hi_index));
    Cover(lo_index, hi_index);
  }
  const size_t n = other.counts_.size();
  const uint64_t* src = other.counts_.data();
  uint64_t* dst = counts_.data();
  if (other.offset_ >= offset_) {
    // The common case: a plain element-wise add. Other's window may stick out above ours, but only
    // with empty (slack) buckets, which Cover guarantees.
    const size_t shift = static_cast<size_t>(other.offset_ - offset_);
    const size_t m = std::min(n, counts_.size() - shift);
    for (size_t i = 0; i < m; ++i) dst[shift + i] += src[i];
  } else {
    // Indices below offset_ (collapsed) go to the first bucket.
    for (size_t i = 0; i < n; ++i) {
      if (src[i] == 0) continue;
      const int32_t index = std::max(other.offset_ + static_cast<int32_t>(i), offset_);
      dst[index - offset_] += src[i];
    }
  }
  max_index_ = new_max;
  positive_count_ += other.positive_count_;
}

void Sketch::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  positive_count_ = 0;
  zero_count_ = 0;
  negative_count_ = 0;
}

double Sketch::Quantile(double q) const {
  const uint64_t rank = QuantileRank(q, count());
  if (rank <= zero_count_) return 0.0;
  uint64_t seen = zero_count_;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return BucketValue(offset_ + static_cast<int32_t>(i));
  }
  CheckFailed(__FILE__, __LINE__, "seen >= rank", "bucket counts disagree with positive_count_");
}

size_t Sketch::MemoryBytes() const {
  return sizeof(Sketch) + counts_.capacity() * sizeof(uint64_t);
}

bool Sketch::DataRange(int32_t* lo, int32_t* hi) const {
  size_t first = 0;
  while (first < counts_.size() && counts_[first] == 0) ++first;
  if (first == counts_.size()) return false;
  size_t last = counts_.size() - 1;
  while (counts_[last] == 0) --last;
  *lo = offset_ + static_cast<int32_t>(first);
  *hi = offset_ + static_cast<int32_t>(last);
  return true;
}

void Sketch::Cover(int32_t lo, int32_t hi) {
  const bool empty_window = counts_.empty();
  const int64_t window_lo = offset_;
  const int64_t window_hi = static_cast<int64_t>(offset_) + counts_.size() - 1;
  if (!empty_window && lo >= window_lo && hi <= window_hi) return;

  // The indices that must be kept apart: the request plus the data already held.
  int64_t need_lo = lo;
  int64_t need_hi = hi;
  int32_t data_lo = 0;
  int32_t data_hi = 0;
  if (DataRange(&data_lo, &data_hi)) {
    need_lo = std::min<int64_t>(need_lo, data_lo);
    need_hi = std::max<int64_t>(need_hi, data_hi);
  }

  int64_t new_lo = 0;
  int64_t new_hi = 0;
  if (need_hi - need_lo + 1 > kMaxWindow) {
    // Too wide: keep the top kMaxWindow indices; everything lower folds into new_lo.
    new_hi = need_hi;
    new_lo = need_hi - kMaxWindow + 1;
  } else {
    // Keep the old window where it still fits (it may hold slack that is about to be used), and add
    // slack on each side that grows, without exceeding kMaxWindow.
    int64_t base_lo = need_lo;
    int64_t base_hi = need_hi;
    if (!empty_window &&
        std::max(need_hi, window_hi) - std::min(need_lo, window_lo) + 1 <= kMaxWindow) {
      base_lo = std::min(need_lo, window_lo);
      base_hi = std::max(need_hi, window_hi);
    }
    int64_t slack_lo = (empty_window || need_lo < window_lo) ? kSlack : 0;
    int64_t slack_hi = (empty_window || need_hi > window_hi) ? kSlack : 0;
    const int64_t excess = (base_hi - base_lo + 1 + slack_lo + slack_hi) - kMaxWindow;
    if (excess > 0) {
      const int64_t from_lo = std::min(excess, slack_lo);
      slack_lo -= from_lo;
      slack_hi -= excess - from_lo;
    }
    new_lo = base_lo - slack_lo;
    new_hi = base_hi + slack_hi;
  }
  // Keep indices representable as int32 (bucket indices of finite doubles are within +-75000).
  CUTOVER_CHECK(new_lo > std::numeric_limits<int32_t>::min() / 2 &&
                new_hi < std::numeric_limits<int32_t>::max() / 2);

  std::vector<uint64_t> counts(static_cast<size_t>(new_hi - new_lo + 1), 0);
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const int64_t index = std::max<int64_t>(offset_ + static_cast<int64_t>(i), new_lo);
    counts[static_cast<size_t>(index - new_lo)] += counts_[i];
  }
  counts_.swap(counts);
  offset_ = static_cast<int32_t>(new_lo);
}

bool operator==(const Sketch& a, const Sketch& b) {
  if (a.positive_count_ != b.positive_count_ || a.zero_count_ != b.zero_count_ ||
      a.negative_count_ != b.negative_count_) {
    return false;
  }
  // Walk the non-empty buckets of both in order.
  size_t i = 0;
  size_t j = 0;
  while (true) {
    while (i < a.counts_.size() && a.counts_[i] == 0) ++i;
    while (j < b.counts_.size() && b.counts_[j] == 0) ++j;
    const bool a_done = i == a.counts_.size();
    const bool b_done = j == b.counts_.size();
    if (a_done || b_done) return a_done && b_done;
    if (a.offset_ + static_cast<int64_t>(i) != b.offset_ + static_cast<int64_t>(j) ||
        a.counts_[i] != b.counts_[j]) {
      return false;
    }
    ++i;
    ++j;
  }
}

static_assert(sizeof(Sketch) + Sketch::kMaxBuckets * sizeof(uint64_t) <= Sketch::kMaxMemoryBytes);

}  // namespace cutover::metrics
