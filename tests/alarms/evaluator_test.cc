#include "alarms/evaluator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace cutover::alarms {
namespace {

using std::chrono::seconds;

// 2026-11-27 15:00:00 UTC.
const SystemTime kStart = FromEpochMillis(1'795'791'600'000);
constexpr double kThreshold = 1.0;
constexpr double kOkValue = 0.0;
constexpr double kBreachValue = 3.0;

// "0 - X - X" (oldest first): 0 = within the threshold, X = breaching, - = missing. `period` apart.
std::vector<Datapoint> Range(std::string_view pattern, int period = 300) {
  std::vector<Datapoint> out;
  for (char c : pattern) {
    if (c == ' ') continue;
    Datapoint point;
    point.timestamp = kStart + seconds(period) * static_cast<int>(out.size());
    if (c == '0') point.value = kOkValue;
    if (c == 'X') point.value = kBreachValue;
    if (c != '-') point.sample_count = 10;
    out.push_back(point);
  }
  return out;
}

EvaluationParams Params(int n, int m, TreatMissingData treatment, int period = 300) {
  EvaluationParams params;
  params.period_seconds = period;
  params.evaluation_periods = n;
  params.datapoints_to_alarm = m;
  params.threshold = kThreshold;
  params.comparison = Comparison::kGreaterThanOrEqualToThreshold;
  params.treat_missing_data = treatment;
  params.statistic = "Sum";
  return params;
}

// An expected result: a state, or "keep the current state".
struct Expect {
  bool retain = false;
  AlarmState state = AlarmState::kOk;
};
constexpr Expect kOk{false, AlarmState::kOk};
constexpr Expect kAlarm{false, AlarmState::kAlarm};
constexpr Expect kInsufficient{false, AlarmState::kInsufficientData};
constexpr Expect kRetain{true, AlarmState::kOk};

struct TableRow {
  const char* source;  // where the row comes from
  const char* data;
  int n;
  int m;
  Expect missing, ignore, breaching, not_breaching;
};

// shared/reference/aws-semantics.md 3.2 (CloudWatch user guide, "How alarm state is evaluated when
// data is missing"), every row of both tables, plus the premature-alarm examples of the same
// section.
const TableRow kTable[] = {
    {"3.2 N=3 M=3", "0 - X - X", 3, 3, kOk, kOk, kOk, kOk},
    {"3.2 N=3 M=3", "0 - - - -", 3, 3, kOk, kOk, kOk, kOk},
    {"3.2 N=3 M=3", "- - - - -", 3, 3, kInsufficient, kRetain, kAlarm, kOk},
    {"3.2 N=3 M=3", "0 X X - X", 3, 3, kAlarm, kAlarm, kAlarm, kAlarm},
    {"3.2 N=3 M=3", "- - X - -", 3, 3, kAlarm, kRetain, kAlarm, kOk},
    {"3.2 N=3 M=2", "0 - X - X", 3, 2, kAlarm, kAlarm, kAlarm, kAlarm},
    {"3.2 N=3 M=2", "0 0 X 0 X", 3, 2, kAlarm, kAlarm, kAlarm, kAlarm},
    {"3.2 N=3 M=2", "0 - X - -", 3, 2, kOk, kOk, kAlarm, kOk},
    {"3.2 N=3 M=2", "- - - - 0", 3, 2, kOk, kOk, kAlarm, kOk},
    {"3.2 N=3 M=2", "- - - X -", 3, 2, kAlarm, kRetain, kAlarm, kOk},
    // Premature-alarm guard: "- - - - X" and "- - - X -" do not alarm with M = 3 (older user guide
    // revisions give INSUFFICIENT_DATA / retain for "- - - - X"); "X - - - -" does (older
    // revision's sixth row: "the oldest evaluated data point is breaching and there aren't any
    // non-breaching").
    {"3.2 premature", "- - - - X", 3, 3, kInsufficient, kRetain, kAlarm, kOk},
    {"3.2 premature", "- - - X -", 3, 3, kInsufficient, kRetain, kAlarm, kOk},
    {"3.2 premature", "X - - - -", 3, 3, kAlarm, kRetain, kAlarm, kOk},
    {"guide 2019, N=3 M=2", "- - - - X", 3, 2, kInsufficient, kRetain, kAlarm, kOk},
};

class EvaluationTableTest : public ::testing::TestWithParam<TableRow> {};

TEST_P(EvaluationTableTest, MatchesTheReferenceForEveryTreatmentAndCurrentState) {
  const TableRow& row = GetParam();
  const std::pair<TreatMissingData, Expect> columns[] = {
      {TreatMissingData::kMissing, row.missing},
      {TreatMissingData::kIgnore, row.ignore},
      {TreatMissingData::kBreaching, row.breaching},
      {TreatMissingData::kNotBreaching, row.not_breaching},
  };
  const std::vector<Datapoint> range = Range(row.data);
  ASSERT_EQ(range.size(), 5u);
  for (const auto& [treatment, expect] : columns) {
    for (AlarmState current :
         {AlarmState::kOk, AlarmState::kAlarm, AlarmState::kInsufficientData}) {
      Evaluation result = Evaluate(Params(row.n, row.m, treatment), range, current);
      AlarmState want = expect.retain ? current : expect.state;
      EXPECT_EQ(AlarmStateName(result.state), AlarmStateName(want))
          << row.source << " '" << row.data
          << "' TreatMissingData=" << TreatMissingDataName(treatment) << " from "
          << AlarmStateName(current) << ": " << result.reason;
      EXPECT_EQ(result.changed, want != current);
      EXPECT_FALSE(result.reason.empty());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Reference, EvaluationTableTest, ::testing::ValuesIn(kTable));

TEST(EvaluatorTest, ReasonReadsLikeCloudWatch) {
  EvaluationParams params = Params(1, 1, TreatMissingData::kMissing, 60);
  std::vector<Datapoint> range = Range("- 0 X", 60);
  range.back().timestamp = FromEpochMillis(1'795'791'840'000);  // 27/11/26 15:04:00
  Evaluation result = Evaluate(params, range, AlarmState::kOk);
  EXPECT_EQ(result.state, AlarmState::kAlarm);
  EXPECT_TRUE(result.changed);
  EXPECT_EQ(
      result.reason,
      "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (27/11/26 15:04:00)] was greater "
      "than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).");

  Evaluation ok = Evaluate(params, Range("X X 0", 60), AlarmState::kAlarm);
  EXPECT_EQ(ok.state, AlarmState::kOk);
  EXPECT_EQ(ok.reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (27/11/26 15:02:00)] was not "
            "greater than or equal to the threshold (1.0).");
}

TEST(EvaluatorTest, ReasonsForMissingData) {
  Evaluation insufficient =
      Evaluate(Params(3, 3, TreatMissingData::kMissing), Range("- - - - -"), AlarmState::kOk);
  EXPECT_EQ(insufficient.reason, "Insufficient Data: 5 datapoints were unknown.");
  EXPECT_TRUE(insufficient.evaluated.empty());

  Evaluation breaching =
      Evaluate(Params(3, 3, TreatMissingData::kBreaching), Range("- - - - -"), AlarmState::kOk);
  EXPECT_EQ(breaching.reason,
            "Threshold Crossed: no datapoints were received for 5 periods and 3 missing datapoints "
            "were treated as [Breaching].");
  EXPECT_EQ(breaching.evaluated.size(), 3u);

  Evaluation retained =
      Evaluate(Params(3, 3, TreatMissingData::kIgnore), Range("- - - - -"), AlarmState::kAlarm);
  EXPECT_EQ(
      retained.reason,
      "Retained ALARM: no datapoints were received for 5 periods (TreatMissingData: ignore).");

  Evaluation guard =
      Evaluate(Params(3, 3, TreatMissingData::kMissing), Range("- - X - -"), AlarmState::kOk);
  EXPECT_NE(guard.reason.find("the oldest breaching datapoint is 3 periods old, at least "
                              "DatapointsToAlarm (3)"),
            std::string::npos)
      << guard.reason;

  Evaluation filled =
      Evaluate(Params(3, 2, TreatMissingData::kBreaching), Range("0 - X - -"), AlarmState::kOk);
  EXPECT_NE(filled.reason.find("1 missing datapoint was treated as [Breaching]."),
            std::string::npos)
      << filled.reason;
}

TEST(EvaluatorTest, RuleTwoUsesTheMostRecentRealDatapoints) {
  // "0 X X - X": 4 real >= N = 3, so the three most recent real ones (indices 4, 2, 1) decide.
  Evaluation result =
      Evaluate(Params(3, 3, TreatMissingData::kBreaching), Range("0 X X - X"), AlarmState::kOk);
  ASSERT_EQ(result.evaluated.size(), 3u);
  EXPECT_EQ(result.evaluated[0].timestamp, kStart + seconds(4 * 300));
  EXPECT_EQ(result.evaluated[1].timestamp, kStart + seconds(2 * 300));
  EXPECT_EQ(result.evaluated[2].timestamp, kStart + seconds(1 * 300));
  for (const EvaluatedDatapoint& point : result.evaluated) {
    EXPECT_TRUE(point.value.has_value());
    EXPECT_TRUE(point.breaching);
  }
  EXPECT_EQ(result.start_date, kStart + seconds(300));
}

TEST(EvaluatorTest, RuleThreeKeepsRealPointsAndFillsTheMostRecentMissingPeriods) {
  // "0 - - - -" with breaching: the old 0 stays, two fills (the newest periods) breach: 2 < M = 3.
  Evaluation result =
      Evaluate(Params(3, 3, TreatMissingData::kBreaching), Range("0 - - - -"), AlarmState::kOk);
  EXPECT_EQ(result.state, AlarmState::kOk);
  ASSERT_EQ(result.evaluated.size(), 3u);
  EXPECT_EQ(result.evaluated[0].timestamp, kStart + seconds(4 * 300));
  EXPECT_FALSE(result.evaluated[0].value.has_value());
  EXPECT_TRUE(result.evaluated[0].breaching);
  EXPECT_EQ(result.evaluated[1].timestamp, kStart + seconds(3 * 300));
  EXPECT_EQ(result.evaluated[2].timestamp, kStart);
  EXPECT_EQ(result.evaluated[2].value, kOkValue);
  EXPECT_FALSE(result.evaluated[2].breaching);
}

TEST(EvaluatorTest, SlidingWindowForgetsTheOldNonBreachingPoint) {
  // The reference's note on "0 - - - -" with breaching: once the 0 leaves the 5-point range, ALARM.
  EXPECT_EQ(
      Evaluate(Params(3, 3, TreatMissingData::kBreaching), Range("- - - - -"), AlarmState::kOk)
          .state,
      AlarmState::kAlarm);
}

struct ComparisonRow {
  Comparison comparison;
  const char* name;
  double value;
  double threshold;
  bool breaches;
};

const ComparisonRow kComparisons[] = {
    {Comparison::kGreaterThanOrEqualToThreshold, "GreaterThanOrEqualToThreshold", 1, 1, true},
    {Comparison::kGreaterThanOrEqualToThreshold, "GreaterThanOrEqualToThreshold", 0.999, 1, false},
    {Comparison::kGreaterThanOrEqualToThreshold, "GreaterThanOrEqualToThreshold", 2, 1, true},
    {Comparison::kGreaterThanThreshold, "GreaterThanThreshold", 1, 1, false},
    {Comparison::kGreaterThanThreshold, "GreaterThanThreshold", 1.001, 1, true},
    {Comparison::kGreaterThanThreshold, "GreaterThanThreshold", 0, 0, false},
    {Comparison::kLessThanThreshold, "LessThanThreshold", 1, 1, false},
    {Comparison::kLessThanThreshold, "LessThanThreshold", 0.5, 1, true},
    {Comparison::kLessThanThreshold, "LessThanThreshold", -1, -0.5, true},
    {Comparison::kLessThanOrEqualToThreshold, "LessThanOrEqualToThreshold", 1, 1, true},
    {Comparison::kLessThanOrEqualToThreshold, "LessThanOrEqualToThreshold", 1.5, 1, false},
    {Comparison::kLessThanOrEqualToThreshold, "LessThanOrEqualToThreshold", 0, 1, true},
};

class ComparisonTest : public ::testing::TestWithParam<ComparisonRow> {};

TEST_P(ComparisonTest, BreachesAndDrivesTheState) {
  const ComparisonRow& row = GetParam();
  EXPECT_EQ(ComparisonName(row.comparison), row.name);
  EXPECT_EQ(ParseComparison(row.name), row.comparison);
  EXPECT_EQ(Breaches(row.comparison, row.value, row.threshold), row.breaches)
      << row.name << " " << row.value << " vs " << row.threshold;
  EXPECT_FALSE(Breaches(row.comparison, std::nan(""), row.threshold));

  EvaluationParams params = Params(1, 1, TreatMissingData::kMissing, 60);
  params.comparison = row.comparison;
  params.threshold = row.threshold;
  std::vector<Datapoint> range = Range("- - 0", 60);
  range.back().value = row.value;
  Evaluation result = Evaluate(params, range, AlarmState::kInsufficientData);
  EXPECT_EQ(result.state, row.breaches ? AlarmState::kAlarm : AlarmState::kOk);
  EXPECT_NE(result.reason.find(std::string(ComparisonPhrase(row.comparison)) + " the threshold"),
            std::string::npos)
      << result.reason;
}

INSTANTIATE_TEST_SUITE_P(AllOperators, ComparisonTest, ::testing::ValuesIn(kComparisons));

TEST(EvaluatorTest, AnomalyOperatorsAreNotComparisons) {
  EXPECT_FALSE(ParseComparison("GreaterThanUpperThreshold").has_value());
  EXPECT_FALSE(ParseComparison("LessThanLowerOrGreaterThanUpperThreshold").has_value());
  EXPECT_FALSE(ParseComparison("greaterThanThreshold").has_value());
}

TEST(EvaluatorTest, MinimumSampleCountFollowsTheLowSampleRule) {
  EXPECT_EQ(MinimumSampleCount(99), 1000);  // the reference's example
  EXPECT_EQ(MinimumSampleCount(99.9), 10000);
  EXPECT_EQ(MinimumSampleCount(95), 200);
  EXPECT_EQ(MinimumSampleCount(90), 100);
  EXPECT_EQ(MinimumSampleCount(50), 20);  // 10 / (1 - 0.5)
  EXPECT_EQ(MinimumSampleCount(49), 21);  // 10 / 0.49 = 20.4
  EXPECT_EQ(MinimumSampleCount(25), 40);  // 10 / 0.25
  EXPECT_EQ(MinimumSampleCount(10), 100);
}

// p99 with EvaluateLowSampleCountPercentile: ignore.
EvaluationParams P99Ignore(int n, int m) {
  EvaluationParams params = Params(n, m, TreatMissingData::kMissing, 60);
  params.statistic = "p99";
  params.ignore_low_sample_percentile = 99;
  return params;
}

std::vector<Datapoint> WithSamples(std::vector<Datapoint> range, std::vector<double> samples) {
  for (size_t i = 0; i < range.size(); ++i) {
    if (range[i].value.has_value()) range[i].sample_count = samples[i];
  }
  return range;
}

TEST(EvaluatorTest, LowSamplePercentilesAreNotEvaluatedUnderIgnore) {
  // Three breaching p99 datapoints from 999 samples each: too few (1000 needed), the state stays.
  auto low = WithSamples(Range("X X X", 60), {999, 999, 999});
  for (AlarmState current : {AlarmState::kOk, AlarmState::kInsufficientData}) {
    Evaluation result = Evaluate(P99Ignore(1, 1), low, current);
    EXPECT_EQ(result.state, current) << result.reason;
    EXPECT_FALSE(result.changed);
    EXPECT_NE(result.reason.find("fewer than 1000 samples, too few for p99"), std::string::npos)
        << result.reason;
  }
  // With 1000 samples it counts.
  auto enough = WithSamples(Range("X X X", 60), {999, 999, 1000});
  EXPECT_EQ(Evaluate(P99Ignore(1, 1), enough, AlarmState::kOk).state, AlarmState::kAlarm);
  // Under "evaluate" (no ignore_low_sample_percentile) the low-sample datapoint decides.
  EvaluationParams evaluate = P99Ignore(1, 1);
  evaluate.ignore_low_sample_percentile.reset();
  EXPECT_EQ(Evaluate(evaluate, low, AlarmState::kOk).state, AlarmState::kAlarm);
  // An unknown sample count is never low.
  std::vector<Datapoint> unknown = Range("- - X", 60);
  unknown.back().sample_count.reset();
  EXPECT_EQ(Evaluate(P99Ignore(1, 1), unknown, AlarmState::kOk).state, AlarmState::kAlarm);
}

TEST(EvaluatorTest, LowSampleDatapointsAreSkippedLikeMissingOnesWhenEnoughRemain) {
  // "0 X X X 0" where the newest 0 has 10 samples: skipped, so X X X decide -> ALARM.
  std::vector<Datapoint> range = Range("0 X X X 0", 60);
  std::vector<double> samples = {5000, 5000, 5000, 5000, 10};
  Evaluation result = Evaluate(P99Ignore(3, 3), WithSamples(range, samples), AlarmState::kOk);
  EXPECT_EQ(result.state, AlarmState::kAlarm) << result.reason;
  // Evaluated normally, the 0 is among the last three -> OK.
  EvaluationParams evaluate = P99Ignore(3, 3);
  evaluate.ignore_low_sample_percentile.reset();
  EXPECT_EQ(Evaluate(evaluate, WithSamples(range, samples), AlarmState::kAlarm).state,
            AlarmState::kOk);
}

TEST(EvaluatorTest, LowSampleDatapointsAreNeverFilledAsBreaching) {
  EvaluationParams params = P99Ignore(3, 3);
  params.treat_missing_data = TreatMissingData::kBreaching;
  auto range = WithSamples(Range("0 0 0 0 0", 60), {1, 1, 1, 1, 1});
  EXPECT_EQ(Evaluate(params, range, AlarmState::kOk).state, AlarmState::kOk);
  EXPECT_EQ(Evaluate(params, range, AlarmState::kInsufficientData).state,
            AlarmState::kInsufficientData);
}

TEST(EvaluatorTest, EnoughBreachingDatapointsAlarmEvenAmongLowSampleOnes) {
  // M = 1: one breaching datapoint with enough samples decides whatever the others would say.
  auto range = WithSamples(Range("0 0 0 0 X", 60), {1, 1, 1, 1, 5000});
  EXPECT_EQ(Evaluate(P99Ignore(3, 1), range, AlarmState::kOk).state, AlarmState::kAlarm);
}

TEST(EvaluatorTest, EvaluationRangeLength) {
  EXPECT_EQ(EvaluationRangeLength(300, 3), 5);  // the reference's examples
  EXPECT_EQ(EvaluationRangeLength(60, 3), 5);
  EXPECT_EQ(EvaluationRangeLength(60, 1), 3);
  EXPECT_EQ(EvaluationRangeLength(3600, 24), 26);
  EXPECT_EQ(EvaluationRangeLength(30, 3), 5);
  EXPECT_EQ(EvaluationRangeLength(20, 3), 5);
  EXPECT_EQ(EvaluationRangeLength(10, 3), 6);  // reaches 30 s behind
  EXPECT_EQ(EvaluationRangeLength(1, 3), 33);
}

TEST(EvaluatorTest, EvaluationInterval) {
  EXPECT_EQ(EvaluationInterval(1), seconds(1));
  EXPECT_EQ(EvaluationInterval(10), seconds(10));
  EXPECT_EQ(EvaluationInterval(30), seconds(10));
  EXPECT_EQ(EvaluationInterval(60), seconds(60));
  EXPECT_EQ(EvaluationInterval(300), seconds(60));  // sliding window, every minute
}

TEST(EvaluatorTest, StateAndEnumNames) {
  EXPECT_EQ(AlarmStateName(AlarmState::kOk), "OK");
  EXPECT_EQ(AlarmStateName(AlarmState::kAlarm), "ALARM");
  EXPECT_EQ(AlarmStateName(AlarmState::kInsufficientData), "INSUFFICIENT_DATA");
  EXPECT_EQ(ParseAlarmState("INSUFFICIENT_DATA").value(), AlarmState::kInsufficientData);
  EXPECT_FALSE(ParseAlarmState("Ok").ok());
  EXPECT_EQ(ParseTreatMissingData("notBreaching"), TreatMissingData::kNotBreaching);
  EXPECT_FALSE(ParseTreatMissingData("NotBreaching").has_value());
}

TEST(EvaluatorTest, ReasonDataJsonLooksLikeCloudWatchs) {
  EvaluationParams params = Params(1, 1, TreatMissingData::kMissing, 60);
  params.now = FromEpochMillis(1'795'791'842'745);  // 15:04:02.745
  std::vector<Datapoint> range = Range("- - X", 60);
  range.back().timestamp = FromEpochMillis(1'795'791'780'000);  // 15:03:00
  range.back().sample_count = 3;
  Evaluation result = Evaluate(params, range, AlarmState::kOk);
  EXPECT_EQ(ReasonDataJson(result, params),
            "{\"version\":\"1.0\",\"queryDate\":\"2026-11-27T15:04:02.745+0000\","
            "\"startDate\":\"2026-11-27T15:03:00.000+0000\",\"statistic\":\"Sum\",\"period\":60,"
            "\"recentDatapoints\":[3.0],\"threshold\":1.0,\"evaluatedDatapoints\":[{\"timestamp\":"
            "\"2026-11-27T15:03:00.000+0000\",\"sampleCount\":3.0,\"value\":3.0}]}");
}

TEST(EvaluatorTest, ReasonDataJsonWithoutNowUsesTheEndOfTheRangeAndListsFills) {
  EvaluationParams params = Params(2, 2, TreatMissingData::kBreaching, 60);
  Evaluation result = Evaluate(params, Range("- - - X", 60), AlarmState::kOk);
  EXPECT_EQ(result.state, AlarmState::kAlarm);
  EXPECT_EQ(result.query_date, kStart + seconds(240));
  std::string json = ReasonDataJson(result, params);
  EXPECT_NE(json.find("\"recentDatapoints\":[3.0]"), std::string::npos) << json;
  // The fill (15:02) has a timestamp and no value; newest first.
  EXPECT_NE(json.find("\"evaluatedDatapoints\":[{\"timestamp\":\"2026-11-27T15:03:00.000+0000\","
                      "\"sampleCount\":10.0,\"value\":3.0},{\"timestamp\":"
                      "\"2026-11-27T15:02:00.000+0000\"}]"),
            std::string::npos)
      << json;
}

TEST(EvaluatorTest, Formatting) {
  EXPECT_EQ(FormatValue(3), "3.0");
  EXPECT_EQ(FormatValue(0.5), "0.5");
  EXPECT_EQ(FormatValue(-2), "-2.0");
  EXPECT_EQ(FormatValue(0.0001), "0.0001");
  EXPECT_EQ(ReasonTimestamp(FromEpochMillis(1'795'791'840'000)), "27/11/26 15:04:00");
  EXPECT_EQ(IsoTimestamp(FromEpochMillis(1'795'791'840'007)), "2026-11-27T15:04:00.007+0000");
}

TEST(EvaluatorDeathTest, RangeShorterThanEvaluationPeriodsIsABug) {
  EXPECT_DEATH(Evaluate(Params(3, 3, TreatMissingData::kMissing), Range("X X"), AlarmState::kOk),
               "range_.size");
}

}  // namespace
}  // namespace cutover::alarms
