#include "alarms/evaluator.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cmath>
#include <ctime>

namespace cutover::alarms {
namespace {

using std::chrono::seconds;

// How one datapoint of the range takes part in the evaluation.
enum class Kind {
  kReal,       // has a value with enough samples
  kMissing,    // no value for the period
  kLowSample,  // a percentile from too few samples under EvaluateLowSampleCountPercentile=ignore
};

std::string Plural(size_t count, std::string_view singular, std::string_view plural) {
  return fmt::format("{} {}", count, count == 1 ? singular : plural);
}
std::string Datapoints(size_t count) { return Plural(count, "datapoint", "datapoints"); }
std::string_view WasWere(size_t count) { return count == 1 ? "was" : "were"; }

std::string_view FillName(TreatMissingData treatment) {
  switch (treatment) {
    case TreatMissingData::kBreaching:
      return "Breaching";
    case TreatMissingData::kNotBreaching:
      return "NonBreaching";
    case TreatMissingData::kMissing:
      return "Missing";
    case TreatMissingData::kIgnore:
      return "Ignore";
  }
  return "?";
}

// "3.0 (27/11/26 15:04:00), missing (27/11/26 15:05:00)" for the points that pass `keep`.
template <typename Keep>
std::string PointList(const std::vector<EvaluatedDatapoint>& points, Keep keep) {
  std::string out;
  for (const EvaluatedDatapoint& point : points) {
    if (!keep(point)) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} ({})", point.value ? FormatValue(*point.value) : "missing",
                       ReasonTimestamp(point.timestamp));
  }
  return out;
}

class Evaluator {
 public:
  Evaluator(const EvaluationParams& params, std::span<const Datapoint> range, AlarmState current)
      : p_(params), range_(range), current_(current) {}

  Evaluation Run() {
    const int n = p_.evaluation_periods;
    const int m = p_.datapoints_to_alarm;
    CUTOVER_CHECK(n >= 1 && m >= 1 && m <= n);
    CUTOVER_CHECK(range_.size() >= static_cast<size_t>(n));
    CUTOVER_CHECK(p_.period_seconds >= 1);

    result_.query_date =
        p_.now != SystemTime{} ? p_.now : range_.back().timestamp + seconds(p_.period_seconds);
    result_.start_date = range_.front().timestamp;

    std::vector<size_t> real;  // indices of real datapoints, oldest first
    size_t low_samples = 0;
    for (size_t i = 0; i < range_.size(); ++i) {
      Kind kind = Classify(range_[i]);
      if (kind == Kind::kReal) real.push_back(i);
      if (kind == Kind::kLowSample) ++low_samples;
    }

    // Rules 1 and 2: enough real datapoints; the N most recent of them decide and TreatMissingData
    // is not consulted (with no missing datapoint these are simply the N most recent).
    if (real.size() >= static_cast<size_t>(n)) {
      std::vector<size_t> chosen(real.end() - n, real.end());
      Use(chosen, {});
      return Decide(CountBreaching() >= static_cast<size_t>(m) ? AlarmState::kAlarm
                                                               : AlarmState::kOk);
    }

    // Low-sample datapoints are not evaluated: they are neither data nor missing data, so they are
    // never filled. The alarm waits for enough samples ("the alarm state does not change during
    // periods with too few data samples"), unless the datapoints that do have enough samples
    // already reach M.
    if (low_samples > 0) {
      Use(real, {});
      if (CountBreaching() >= static_cast<size_t>(m)) return Decide(AlarmState::kAlarm);
      return LowSampleRetain(low_samples, real.size());
    }

    // Rule 3: fewer than N real datapoints. Every real one is kept, and as few missing periods as
    // possible (the most recent ones) are filled to make N.
    std::vector<size_t> missing;
    for (size_t i = 0; i < range_.size(); ++i) {
      if (!range_[i].value.has_value()) missing.push_back(i);
    }
    const size_t fill_count = static_cast<size_t>(n) - real.size();
    CUTOVER_CHECK(missing.size() >= fill_count);
    std::vector<size_t> fills(missing.end() - static_cast<std::ptrdiff_t>(fill_count),
                              missing.end());
    Use(real, fills);

    switch (p_.treat_missing_data) {
      case TreatMissingData::kBreaching:
      case TreatMissingData::kNotBreaching:
        return Decide(CountBreaching() >= static_cast<size_t>(m) ? AlarmState::kAlarm
                                                                 : AlarmState::kOk);
      case TreatMissingData::kMissing:
      case TreatMissingData::kIgnore:
        break;
    }
    const bool ignore = p_.treat_missing_data == TreatMissingData::kIgnore;
    if (real.empty()) {
      result_.evaluated.clear();
      if (ignore) {
        return Retain(fmt::format("no datapoints were received for {} (TreatMissingData: ignore)",
                                  Plural(range_.size(), "period", "periods")));
      }
      return Finish(AlarmState::kInsufficientData,
                    fmt::format("Insufficient Data: {} {} unknown.", Datapoints(range_.size()),
                                WasWere(range_.size())));
    }
    // Under missing/ignore the filled periods are unknown, neither breaching nor not breaching.
    const size_t breaching = CountBreaching();
    if (breaching >= static_cast<size_t>(m)) return Decide(AlarmState::kAlarm);
    if (breaching < real.size())
      return Decide(AlarmState::kOk);  // a real datapoint is within threshold

    // Every real datapoint breaches, but fewer than M. CloudWatch's premature-alarm guard: alarms
    // with
    // "- - - - X" or "- - - X -" (M = 3) do not go to ALARM, "however, alarms are designed to
    // always go into ALARM state when the oldest available breaching datapoint during the
    // Evaluation Periods number of data points is at least as old as the value of Datapoints to
    // Alarm, and all other more recent data points are breaching or missing. In this case, the
    // alarm goes into ALARM state even if the total number of datapoints available is lower than M
    // (Datapoints to Alarm)." The reference tables apply it under `missing` only (`- - X - -` with
    // `ignore` retains the state), and only when no real datapoint is within the threshold (`0 - X
    // - -`, M = 2, is OK).
    const size_t oldest_age = range_.size() - real.front();  // the newest period has age 1
    if (!ignore && oldest_age >= static_cast<size_t>(m)) return PrematureGuardAlarm(oldest_age);
    std::string detail = fmt::format(
        "only {} of the last {} {} received [{}], all {} the threshold ({}); {} needed for ALARM "
        "and "
        "the oldest is {} old",
        breaching, Datapoints(range_.size()), WasWere(breaching),
        PointList(result_.evaluated,
                  [](const EvaluatedDatapoint& d) { return d.value.has_value(); }),
        ComparisonPhrase(p_.comparison), FormatValue(p_.threshold), m,
        Plural(oldest_age, "period", "periods"));
    result_.evaluated.clear();
    if (ignore) return Retain(detail + " (TreatMissingData: ignore)");
    return Finish(AlarmState::kInsufficientData, fmt::format("Insufficient Data: {}.", detail));
  }

 private:
  Kind Classify(const Datapoint& point) const {
    if (!point.value.has_value()) return Kind::kMissing;
    if (p_.ignore_low_sample_percentile.has_value() && point.sample_count.has_value() &&
        *point.sample_count < MinimumSampleCount(*p_.ignore_low_sample_percentile)) {
      return Kind::kLowSample;
    }
    return Kind::kReal;
  }

  // Records the evaluated datapoints, newest first: the real ones at `real` and the filled periods
  // at `fills` (indices into the range).
  void Use(const std::vector<size_t>& real, const std::vector<size_t>& fills) {
    std::vector<size_t> all = real;
    all.insert(all.end(), fills.begin(), fills.end());
    std::sort(all.begin(), all.end(), std::greater<>());
    fill_count_ = fills.size();
    result_.evaluated.clear();
    for (size_t i : all) {
      const Datapoint& point = range_[i];
      EvaluatedDatapoint out{point.timestamp, point.value, point.sample_count, false};
      if (point.value.has_value() && Classify(point) == Kind::kReal) {
        out.breaching = Breaches(p_.comparison, *point.value, p_.threshold);
      } else {
        out.value.reset();
        out.breaching = p_.treat_missing_data == TreatMissingData::kBreaching;
      }
      result_.evaluated.push_back(out);
    }
    if (!result_.evaluated.empty()) result_.start_date = result_.evaluated.back().timestamp;
  }

  size_t CountBreaching() const {
    return static_cast<size_t>(
        std::count_if(result_.evaluated.begin(), result_.evaluated.end(),
                      [](const EvaluatedDatapoint& d) { return d.breaching; }));
  }

  // " 2 missing datapoints were treated as [Breaching]." or "".
  std::string FillSentence() const {
    if (fill_count_ == 0) return "";
    if (p_.treat_missing_data == TreatMissingData::kBreaching ||
        p_.treat_missing_data == TreatMissingData::kNotBreaching) {
      return fmt::format(" {} missing {} {} treated as [{}].", fill_count_,
                         fill_count_ == 1 ? "datapoint" : "datapoints", WasWere(fill_count_),
                         FillName(p_.treat_missing_data));
    }
    return fmt::format(" {} missing {} {} not evaluated (TreatMissingData: {}).", fill_count_,
                       fill_count_ == 1 ? "datapoint" : "datapoints", WasWere(fill_count_),
                       TreatMissingDataName(p_.treat_missing_data));
  }

  // A "Threshold Crossed" decision from the evaluated datapoints.
  Evaluation Decide(AlarmState state) {
    const size_t n = static_cast<size_t>(p_.evaluation_periods);
    const size_t m = static_cast<size_t>(p_.datapoints_to_alarm);
    const size_t real_count = static_cast<size_t>(
        std::count_if(result_.evaluated.begin(), result_.evaluated.end(),
                      [](const EvaluatedDatapoint& d) { return d.value.has_value(); }));
    if (real_count == 0) {
      // Every evaluated datapoint is a fill (breaching / notBreaching with nothing received).
      return Finish(state,
                    fmt::format("Threshold Crossed: no datapoints were received for {} and {} "
                                "missing {} {} treated as [{}].",
                                Plural(range_.size(), "period", "periods"), fill_count_,
                                fill_count_ == 1 ? "datapoint" : "datapoints", WasWere(fill_count_),
                                FillName(p_.treat_missing_data)));
    }
    if (state == AlarmState::kAlarm) {
      const size_t breaching = CountBreaching();
      std::string transition = current_ == AlarmState::kAlarm
                                   ? fmt::format("minimum {} for ALARM", Datapoints(m))
                                   : fmt::format("minimum {} for {} -> ALARM transition",
                                                 Datapoints(m), AlarmStateName(current_));
      return Finish(
          state, fmt::format("Threshold Crossed: {} out of the last {} datapoints [{}] {} {} the "
                             "threshold ({}) ({}).{}",
                             breaching, n,
                             PointList(result_.evaluated,
                                       [](const EvaluatedDatapoint& d) { return d.breaching; }),
                             WasWere(breaching), ComparisonPhrase(p_.comparison),
                             FormatValue(p_.threshold), transition, FillSentence()));
    }
    auto filled_within = [this](const EvaluatedDatapoint& d) {
      return !d.breaching &&
             (d.value.has_value() || p_.treat_missing_data == TreatMissingData::kNotBreaching);
    };
    const size_t listed = static_cast<size_t>(
        std::count_if(result_.evaluated.begin(), result_.evaluated.end(), filled_within));
    return Finish(
        state,
        fmt::format("Threshold Crossed: {} out of the last {} datapoints [{}] {} not {} the "
                    "threshold ({}).{}",
                    listed, n, PointList(result_.evaluated, filled_within), WasWere(listed),
                    ComparisonPhrase(p_.comparison), FormatValue(p_.threshold), FillSentence()));
  }

  Evaluation PrematureGuardAlarm(size_t oldest_age) {
    const size_t breaching = CountBreaching();
    const size_t newer_missing = oldest_age - breaching;  // every real datapoint breaches
    std::string transition =
        current_ == AlarmState::kAlarm
            ? std::string("premature-alarm rule")
            : fmt::format("premature-alarm rule, {} -> ALARM transition", AlarmStateName(current_));
    return Finish(
        AlarmState::kAlarm,
        fmt::format("Threshold Crossed: {} out of the last {} datapoints [{}] {} {} the threshold "
                    "({}) and the {} "
                    "more recent {} no data: the oldest breaching datapoint is {} old, at least "
                    "DatapointsToAlarm ({}) ({}).",
                    breaching, range_.size(),
                    PointList(result_.evaluated,
                              [](const EvaluatedDatapoint& d) { return d.value.has_value(); }),
                    WasWere(breaching), ComparisonPhrase(p_.comparison), FormatValue(p_.threshold),
                    newer_missing, newer_missing == 1 ? "period had" : "periods had",
                    Plural(oldest_age, "period", "periods"), p_.datapoints_to_alarm, transition));
  }

  Evaluation LowSampleRetain(size_t low_samples, size_t enough) {
    const double minimum = MinimumSampleCount(*p_.ignore_low_sample_percentile);
    std::string statistic = p_.statistic.empty()
                                ? fmt::format("p{}", FormatValue(*p_.ignore_low_sample_percentile))
                                : p_.statistic;
    result_.evaluated.clear();
    return Retain(fmt::format(
        "{} of the last {} had fewer than {} samples, too few for {} "
        "(EvaluateLowSampleCountPercentile: ignore), and {} with enough samples "
        "{} fewer than the {} evaluation {}",
        low_samples, Datapoints(range_.size()), minimum, statistic, enough, WasWere(enough),
        p_.evaluation_periods, p_.evaluation_periods == 1 ? "period" : "periods"));
  }

  Evaluation Retain(const std::string& why) {
    return Finish(current_, fmt::format("Retained {}: {}.", AlarmStateName(current_), why));
  }

  Evaluation Finish(AlarmState state, std::string reason) {
    result_.state = state;
    result_.changed = state != current_;
    result_.reason = std::move(reason);
    return std::move(result_);
  }

  const EvaluationParams& p_;
  std::span<const Datapoint> range_;
  AlarmState current_;
  Evaluation result_;
  size_t fill_count_ = 0;
};

std::tm Utc(SystemTime t) {
  std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  if (std::chrono::system_clock::from_time_t(secs) > t) --secs;  // floor for times before the epoch
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

std::string JsonString(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

std::string JsonNumber(double value) { return std::isfinite(value) ? FormatValue(value) : "null"; }

}  // namespace

std::string_view AlarmStateName(AlarmState state) {
  switch (state) {
    case AlarmState::kOk:
      return "OK";
    case AlarmState::kAlarm:
      return "ALARM";
    case AlarmState::kInsufficientData:
      return "INSUFFICIENT_DATA";
  }
  return "?";
}

Result<AlarmState> ParseAlarmState(std::string_view name) {
  for (AlarmState state : {AlarmState::kOk, AlarmState::kAlarm, AlarmState::kInsufficientData}) {
    if (AlarmStateName(state) == name) return state;
  }
  return InvalidArgument(
      fmt::format("unknown alarm state '{}' (expected OK, ALARM or INSUFFICIENT_DATA)", name));
}

std::string_view ComparisonName(Comparison comparison) {
  switch (comparison) {
    case Comparison::kGreaterThanOrEqualToThreshold:
      return "GreaterThanOrEqualToThreshold";
    case Comparison::kGreaterThanThreshold:
      return "GreaterThanThreshold";
    case Comparison::kLessThanThreshold:
      return "LessThanThreshold";
    case Comparison::kLessThanOrEqualToThreshold:
      return "LessThanOrEqualToThreshold";
  }
  return "?";
}

std::string_view ComparisonPhrase(Comparison comparison) {
  switch (comparison) {
    case Comparison::kGreaterThanOrEqualToThreshold:
      return "greater than or equal to";
    case Comparison::kGreaterThanThreshold:
      return "greater than";
    case Comparison::kLessThanThreshold:
      return "less than";
    case Comparison::kLessThanOrEqualToThreshold:
      return "less than or equal to";
  }
  return "?";
}

std::optional<Comparison> ParseComparison(std::string_view name) {
  for (Comparison c :
       {Comparison::kGreaterThanOrEqualToThreshold, Comparison::kGreaterThanThreshold,
        Comparison::kLessThanThreshold, Comparison::kLessThanOrEqualToThreshold}) {
    if (ComparisonName(c) == name) return c;
  }
  return std::nullopt;
}

bool Breaches(Comparison comparison, double value, double threshold) {
  switch (comparison) {
    case Comparison::kGreaterThanOrEqualToThreshold:
      return value >= threshold;
    case Comparison::kGreaterThanThreshold:
      return value > threshold;
    case Comparison::kLessThanThreshold:
      return value < threshold;
    case Comparison::kLessThanOrEqualToThreshold:
      return value <= threshold;
  }
  return false;
}

std::string_view TreatMissingDataName(TreatMissingData treatment) {
  switch (treatment) {
    case TreatMissingData::kMissing:
      return "missing";
    case TreatMissingData::kBreaching:
      return "breaching";
    case TreatMissingData::kNotBreaching:
      return "notBreaching";
    case TreatMissingData::kIgnore:
      return "ignore";
  }
  return "?";
}

std::optional<TreatMissingData> ParseTreatMissingData(std::string_view name) {
  for (TreatMissingData t : {TreatMissingData::kMissing, TreatMissingData::kBreaching,
                             TreatMissingData::kNotBreaching, TreatMissingData::kIgnore}) {
    if (TreatMissingDataName(t) == name) return t;
  }
  return std::nullopt;
}

double MinimumSampleCount(double percentile) {
  CUTOVER_CHECK(percentile > 0 && percentile < 100);
  // In percent to keep p99 exact: 10 / (1 - 0.99) is 1000.0000000000009 in doubles.
  double exact = percentile >= 50 ? 1000.0 / (100.0 - percentile) : 1000.0 / percentile;
  // Samples are whole: "fewer than 10000.000000000006" (p99.9) means fewer than 10000.
  return std::ceil(exact - 1e-6);
}

int EvaluationRangeLength(int period_seconds, int evaluation_periods) {
  CUTOVER_CHECK(period_seconds >= 1 && evaluation_periods >= 1);
  if (period_seconds >= 60) return evaluation_periods + 2;
  int to_cover_30s = (30 + period_seconds - 1) / period_seconds;
  return evaluation_periods + std::max(2, to_cover_30s);
}

std::chrono::seconds EvaluationInterval(int period_seconds) {
  if (period_seconds <= 1) return std::chrono::seconds(1);
  if (period_seconds < 60) return std::chrono::seconds(10);
  return std::chrono::seconds(60);
}

Evaluation Evaluate(const EvaluationParams& params, std::span<const Datapoint> range_oldest_first,
                    AlarmState current) {
  return Evaluator(params, range_oldest_first, current).Run();
}

std::string ReasonTimestamp(SystemTime t) {
  std::tm tm = Utc(t);
  return fmt::format("{:02}/{:02}/{:02} {:02}:{:02}:{:02}", tm.tm_mday, tm.tm_mon + 1,
                     tm.tm_year % 100, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string IsoTimestamp(SystemTime t) {
  std::tm tm = Utc(t);
  int64_t millis = ToEpochMillis(t) % 1000;
  if (millis < 0) millis += 1000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{:.1f}", value);
  return fmt::format("{}", value);
}

std::string ReasonDataJson(const Evaluation& evaluation, const EvaluationParams& params) {
  std::string out = "{\"version\":\"1.0\"";
  out += fmt::format(",\"queryDate\":{}", JsonString(IsoTimestamp(evaluation.query_date)));
  out += fmt::format(",\"startDate\":{}", JsonString(IsoTimestamp(evaluation.start_date)));
  if (!params.statistic.empty())
    out += fmt::format(",\"statistic\":{}", JsonString(params.statistic));
  out += fmt::format(",\"period\":{}", params.period_seconds);
  if (!params.unit.empty()) out += fmt::format(",\"unit\":{}", JsonString(params.unit));
  out += ",\"recentDatapoints\":[";
  bool first = true;
  for (auto it = evaluation.evaluated.rbegin(); it != evaluation.evaluated.rend(); ++it) {
    if (!it->value.has_value()) continue;
    if (!first) out += ',';
    first = false;
    out += JsonNumber(*it->value);
  }
  out += fmt::format("],\"threshold\":{}", JsonNumber(params.threshold));
  if (!evaluation.evaluated.empty()) {
    out += ",\"evaluatedDatapoints\":[";
    first = true;
    for (const EvaluatedDatapoint& point : evaluation.evaluated) {
      if (!first) out += ',';
      first = false;
      out += fmt::format("{{\"timestamp\":{}", JsonString(IsoTimestamp(point.timestamp)));
      if (point.sample_count.has_value()) {
        out += fmt::format(",\"sampleCount\":{}", JsonNumber(*point.sample_count));
      }
      if (point.value.has_value()) out += fmt::format(",\"value\":{}", JsonNumber(*point.value));
      out += '}';
    }
    out += ']';
  }
  out += '}';
  return out;
}

}  // namespace cutover::alarms
