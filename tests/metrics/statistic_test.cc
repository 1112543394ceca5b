#include "metrics/statistic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace cutover::metrics {
namespace {

constexpr double kAlpha = Sketch::kRelativeAccuracy;
constexpr double kTolerance = kAlpha * (1 + 1e-9);

Aggregate AggregateOf(const std::vector<double>& values) {
  Aggregate a;
  for (double v : values) a.Add(v);
  return a;
}

std::vector<double> OneTo(int n) {
  std::vector<double> values;
  for (int i = 1; i <= n; ++i) values.push_back(i);
  return values;
}

Statistic Parse(std::string_view text) {
  Result<Statistic> s = ParseStatistic(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s.ok() ? *s : Statistic();
}

std::optional<double> ComputeText(std::string_view text, const Aggregate& a) {
  return Compute(Parse(text), a);
}

// Expects `text` over `a` to be within relative kTolerance of `expected` (exactly 0 when it is 0).
void ExpectNear(std::string_view text, const Aggregate& a, double expected) {
  const std::optional<double> got = ComputeText(text, a);
  ASSERT_TRUE(got.has_value()) << text;
  EXPECT_NEAR(*got, expected, std::fabs(expected) * kTolerance) << text;
}

void ExpectExact(std::string_view text, const Aggregate& a, double expected) {
  const std::optional<double> got = ComputeText(text, a);
  ASSERT_TRUE(got.has_value()) << text;
  EXPECT_DOUBLE_EQ(*got, expected) << text;
}

Statistic Range(StatisticKind kind, bool percent, std::optional<double> lower,
                std::optional<double> upper) {
  Statistic s;
  s.kind = kind;
  s.percent_bounds = percent;
  s.lower = lower;
  s.upper = upper;
  return s;
}

Statistic Simple(StatisticKind kind) {
  Statistic s;
  s.kind = kind;
  return s;
}

Statistic Percentile(double p) {
  Statistic s;
  s.kind = StatisticKind::kPercentile;
  s.percentile = p;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Parsing

TEST(ParseStatisticTest, AcceptsEveryCloudWatchForm) {
  using K = StatisticKind;
  constexpr std::nullopt_t kNone = std::nullopt;
  struct Case {
    std::string_view text;
    Statistic expected;
    std::string_view canonical;
  };
  const Case cases[] = {
      {"SampleCount", Simple(K::kSampleCount), "SampleCount"},
      {"Sum", Simple(K::kSum), "Sum"},
      {"Average", Simple(K::kAverage), "Average"},
      {"Minimum", Simple(K::kMinimum), "Minimum"},
      {"Maximum", Simple(K::kMaximum), "Maximum"},
      {"p99", Percentile(99), "p99"},
      {"p0", Percentile(0), "p0"},
      {"p0.0", Percentile(0), "p0"},
      {"p100", Percentile(100), "p100"},
      {"p99.9", Percentile(99.9), "p99.9"},
      {"p99.0", Percentile(99), "p99"},
      {"p50.0000000001", Percentile(50.0000000001), "p50.0000000001"},
      {"p09", Percentile(9), "p9"},
      {"tm90", Range(K::kTrimmedMean, true, 0, 90), "tm90"},
      {"tm100", Range(K::kTrimmedMean, true, 0, 100), "tm100"},
      {"tm0.5", Range(K::kTrimmedMean, true, 0, 0.5), "tm0.5"},
      {"wm98", Range(K::kWinsorizedMean, true, 0, 98), "wm98"},
      {"tc90", Range(K::kTrimmedCount, true, 0, 90), "tc90"},
      {"ts99.5", Range(K::kTrimmedSum, true, 0, 99.5), "ts99.5"},
      {"IQM", Range(K::kTrimmedMean, true, 25, 75), "IQM"},
      {"TM(25%:75%)", Range(K::kTrimmedMean, true, 25, 75), "IQM"},
      {"TM(2%:98%)", Range(K::kTrimmedMean, true, 2, 98), "TM(2%:98%)"},
      {"TM(:95%)", Range(K::kTrimmedMean, true, 0, 95), "tm95"},
      {"TM(0%:95%)", Range(K::kTrimmedMean, true, 0, 95), "tm95"},
      {"TM(10%:)", Range(K::kTrimmedMean, true, 10, 100), "TM(10%:)"},
      {"TM(10%:100%)", Range(K::kTrimmedMean, true, 10, 100), "TM(10%:)"},
      {"TM(150:1000)", Range(K::kTrimmedMean, false, 150, 1000), "TM(150:1000)"},
      {"TM(:0.5)", Range(K::kTrimmedMean, false, kNone, 0.5), "TM(:0.5)"},
      {"TM(0:0.5)", Range(K::kTrimmedMean, false, 0, 0.5), "TM(0:0.5)"},
      {"TM(80:)", Range(K::kTrimmedMean, false, 80, kNone), "TM(80:)"},
      {"WM(10%:90%)", Range(K::kWinsorizedMean, true, 10, 90), "WM(10%:90%)"},
      {"WM(:99%)", Range(K::kWinsorizedMean, true, 0, 99), "wm99"},
      {"WM(100:200)", Range(K::kWinsorizedMean, false, 100, 200), "WM(100:200)"},
      {"TC(0.005:0.030)", Range(K::kTrimmedCount, false, 0.005, 0.03), "TC(0.005:0.03)"},
      {"TC(80:500)", Range(K::kTrimmedCount, false, 80, 500), "TC(80:500)"},
      {"TC(5%:95%)", Range(K::kTrimmedCount, true, 5, 95), "TC(5%:95%)"},
      {"TS(80%:)", Range(K::kTrimmedSum, true, 80, 100), "TS(80%:)"},
      {"TS(:300)", Range(K::kTrimmedSum, false, kNone, 300), "TS(:300)"},
      {"PR(:300)", Range(K::kPercentileRank, false, kNone, 300), "PR(:300)"},
      {"PR(100:2000)", Range(K::kPercentileRank, false, 100, 2000), "PR(100:2000)"},
      {"PR(10:)", Range(K::kPercentileRank, false, 10, kNone), "PR(10:)"},
      {"PR(0.25:1.5)", Range(K::kPercentileRank, false, 0.25, 1.5), "PR(0.25:1.5)"},
  };
  for (const Case& c : cases) {
    Result<Statistic> parsed = ParseStatistic(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, c.expected) << c.text;
    EXPECT_EQ(ToString(*parsed), c.canonical) << c.text;
    // The canonical spelling parses back to the same statistic.
    Result<Statistic> again = ParseStatistic(ToString(*parsed));
    ASSERT_TRUE(again.ok()) << ToString(*parsed);
    EXPECT_EQ(*again, *parsed) << c.text;
  }
}

TEST(ParseStatisticTest, RejectsEverythingElseWithInvalidArgument) {
  const std::string_view rejected[] = {
      "",
      "sum",  // names are case-sensitive
      "average",
      "SAMPLECOUNT",
      "Avg",
      " p99",  // no spaces
      "p99 ",
      "p",
      "P99",  // percentile is lowercase p
      "p101",
      "p100.0000000001",
      "p-1",
      "p+5",
      "p99.",
      "p.5",
      "p99.12345678901",  // 11 decimals
      "p1e2",
      "p99%",
      "pNaN",
      "TM90",         // uppercase only with a range
      "tm(10%:90%)",  // lowercase only with one number
      "tm0",          // TM(0%:0%) keeps nothing
      "tm101",
      "tm",
      "tm-5",
      "tm90%",
      "iqm",
      "IQM(25%:75%)",
      "TM()",
      "TM(:)",
      "TM(10%)",  // a range needs ':'
      "TM(10%:20%:30%)",
      "TM(90%:10%)",  // lower < upper
      "TM(50%:50%)",
      "TM(10%:101%)",
      "TM(101%:)",
      "TM(10%:500)",  // mixed percent and absolute
      "TM(10:50%)",
      "TM(1000:150)",
      "TM(5:5)",
      "TM(-1:5)",
      "TM(a:b)",
      "TM(10%%:20%)",
      "TM(10 %:20%)",
      "TM(1.12345678901:2)",
      "TM(10%:90%",
      "TM10%:90%)",
      "Tm(10%:90%)",
      "XX(10%:90%)",
      "PR(10%:90%)",  // PR is absolute only
      "PR(:)",
      "PR(300)",
      "PR(300:100)",
      "pr300",
      "pr(:300)",
      "PR300",
      "wm",
      "ts(1:2)",
      "tc90.5.5",
  };
  for (std::string_view text : rejected) {
    Result<Statistic> parsed = ParseStatistic(text);
    ASSERT_FALSE(parsed.ok()) << "accepted \"" << text << "\" as " << ToString(*parsed);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
    // The message quotes the input and lists the accepted forms.
    EXPECT_NE(parsed.status().message().find("\"" + std::string(text) + "\""), std::string::npos)
        << parsed.status().message();
    EXPECT_NE(parsed.status().message().find("SampleCount, Sum, Average"), std::string::npos)
        << parsed.status().message();
  }
}

TEST(ParseStatisticTest, ErrorNamesTheProblem) {
  EXPECT_NE(ParseStatistic("tm(10%:90%)").status().message().find("lowercase form takes a single"),
            std::string::npos);
  EXPECT_NE(ParseStatistic("TM90").status().message().find("uppercase form takes a range"),
            std::string::npos);
  EXPECT_NE(ParseStatistic("TM(90%:10%)").status().message().find("lower bound must be below"),
            std::string::npos);
  EXPECT_NE(ParseStatistic("TM(10%:500)").status().message().find("both bounds"),
            std::string::npos);
  EXPECT_NE(ParseStatistic("PR(1%:5%)").status().message().find("absolute values"),
            std::string::npos);
  EXPECT_NE(ParseStatistic("p101").status().message().find("between 0 and 100"), std::string::npos);
}

TEST(ParseStatisticTest, OnlyPercentilesArePercentileLike) {
  EXPECT_TRUE(IsPercentileLike(Parse("p99")));
  EXPECT_EQ(Parse("p99.9").percentile, 99.9);
  EXPECT_TRUE(IsPercentileLike(Parse("p0")));
  for (std::string_view text : {"tm99", "IQM", "PR(:300)", "Average", "Maximum", "SampleCount"}) {
    EXPECT_FALSE(IsPercentileLike(Parse(text))) << text;
  }
  EXPECT_FALSE(NeedsDistribution(Parse("Average")));
  EXPECT_TRUE(NeedsDistribution(Parse("p50")));
  EXPECT_TRUE(NeedsDistribution(Parse("PR(:1)")));
}

// ---------------------------------------------------------------------------------------------
// Aggregate

TEST(AggregateTest, TracksCountSumMinMaxAndDropsNonFinite) {
  Aggregate a;
  EXPECT_EQ(a.count, 0u);
  a.Add(5);
  a.Add(-2);
  a.Add(std::numeric_limits<double>::quiet_NaN());
  a.Add(std::numeric_limits<double>::infinity());
  a.Add(10);
  EXPECT_EQ(a.count, 3u);
  EXPECT_EQ(a.sum, 13);
  EXPECT_EQ(a.min, -2);
  EXPECT_EQ(a.max, 10);
  EXPECT_EQ(a.sketch.count(), 2u);
  EXPECT_EQ(a.sketch.negative_count(), 1u);
}

TEST(AggregateTest, AddWithACountEqualsAddingEachCopy) {
  Aggregate a;
  a.Add(2.5, 4);
  a.Add(-1, 0);
  a.Add(7);
  const Aggregate b = AggregateOf({2.5, 2.5, 2.5, 2.5, 7});
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.sum, b.sum);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.sketch, b.sketch);
}

TEST(AggregateTest, MergeEqualsAddingAll) {
  const Aggregate left = AggregateOf({3, 0, 7});
  const Aggregate right = AggregateOf({-1, 20});
  Aggregate merged = left;
  merged.Merge(right);
  const Aggregate direct = AggregateOf({3, 0, 7, -1, 20});
  EXPECT_EQ(merged.count, direct.count);
  EXPECT_EQ(merged.sum, direct.sum);
  EXPECT_EQ(merged.min, direct.min);
  EXPECT_EQ(merged.max, direct.max);
  EXPECT_EQ(merged.sketch, direct.sketch);

  Aggregate empty;
  empty.Merge(right);
  EXPECT_EQ(empty.min, -1);
  EXPECT_EQ(empty.max, 20);
  merged.Merge(Aggregate());
  EXPECT_EQ(merged.count, 5u);

  merged.Clear();
  EXPECT_EQ(merged.count, 0u);
  EXPECT_EQ(merged.sketch.count(), 0u);
  EXPECT_FALSE(Compute(Parse("Sum"), merged).has_value());
}

// ---------------------------------------------------------------------------------------------
// Compute on small exact datasets

TEST(ComputeTest, NoDataHasNoValue) {
  const Aggregate empty;
  for (std::string_view text : {"SampleCount", "Sum", "Average", "Minimum", "Maximum", "p99",
                                "tm90", "IQM", "WM(10%:90%)", "TC(1:2)", "TS(:5)", "PR(:300)"}) {
    EXPECT_FALSE(ComputeText(text, empty).has_value()) << text;
  }
}

TEST(ComputeTest, ExactStatisticsOfOneToHundred) {
  const Aggregate a = AggregateOf(OneTo(100));
  ExpectExact("SampleCount", a, 100);
  ExpectExact("Sum", a, 5050);
  ExpectExact("Average", a, 50.5);
  ExpectExact("Minimum", a, 1);
  ExpectExact("Maximum", a, 100);
}

TEST(ComputeTest, PercentilesOfOneToHundredAreNearestRank) {
  const Aggregate a = AggregateOf(OneTo(100));
  ExpectExact("p0", a, 1);      // clamped to Minimum
  ExpectExact("p100", a, 100);  // clamped to Maximum
  ExpectNear("p1", a, 1);
  ExpectNear("p7", a, 7);
  ExpectNear("p50", a, 50);
  ExpectNear("p90", a, 90);
  ExpectNear("p95", a, 95);
  ExpectNear("p99", a, 99);
  ExpectNear("p99.5", a, 100);  // rank ceil(99.5) = 100
  ExpectNear("p50.5", a, 51);
}

TEST(ComputeTest, PercentBoundedStatisticsOfOneToHundred) {
  const Aggregate a = AggregateOf(OneTo(100));
  // tm90 keeps 1..90.
  ExpectNear("tm90", a, 45.5);
  ExpectExact("tc90", a, 90);
  ExpectNear("ts90", a, 4095);
  // IQM keeps 26..75.
  ExpectNear("IQM", a, 50.5);
  ExpectExact("TC(25%:75%)", a, 50);
  ExpectNear("TS(25%:75%)", a, 2525);
  // TM(10%:90%) keeps 11..90.
  ExpectNear("TM(10%:90%)", a, 50.5);
  ExpectExact("TC(10%:90%)", a, 80);
  // TS(80%:) keeps 81..100.
  ExpectNear("TS(80%:)", a, 1810);
  ExpectNear("TM(80%:)", a, 90.5);
  // WM(10%:90%): 1..10 count as 11, 91..100 as 90.
  ExpectNear("WM(10%:90%)", a, (10 * 11 + 4040 + 10 * 90) / 100.0);
  // wm98: 99 and 100 count as 98.
  ExpectNear("wm98", a, (4851 + 2 * 98) / 100.0);
  // tm100 and TM(0%:100%) are the mean.
  ExpectNear("tm100", a, 50.5);
  ExpectExact("tc100", a, 100);
}

TEST(ComputeTest, AbsoluteBoundedStatisticsOfOneToHundred) {
  const Aggregate a = AggregateOf(OneTo(100));
  // Bounds half-way between the values are exact despite the sketch.
  ExpectNear("TM(10.5:20.5)", a, 15.5);
  ExpectExact("TC(10.5:20.5)", a, 10);
  ExpectNear("TS(10.5:20.5)", a, 155);
  ExpectNear("TS(:10.5)", a, 55);
  ExpectExact("TC(90.5:)", a, 10);
  ExpectExact("PR(:50.5)", a, 50);
  ExpectExact("PR(10.5:)", a, 90);
  ExpectExact("PR(10.5:20.5)", a, 10);
  ExpectExact("PR(:1000)", a, 100);
  // 1..10 count as 10.5, 91..100 as 90.5.
  ExpectNear("WM(10.5:90.5)", a, (10 * 10.5 + 4040 + 10 * 90.5) / 100.0);
  // Nothing inside: no trimmed mean, zero count/sum/rank.
  EXPECT_FALSE(ComputeText("TM(200:300)", a).has_value());
  ExpectExact("TC(200:300)", a, 0);
  ExpectExact("TS(200:300)", a, 0);
  ExpectExact("PR(200:)", a, 0);
  // A bound on a value itself may misclassify only values within alpha of it (here: 10 and 20).
  const double tc = *ComputeText("TC(10:20)", a);
  EXPECT_GE(tc, 9);
  EXPECT_LE(tc, 11);
}

TEST(ComputeTest, AbsoluteBoundsExcludeLowerAndIncludeUpper) {
  // Zero is exact, and values equal to Minimum/Maximum are exact (clamped), so the bound rules
  // show.
  const Aggregate a = AggregateOf({0, 0, 5, 5});
  ExpectExact("PR(:0)", a, 50);
  ExpectExact("PR(0:)", a, 50);
  ExpectExact("PR(0:5)", a, 50);
  ExpectExact("PR(:5)", a, 100);
  ExpectExact("PR(5:)", a, 0);
  ExpectExact("TC(0:5)", a, 2);
  ExpectExact("TC(:0)", a, 2);
  ExpectExact("TM(:0)", a, 0);
  ExpectNear("TM(0:5)", a, 5);
  ExpectNear("TS(0:5)", a, 10);
  // Winsorized with absolute bounds clamps: 0 -> 1, 5 -> 4.
  ExpectExact("WM(1:4)", a, 2.5);
}

TEST(ComputeTest, RepeatedValues) {
  const Aggregate a = AggregateOf(std::vector<double>(10, 7.0));
  // Every value equals Minimum and Maximum, so all are exact.
  ExpectExact("p50", a, 7);
  ExpectExact("p99.9", a, 7);
  ExpectExact("tm90", a, 7);
  ExpectExact("IQM", a, 7);
  ExpectExact("WM(10%:90%)", a, 7);
  ExpectExact("TC(10%:90%)", a, 8);
  ExpectExact("TS(10%:90%)", a, 56);
  ExpectExact("PR(:7)", a, 100);
  ExpectExact("PR(7:)", a, 0);

  // 1 x1, 2 x3, 3 x6: p10 = 1, p11..p40 = 2, p41.. = 3.
  const Aggregate b = AggregateOf({3, 2, 3, 1, 3, 2, 3, 3, 2, 3});
  ExpectExact("p10", b, 1);
  ExpectNear("p11", b, 2);
  ExpectNear("p40", b, 2);
  ExpectNear("p41", b, 3);
  // IQM keeps positions 2.5..7.5: half a 2, one 2, then 3.5 threes... = (1.5*2 + 3.5*3) / 5.
  ExpectNear("IQM", b, (1.5 * 2 + 3.5 * 3) / 5);
  ExpectExact("TC(25%:75%)", b, 5);
}

TEST(ComputeTest, WithZeros) {
  std::vector<double> values(50, 0.0);
  for (int i = 1; i <= 50; ++i) values.push_back(i);
  const Aggregate a = AggregateOf(values);
  ExpectExact("p50", a, 0);
  ExpectNear("p51", a, 1);
  ExpectNear("p100", a, 50);
  ExpectExact("tm50", a, 0);
  ExpectNear("TS(50%:)", a, 1275);
  ExpectNear("TM(50%:)", a, 25.5);
  ExpectExact("PR(:0)", a, 50);
  ExpectExact("PR(0:)", a, 50);
  ExpectNear("Average", a, 12.75);
}

TEST(ComputeTest, TrimmedCountIsFractionalWhenTheBoundSplitsAValue) {
  // 15 values, tc90 keeps 13.5 of them: 1..13 and half of 14.
  const Aggregate a = AggregateOf(OneTo(15));
  ExpectExact("tc90", a, 13.5);
  ExpectNear("ts90", a, 91 + 7);
  ExpectNear("tm90", a, 98 / 13.5);
  // TS = TM * TC.
  EXPECT_NEAR(*ComputeText("ts90", a), *ComputeText("tm90", a) * *ComputeText("tc90", a), 1e-9);
}

TEST(ComputeTest, SingleValue) {
  const Aggregate a = AggregateOf({42.5});
  for (std::string_view text : {"p0", "p50", "p99.99", "tm90", "IQM", "wm99", "TM(1%:2%)",
                                "Average", "Minimum", "Maximum", "Sum"}) {
    ExpectExact(text, a, 42.5);
  }
  ExpectExact("tc90", a, 0.9);
  ExpectExact("PR(42:43)", a, 100);
}

TEST(ComputeTest, AnyNegativeValueHidesDistributionStatistics) {
  const Aggregate a = AggregateOf({-1, 5, 10});
  ExpectExact("SampleCount", a, 3);
  ExpectExact("Sum", a, 14);
  ExpectExact("Minimum", a, -1);
  ExpectExact("Maximum", a, 10);
  for (std::string_view text :
       {"p50", "p0", "tm90", "IQM", "WM(10%:90%)", "TC(1:2)", "TS(:5)", "PR(:300)", "tc90"}) {
    EXPECT_FALSE(ComputeText(text, a).has_value()) << text;
  }
}

// The percent-bounded statistics as defined in statistic.h, computed exactly on sorted values.
struct Exact {
  double tm, wm, tc, ts;
};
Exact ExactPercentRange(const std::vector<double>& sorted, double lower_pct, double upper_pct) {
  const double n = sorted.size();
  const double lower = std::round(lower_pct / 100 * n * 1e6) / 1e6;
  const double upper = std::round(upper_pct / 100 * n * 1e6) / 1e6;
  double ts = 0;
  std::optional<double> first, last;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const double w = std::min<double>(i + 1, upper) - std::max<double>(i, lower);
    if (w <= 0) continue;
    ts += w * sorted[i];
    if (!first) first = sorted[i];
    last = sorted[i];
  }
  const double tc = upper - lower;
  return {ts / tc, (lower * *first + ts + (n - upper) * *last) / n, tc, ts};
}

TEST(ComputeTest, PercentBoundedStatisticsMatchTheExactDefinitionOnRandomData) {
  std::mt19937_64 rng(23);
  std::lognormal_distribution<double> latency(4.0, 1.5);
  std::uniform_int_distribution<int> size(1, 3000);
  const std::pair<double, double> bounds[] = {{0, 90},   {25, 75}, {10, 99},     {1, 2},
                                              {80, 100}, {0, 100}, {33.3, 66.7}, {0, 0.1}};
  for (int round = 0; round < 50; ++round) {
    std::vector<double> values(size(rng));
    for (double& v : values) v = std::round(latency(rng) * 10) / 10;  // with ties
    const Aggregate a = AggregateOf(values);
    std::sort(values.begin(), values.end());
    for (const auto& bound : bounds) {
      // Named, not a structured binding: clang before 16 cannot capture those (the ASan tree).
      const auto lo = bound.first, hi = bound.second;
      const Exact exact = ExactPercentRange(values, lo, hi);
      const auto stat = [&](StatisticKind kind) { return *Compute(Range(kind, true, lo, hi), a); };
      EXPECT_NEAR(stat(StatisticKind::kTrimmedMean), exact.tm, exact.tm * kTolerance);
      EXPECT_NEAR(stat(StatisticKind::kWinsorizedMean), exact.wm, exact.wm * kTolerance);
      EXPECT_NEAR(stat(StatisticKind::kTrimmedCount), exact.tc, 1e-9 * exact.tc);
      EXPECT_NEAR(stat(StatisticKind::kTrimmedSum), exact.ts, exact.ts * kTolerance);
    }
    for (double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
      const double exact = values[QuantileRank(p / 100, values.size()) - 1];
      EXPECT_NEAR(*Compute(Percentile(p), a), exact, exact * kTolerance) << p;
    }
  }
}

}  // namespace
}  // namespace cutover::metrics
