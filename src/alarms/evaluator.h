// Alarm evaluation: CloudWatch's M-of-N rule with missing-data treatment, as a pure function.
//
// Evaluate() takes the alarm's parameters, the datapoints of the evaluation range (one per period,
// oldest first) and the current state, and returns the new state with a CloudWatch-style reason and
// the datapoints that decided. It reads no clock and keeps no state, so the tables of the reference
// (shared/reference/aws-semantics.md section 3.2) are tests of this file. The alarm monitor
// (control loop) builds the range from the metrics store every EvaluationInterval() and applies the
// result.
//
// Thread-safety: pure functions over values; call from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace cutover::alarms {

enum class AlarmState { kOk, kAlarm, kInsufficientData };
// "OK", "ALARM", "INSUFFICIENT_DATA".
std::string_view AlarmStateName(AlarmState state);
Result<AlarmState> ParseAlarmState(std::string_view name);

// The four static-threshold operators; the statistic is the left operand ("value > threshold").
enum class Comparison {
  kGreaterThanOrEqualToThreshold,
  kGreaterThanThreshold,
  kLessThanThreshold,
  kLessThanOrEqualToThreshold,
};
// "GreaterThanOrEqualToThreshold", ...
std::string_view ComparisonName(Comparison comparison);
// "greater than or equal to", "greater than", "less than", "less than or equal to" (for reasons).
std::string_view ComparisonPhrase(Comparison comparison);
// Only the four names above; the anomaly-detection operators are not Comparisons.
std::optional<Comparison> ParseComparison(std::string_view name);

// True when `value` is on the alarming side of `threshold`. A NaN value never breaches.
bool Breaches(Comparison comparison, double value, double threshold);

enum class TreatMissingData { kMissing, kBreaching, kNotBreaching, kIgnore };
// "missing", "breaching", "notBreaching", "ignore" (the CloudFormation spelling).
std::string_view TreatMissingDataName(TreatMissingData treatment);
std::optional<TreatMissingData> ParseTreatMissingData(std::string_view name);

// The statistic of one period. `value` is nullopt when the period has no data (CloudWatch's
// "missing").
struct Datapoint {
  SystemTime timestamp;                // start of the period
  std::optional<double> value;         // nullopt = missing
  std::optional<double> sample_count;  // samples behind `value`; nullopt = unknown (never "low")
};

struct EvaluationParams {
  int period_seconds = 60;
  int evaluation_periods = 1;   // N
  int datapoints_to_alarm = 1;  // M, 1 <= M <= N
  double threshold = 0;
  Comparison comparison = Comparison::kGreaterThanOrEqualToThreshold;
  TreatMissingData treat_missing_data = TreatMissingData::kMissing;
  // Set (to NN of pNN, in (0, 100)) only when the statistic is a percentile and the alarm says
  // EvaluateLowSampleCountPercentile: ignore. Datapoints with fewer samples than
  // MinimumSampleCount(percentile) are then not evaluated (see Evaluate).
  std::optional<double> ignore_low_sample_percentile;
  // For reasons and ReasonDataJson only.
  std::string statistic;  // "Sum", "p99"; empty for metric math alarms
  std::string unit;       // "" when the alarm has no Unit
  // When this evaluation runs (ReasonDataJson's queryDate). The epoch (default) means "the end of
  // the newest period in the range".
  SystemTime now{};
};

// CloudWatch's low-sample rule for percentile `percentile` (NN of pNN): at least 10/(1-p) samples
// for 0.5 <= p < 1 (p99 -> 1000), 10/p for 0 < p < 0.5 (p10 -> 100), as a whole number of samples.
// REQUIRES: 0 < percentile < 100.
double MinimumSampleCount(double percentile);

// One datapoint as the evaluation saw it.
struct EvaluatedDatapoint {
  SystemTime timestamp;
  std::optional<double> value;  // nullopt: a missing period filled per TreatMissingData
  std::optional<double> sample_count;
  bool breaching = false;  // a filled point breaches only under TreatMissingData=breaching
};

struct Evaluation {
  AlarmState state = AlarmState::kInsufficientData;
  bool changed = false;  // state != the state passed in
  // CloudWatch-style: "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (27/11/26 15:04:00)]
  // was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM
  // transition)."
  std::string reason;
  // The datapoints that decided, newest first (CloudWatch's order), filled periods included. Empty
  // when the result is INSUFFICIENT_DATA or a retained state (nothing decided).
  std::vector<EvaluatedDatapoint> evaluated;
  SystemTime query_date;  // params.now, or the end of the newest period in the range
  SystemTime start_date;  // the oldest evaluated timestamp, or the oldest of the range
};

// How many periods the evaluation range holds. CloudWatch fetches "more than N" datapoints, the
// count depending on the period (not specified; the reference's examples use 5 for N = 3).
// Cutover's rule:
//   standard resolution (period >= 60 s):            N + 2
//   high resolution (10/20/30 s, and 1 s extension): N + max(2, ceil(30 s / period))
// so a high-resolution range reaches at least 30 s behind the N evaluated periods: Lambda stamps a
// datapoint with the invocation start, and API Gateway lets a request run 29-30 s, so a slow
// request's datapoint can land that far in the past and must still be in range when it arrives.
// REQUIRES: period_seconds >= 1, evaluation_periods >= 1.
int EvaluationRangeLength(int period_seconds, int evaluation_periods);

// How often the monitor re-evaluates: 60 s for periods >= 60 s (a sliding window, not once per
// period), 10 s for 10/20/30 s periods, 1 s for cutover's 1 s extension.
std::chrono::seconds EvaluationInterval(int period_seconds);

// Decides the alarm state from the evaluation range (reference section 3.2):
//  1. no missing datapoints: the N most recent are evaluated;
//  2. some missing but >= N real ones: the N most recent real datapoints; TreatMissingData unused;
//  3. fewer than N real: every real datapoint is kept and the most recent missing periods fill the
//     rest, as few as possible, per TreatMissingData: breaching / notBreaching substitute;
//     `missing` with nothing real -> INSUFFICIENT_DATA; `ignore` with nothing real -> state kept.
// ALARM when at least M of the evaluated datapoints breach, OK otherwise, except under `missing`
// and `ignore` with fewer than N real datapoints, where unfilled periods are unknown: OK needs a
// real non-breaching datapoint; if every real datapoint breaches but fewer than M, the
// premature-alarm guard decides (`missing` only, see evaluator.cc), else INSUFFICIENT_DATA
// (`missing`) or the state is kept (`ignore`).
// With params.ignore_low_sample_percentile, datapoints with too few samples are "not evaluated":
// neither real nor missing (never filled). Rule 2 applies if enough real datapoints remain;
// otherwise the state is kept unless the remaining real datapoints alone reach M breaching.
// REQUIRES: range_oldest_first.size() >= evaluation_periods >= datapoints_to_alarm >= 1;
// timestamps ascending (normally one period apart).
Evaluation Evaluate(const EvaluationParams& params, std::span<const Datapoint> range_oldest_first,
                    AlarmState current);

// CloudWatch's StateReasonData: {"version":"1.0","queryDate":"2026-11-27T15:05:00.000+0000",
// "startDate":...,"statistic":"Sum","period":60,"recentDatapoints":[3.0],"threshold":1.0,
// "evaluatedDatapoints":[{"timestamp":...,"sampleCount":3.0,"value":3.0}]}. recentDatapoints lists
// the real evaluated values oldest first; evaluatedDatapoints is newest first and a filled point
// has no value.
std::string ReasonDataJson(const Evaluation& evaluation, const EvaluationParams& params);

// "27/11/26 15:04:00" (UTC, CloudWatch's reason format) and "2026-11-27T15:04:00.000+0000".
std::string ReasonTimestamp(SystemTime t);
std::string IsoTimestamp(SystemTime t);
// Values in reasons and JSON: whole numbers with one decimal like CloudWatch ("3.0", "-2.0"),
// others in the shortest form that reads back exactly ("0.5", "0.0001", "1e+20").
std::string FormatValue(double value);

}  // namespace cutover::alarms
