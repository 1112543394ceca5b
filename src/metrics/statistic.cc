#include "metrics/statistic.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace cutover::metrics {
namespace {

constexpr std::string_view kAcceptedForms =
    "SampleCount, Sum, Average, Minimum, Maximum, IQM, pNN, tmNN, wmNN, tcNN, tsNN, "
    "TM|WM|TC|TS(a%:b%) or (a:b) with either bound optional, PR(a:b) with either bound optional; "
    "numbers have at most 10 decimals, percentages are 0..100";

constexpr int kMaxDecimals = 10;

Status Invalid(std::string_view text, std::string_view why) {
  return InvalidArgument(
      fmt::format("invalid statistic \"{}\": {}; accepted forms: {}", text, why, kAcceptedForms));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// digits ['.' 1..10 digits], nothing else (no sign, exponent or spaces).
std::optional<double> ParseNumber(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i == 0) return std::nullopt;
  if (i < s.size()) {
    if (s[i] != '.') return std::nullopt;
    const size_t decimals_start = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    const size_t decimals = i - decimals_start;
    if (decimals == 0 || decimals > kMaxDecimals || i != s.size()) return std::nullopt;
  }
  double value = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string NotANumber(std::string_view s) {
  return fmt::format("\"{}\" is not a number (digits, at most {} decimals)", s, kMaxDecimals);
}

// The two-letter statistics that take a range; the lowercase spelling is the short form.
struct RangeName {
  std::string_view upper;
  std::string_view lower;
  StatisticKind kind;
};
constexpr RangeName kRangeNames[] = {
    {"TM", "tm", StatisticKind::kTrimmedMean},    {"WM", "wm", StatisticKind::kWinsorizedMean},
    {"TC", "tc", StatisticKind::kTrimmedCount},   {"TS", "ts", StatisticKind::kTrimmedSum},
    {"PR", "pr", StatisticKind::kPercentileRank},
};

const RangeName& NameOf(StatisticKind kind) {
  for (const RangeName& name : kRangeNames) {
    if (name.kind == kind) return name;
  }
  CheckFailed(__FILE__, __LINE__, "NameOf", "not a range statistic");
}

Statistic PercentRange(StatisticKind kind, double lower, double upper) {
  Statistic s;
  s.kind = kind;
  s.percent_bounds = true;
  s.lower = lower;
  s.upper = upper;
  return s;
}

// "a%:b%", "a:b" and the one-sided variants, for statistic `kind`.
Result<Statistic> ParseRange(std::string_view text, StatisticKind kind, std::string_view inner) {
  const size_t colon = inner.find(':');
  if (colon == std::string_view::npos || inner.find(':', colon + 1) != std::string_view::npos) {
    return Invalid(text,
                   "a range needs exactly one ':' between its bounds, e.g. (10%:90%), (:90%)");
  }
  struct Bound {
    std::optional<double> value;
    bool percent = false;
  };
  Bound bounds[2];
  const std::string_view sides[2] = {inner.substr(0, colon), inner.substr(colon + 1)};
  for (int i = 0; i < 2; ++i) {
    std::string_view side = sides[i];
    if (side.empty()) continue;
    if (side.back() == '%') {
      bounds[i].percent = true;
      side.remove_suffix(1);
    }
    bounds[i].value = ParseNumber(side);
    if (!bounds[i].value) return Invalid(text, NotANumber(side));
  }
  const Bound& lo = bounds[0];
  const Bound& hi = bounds[1];
  if (!lo.value && !hi.value) return Invalid(text, "a range needs at least one bound");
  if (lo.value && hi.value && lo.percent != hi.percent) {
    return Invalid(text, "both bounds must be percentages or both absolute values");
  }
  const bool percent = lo.percent || hi.percent;
  if (percent && kind == StatisticKind::kPercentileRank) {
    return Invalid(text, "PR takes absolute values, not percentages");
  }
  if (percent) {
    const double lower = lo.value.value_or(0.0);
    const double upper = hi.value.value_or(100.0);
    if (lower > 100.0 || upper > 100.0)
      return Invalid(text, "percentages must be between 0 and 100");
    if (lower >= upper) return Invalid(text, "the lower bound must be below the upper bound");
    return PercentRange(kind, lower, upper);
  }
  if (lo.value && hi.value && *lo.value >= *hi.value) {
    return Invalid(text, "the lower bound must be below the upper bound");
  }
  Statistic s;
  s.kind = kind;
  s.percent_bounds = false;
  s.lower = lo.value;
  s.upper = hi.value;
  return s;
}

// Numbers as the parser accepts them: fixed point, at most 10 decimals, no trailing zeros.
std::string FormatNumber(double v) {
  std::string s = fmt::format("{:.{}f}", v, kMaxDecimals);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// x, or the nearest integer when x is within floating noise of it (0.07 * 100 -> 7).
double SnapToInteger(double x) {
  const double nearest = std::round(x);
  return std::fabs(x - nearest) <= 1e-9 * std::max(1.0, std::fabs(x)) ? nearest : x;
}

std::optional<double> ComputePercentRange(const Statistic& s, const Aggregate& a) {
  const double n = static_cast<double>(a.sketch.count());
  const double lower = SnapToInteger(*s.lower / 100.0 * n);
  const double upper = SnapToInteger(*s.upper / 100.0 * n);
  const double kept_count = upper - lower;
  double kept_sum = 0.0;
  double first_kept = 0.0;
  double last_kept = 0.0;
  bool any_kept = false;
  double position = 0.0;
  a.sketch.ForEachBucket([&](double value, uint64_t count) {
    value = std::clamp(value, a.min, a.max);
    const double start = position;
    const double end = position + static_cast<double>(count);
    position = end;
    const double weight = std::min(end, upper) - std::max(start, lower);
    if (weight <= 0.0) return;
    kept_sum += weight * value;
    if (!any_kept) first_kept = value;
    last_kept = value;
    any_kept = true;
  });
  switch (s.kind) {
    case StatisticKind::kTrimmedMean:
      if (!any_kept || kept_count <= 0.0) return std::nullopt;
      return kept_sum / kept_count;
    case StatisticKind::kTrimmedCount:
      return std::max(kept_count, 0.0);
    case StatisticKind::kTrimmedSum:
      return kept_sum;
    case StatisticKind::kWinsorizedMean:
      if (!any_kept) return std::nullopt;
      return (lower * first_kept + kept_sum + (n - upper) * last_kept) / n;
    default:
      CheckFailed(__FILE__, __LINE__, "percent range", "not a range statistic");
  }
}

std::optional<double> ComputeAbsoluteRange(const Statistic& s, const Aggregate& a) {
  const double n = static_cast<double>(a.sketch.count());
  const double lower = s.lower.value_or(-std::numeric_limits<double>::infinity());
  const double upper = s.upper.value_or(std::numeric_limits<double>::infinity());
  double inside_count = 0.0;
  double inside_sum = 0.0;
  double winsorized_sum = 0.0;
  a.sketch.ForEachBucket([&](double value, uint64_t count) {
    value = std::clamp(value, a.min, a.max);
    const double c = static_cast<double>(count);
    if (value > lower && value <= upper) {
      inside_count += c;
      inside_sum += c * value;
    }
    winsorized_sum += c * std::clamp(value, lower, std::max(lower, upper));
  });
  switch (s.kind) {
    case StatisticKind::kTrimmedMean:
      if (inside_count == 0.0) return std::nullopt;
      return inside_sum / inside_count;
    case StatisticKind::kTrimmedCount:
      return inside_count;
    case StatisticKind::kTrimmedSum:
      return inside_sum;
    case StatisticKind::kWinsorizedMean:
      return winsorized_sum / n;
    case StatisticKind::kPercentileRank:
      return 100.0 * inside_count / n;
    default:
      CheckFailed(__FILE__, __LINE__, "absolute range", "not a range statistic");
  }
}

}  // namespace

void Aggregate::Add(double v, uint64_t n) {
  if (n == 0 || !std::isfinite(v)) return;
  if (count == 0) {
    min = v;
    max = v;
  } else {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  count += n;
  sum += v * static_cast<double>(n);
  sketch.Add(v, n);
}

void Aggregate::Merge(const Aggregate& other) {
  if (other.count == 0) return;
  if (count == 0) {
    min = other.min;
    max = other.max;
  } else {
    min = std::min(min, other.min);
    max = std::max(max, other.max);
  }
  count += other.count;
  sum += other.sum;
  sketch.Merge(other.sketch);
}

void Aggregate::Clear() {
  count = 0;
  sum = 0.0;
  min = 0.0;
  max = 0.0;
  sketch.Clear();
}

Result<Statistic> ParseStatistic(std::string_view text) {
  constexpr std::pair<std::string_view, StatisticKind> kExact[] = {
      {"SampleCount", StatisticKind::kSampleCount}, {"Sum", StatisticKind::kSum},
      {"Average", StatisticKind::kAverage},         {"Minimum", StatisticKind::kMinimum},
      {"Maximum", StatisticKind::kMaximum},
  };
  for (const auto& [name, kind] : kExact) {
    if (text == name) {
      Statistic s;
      s.kind = kind;
      return s;
    }
  }
  if (text == "IQM") return PercentRange(StatisticKind::kTrimmedMean, 25.0, 75.0);
  if (text.empty()) return Invalid(text, "empty statistic");

  if (text[0] == 'p' && text.size() > 1 && IsDigit(text[1])) {
    const std::string_view number = text.substr(1);
    const std::optional<double> p = ParseNumber(number);
    if (!p) return Invalid(text, NotANumber(number));
    if (*p > 100.0) return Invalid(text, "a percentile must be between 0 and 100");
    Statistic s;
    s.kind = StatisticKind::kPercentile;
    s.percentile = *p;
    return s;
  }

  for (const RangeName& name : kRangeNames) {
    if (text.substr(0, 2) == name.upper) {
      const std::string_view rest = text.substr(2);
      if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') {
        return Invalid(text, fmt::format("the uppercase form takes a range in parentheses, e.g. "
                                         "{}(10:90){}",
                                         name.upper,
                                         name.kind == StatisticKind::kPercentileRank
                                             ? ""
                                             : fmt::format(" or {}(:90%)", name.upper)));
      }
      return ParseRange(text, name.kind, rest.substr(1, rest.size() - 2));
    }
    if (text.substr(0, 2) == name.lower) {
      if (name.kind == StatisticKind::kPercentileRank) {
        return Invalid(text, "percentile rank is only spelled PR(a:b)");
      }
      const std::string_view number = text.substr(2);
      if (!number.empty() && number.front() == '(') {
        return Invalid(text, fmt::format("the lowercase form takes a single number; write a range "
                                         "as {}(...)",
                                         name.upper));
      }
      const std::optional<double> p = ParseNumber(number);
      if (!p) return Invalid(text, NotANumber(number));
      if (*p <= 0.0 || *p > 100.0) {
        return Invalid(text, fmt::format("{}NN needs NN in (0, 100]", name.lower));
      }
      return PercentRange(name.kind, 0.0, *p);
    }
  }
  return Invalid(text, "unknown statistic (names are case-sensitive)");
}

std::string ToString(const Statistic& s) {
  switch (s.kind) {
    case StatisticKind::kSampleCount:
      return "SampleCount";
    case StatisticKind::kSum:
      return "Sum";
    case StatisticKind::kAverage:
      return "Average";
    case StatisticKind::kMinimum:
      return "Minimum";
    case StatisticKind::kMaximum:
      return "Maximum";
    case StatisticKind::kPercentile:
      return "p" + FormatNumber(s.percentile);
    default:
      break;
  }
  const RangeName& name = NameOf(s.kind);
  if (s.percent_bounds) {
    const double lower = s.lower.value_or(0.0);
    const double upper = s.upper.value_or(100.0);
    if (s.kind == StatisticKind::kTrimmedMean && lower == 25.0 && upper == 75.0) return "IQM";
    if (lower == 0.0) return fmt::format("{}{}", name.lower, FormatNumber(upper));
    if (upper == 100.0) return fmt::format("{}({}%:)", name.upper, FormatNumber(lower));
    return fmt::format("{}({}%:{}%)", name.upper, FormatNumber(lower), FormatNumber(upper));
  }
  return fmt::format("{}({}:{})", name.upper, s.lower ? FormatNumber(*s.lower) : "",
                     s.upper ? FormatNumber(*s.upper) : "");
}

bool IsPercentileLike(const Statistic& s) { return s.kind == StatisticKind::kPercentile; }

bool NeedsDistribution(const Statistic& s) {
  switch (s.kind) {
    case StatisticKind::kSampleCount:
    case StatisticKind::kSum:
    case StatisticKind::kAverage:
    case StatisticKind::kMinimum:
    case StatisticKind::kMaximum:
      return false;
    default:
      return true;
  }
}

std::optional<double> Compute(const Statistic& s, const Aggregate& a) {
  if (a.count == 0) return std::nullopt;
  switch (s.kind) {
    case StatisticKind::kSampleCount:
      return static_cast<double>(a.count);
    case StatisticKind::kSum:
      return a.sum;
    case StatisticKind::kAverage:
      return a.sum / static_cast<double>(a.count);
    case StatisticKind::kMinimum:
      return a.min;
    case StatisticKind::kMaximum:
      return a.max;
    default:
      break;
  }
  if (a.sketch.negative_count() > 0 || a.sketch.count() == 0) return std::nullopt;
  if (s.kind == StatisticKind::kPercentile) {
    // The extremes are known exactly; everything else comes from the sketch.
    const uint64_t n = a.sketch.count();
    const uint64_t rank = QuantileRank(s.percentile / 100.0, n);
    if (rank == 1) return a.min;
    if (rank == n) return a.max;
    return std::clamp(a.sketch.Quantile(s.percentile / 100.0), a.min, a.max);
  }
  if (s.percent_bounds && s.kind != StatisticKind::kPercentileRank && s.lower && s.upper) {
    return ComputePercentRange(s, a);
  }
  return ComputeAbsoluteRange(s, a);
}

}  // namespace cutover::metrics
