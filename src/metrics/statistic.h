// CloudWatch statistics over one period's values: the Aggregate a series keeps per period, the
// Statistic an alarm names ("p99", "TM(10%:90%)", ...), and Compute, which evaluates one on the
// other. Pure functions and values; no clock, no I/O. Any thread may call them on values it owns.
//
// Semantics follow CloudWatch (docs/reference: /work/shared/reference/aws-semantics.md section 3.3,
// and awsdocs/amazon-cloudwatch-user-guide@20a560c doc_source/Statistics-definitions.md):
//
//   SampleCount, Sum, Average, Minimum, Maximum  exact.
//   pNN        the nearest-rank NN-th percentile (metrics/sketch.h QuantileRank), clamped to
//              [Minimum, Maximum]; exactly Minimum / Maximum when the rank is the first / last.
//   TM/WM/TC/TS with percent bounds (a%:b%): sort the n values and view them as unit masses laid
//              end to end on [0, n]. The kept range is [a/100*n, b/100*n]; a value straddling an
//              end counts with the fraction inside it. TC = b/100*n - a/100*n (may be fractional:
//              the docs say "Trimmed count can return decimal values ... it's an interpolated
//              approximation"), TS = sum of kept mass * value, TM = TS / TC. WM replaces the mass
//              below the range by the value at its lower end and the mass above by the value at its
//              upper end (the first and last kept values), then averages over n.
//              tmNN = TM(:NN%), IQM = TM(25%:75%).
//   TM/WM/TC/TS/PR with absolute bounds (a:b): a value v is inside when a < v <= b (lower
//   exclusive,
//              upper inclusive; a missing bound is unbounded). Source: the user guide's note "if
//              you define two boundaries as fixed values instead of percentages, the calculation
//              includes values equal to the higher boundary, but does not include values equal to
//              the lower boundary" and "TC(0.005:0.030) returns the number of data points with
//              values between 0.005 (exclusive) and 0.030 (inclusive)"; for PR, the current page
//              (docs.aws.amazon.com/.../AmazonCloudWatch/latest/monitoring/Statistics-definitions.html,
//              stored ja_jp/zh_cn copies) adds "Percentile rank is exclusive on the lower bound and
//              inclusive on the upper bound", and "PR(:300) returns the percentage of data points
//              that have a value of 300 or less". NOTE: aws-semantics.md 3.3 writes PR as [a,b];
//              the docs say (a,b], which is what we implement. WM(a:b) averages min(max(v, a), b).
//              TM with no value inside has no value (nullopt); TC/TS/PR are then 0.
//
// Accuracy: all but the five exact statistics are computed on the sketch's representative values,
// which preserve order and are each within Sketch::kRelativeAccuracy (0.5%) of the true value. So
// for percent bounds TC is exact and pNN/TM/WM/TS are within 0.5% relative. For absolute bounds the
// only error is that a value within 0.5% of a bound may be counted on the wrong side of it.
//
// Every statistic other than the five exact ones is unavailable (nullopt) when any value of the
// period was negative, as in CloudWatch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "metrics/sketch.h"

namespace cutover::metrics {

// Everything a series keeps about one period. count == 0 means no data (min/max/sum are then 0).
// Non-finite values are dropped (CloudWatch rejects them at PutMetricData).
struct Aggregate {
  uint64_t count = 0;
  double sum = 0.0;
  double min = 0.0;
  double max = 0.0;
  Sketch sketch;

  // Adds n copies of v (n == 0 is a no-op).
  void Add(double v, uint64_t n = 1);
  void Merge(const Aggregate& other);
  void Clear();
};

enum class StatisticKind {
  kSampleCount,
  kSum,
  kAverage,
  kMinimum,
  kMaximum,
  kPercentile,      // pNN
  kTrimmedMean,     // tmNN, TM(...), IQM
  kWinsorizedMean,  // wmNN, WM(...)
  kTrimmedCount,    // tcNN, TC(...)
  kTrimmedSum,      // tsNN, TS(...)
  kPercentileRank,  // PR(...)
};

// One CloudWatch statistic. Build it with ParseStatistic; the fields are normalized so that two
// spellings of the same statistic compare equal (tm90 == TM(:90%) == TM(0%:90%), p99 == p99.0).
struct Statistic {
  StatisticKind kind = StatisticKind::kSampleCount;
  // kPercentile: NN in [0, 100].
  double percentile = 0.0;
  // Range kinds (TM, WM, TC, TS, PR). With percent_bounds, lower/upper are percentiles and are both
  // set (an omitted lower is 0, an omitted upper 100), 0 <= lower < upper <= 100. Without, they are
  // absolute values >= 0, each optional (unbounded), at least one set, lower < upper. PR is always
  // absolute.
  bool percent_bounds = false;
  std::optional<double> lower;
  std::optional<double> upper;

  friend bool operator==(const Statistic&, const Statistic&) = default;
};

// Accepts exactly CloudWatch's spellings (case-sensitive, no spaces):
//   SampleCount Sum Average Minimum Maximum IQM
//   pNN                      NN in [0, 100]
//   tmNN wmNN tcNN tsNN      NN in (0, 100]; same as XX(:NN%)
//   TM(...) WM(...) TC(...) TS(...)  with (a%:b%), (a%:), (:b%) or (a:b), (a:), (:b)
//   PR(a:b) PR(a:) PR(:b)
// where a number is digits with at most 10 decimals ("99", "99.9", "0.005"); percentages lie in
// [0, 100]; lower < upper; both bounds of one range are percentages or both are absolute. Anything
// else is InvalidArgument naming the accepted forms.
Result<Statistic> ParseStatistic(std::string_view text);

// The canonical spelling, which ParseStatistic maps back to an equal Statistic: lowercase short
// form when only a percent upper bound is set (TM(:90%) -> "tm90"), "IQM" for TM(25%:75%), numbers
// without trailing zeros ("p99.0" -> "p99").
std::string ToString(const Statistic& statistic);

// True for pNN: the statistics EvaluateLowSampleCountPercentile applies to. The percentile (0..100)
// is statistic.percentile.
bool IsPercentileLike(const Statistic& statistic);

// True for the statistics that need raw values (everything but the five exact ones); CloudWatch
// does not serve them when any value is negative.
bool NeedsDistribution(const Statistic& statistic);

// The statistic's value over `aggregate`, or nullopt when there is none: count == 0; a
// distribution statistic with any negative value; a trimmed mean with nothing inside its bounds.
std::optional<double> Compute(const Statistic& statistic, const Aggregate& aggregate);

}  // namespace cutover::metrics
