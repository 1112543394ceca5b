// The seam between alarms and their metrics: the PromQL an alarm becomes, reading Prometheus's
// answers, and the engine's behaviour when its source cannot answer.

#include "alarms/metric_source.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "alarms/engine.h"
#include "alarms/promql.h"
#include "common/clock.h"
#include "metrics/series_store.h"
#include "store/state_store.h"

namespace cutover::alarms {
namespace {

metrics::MetricKey ErrorsKey() {
  return metrics::MakeKey("AWS/Lambda", "Errors",
                          {{"Resource", "fn:Live"}, {"FunctionName", "fn"}});
}

metrics::Statistic Stat(const std::string& text) { return *metrics::ParseStatistic(text); }

TEST(PromQlTest, SelectsExactlyTheAlarmsDimensionSet) {
  EXPECT_EQ(PromQlSelector("cutover_cloudwatch_sum", ErrorsKey()),
            R"(cutover_cloudwatch_sum{namespace="AWS/Lambda",metric="Errors",)"
            R"(dimensions="FunctionName,Resource",dim_FunctionName="fn",dim_Resource="fn:Live"})");
  // Quotes and backslashes in values cannot end the string early.
  EXPECT_NE(PromQlSelector("f", metrics::MakeKey("App", "m", {{"k", "a\"b\\"}}))
                .find(R"(dim_k="a\"b\\")"),
            std::string::npos);
}

TEST(PromQlTest, EachStatisticBecomesAPeriodQueryWithItsSampleCount) {
  const std::string sum = PromQlForPeriod(ErrorsKey(), Stat("Sum"), 60);
  // Per node: the value now minus the value a period ago (or all of it for a new series).
  EXPECT_NE(sum.find("sum((cutover_cloudwatch_sum{"), std::string::npos) << sum;
  EXPECT_NE(sum.find("cutover_cloudwatch_sum{"), std::string::npos) << sum;
  EXPECT_NE(sum.find("offset 60s * 1 unless"), std::string::npos) << sum;
  EXPECT_NE(sum.find(") or cutover_cloudwatch_sum{"), std::string::npos) << sum;
  EXPECT_NE(sum.find(R"("part", "value")"), std::string::npos);
  EXPECT_NE(sum.find(R"("part", "samples")"), std::string::npos);
  EXPECT_NE(sum.find("cutover_cloudwatch_samples_total{"), std::string::npos);

  const std::string avg = PromQlForPeriod(ErrorsKey(), Stat("Average"), 10);
  EXPECT_NE(avg.find(" / sum((cutover_cloudwatch_samples_total{"), std::string::npos) << avg;
  EXPECT_NE(PromQlForPeriod(ErrorsKey(), Stat("Maximum"), 60)
                .find("max(max_over_time(cutover_cloudwatch_maximum{"),
            std::string::npos);
  EXPECT_NE(PromQlForPeriod(ErrorsKey(), Stat("Minimum"), 60)
                .find("min(min_over_time(cutover_cloudwatch_minimum{"),
            std::string::npos);
  const metrics::MetricKey duration =
      metrics::MakeKey("AWS/Lambda", "Duration", {{"FunctionName", "fn"}});
  const std::string p99 = PromQlForPeriod(duration, Stat("p99"), 60);
  EXPECT_NE(p99.find("histogram_quantile(0.99, sum by (le) (cutover_cloudwatch_latency_bucket{"),
            std::string::npos)
      << p99;
}

TEST(PromQlTest, StatisticsPrometheusCannotAnswerAreRefusedWithTheReason) {
  EXPECT_TRUE(PromQlSupported(ErrorsKey(), Stat("Sum")).ok());
  EXPECT_TRUE(PromQlSupported(ErrorsKey(), Stat("SampleCount")).ok());
  EXPECT_TRUE(PromQlSupported(ErrorsKey(), Stat("Maximum")).ok());
  const metrics::MetricKey latency =
      metrics::MakeKey("AWS/ApiGateway", "Latency", {{"ApiName", "dev-svc"}, {"Stage", "dev"}});
  EXPECT_TRUE(PromQlSupported(latency, Stat("p99.9")).ok());
  Status p99_errors = PromQlSupported(ErrorsKey(), Stat("p99"));
  EXPECT_EQ(p99_errors.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p99_errors.message().find("histograms"), std::string::npos) << p99_errors.message();
  for (const char* text : {"tm90", "IQM", "WM(10%:90%)", "TC(:5)", "TS(1:)", "PR(:100)"}) {
    Status st = PromQlSupported(latency, Stat(text));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(st.message().find(metrics::ToString(Stat(text))), std::string::npos) << st.message();
  }
}

TEST(PromQlTest, ReadsEachPeriodsValueAndSamplesFromTheRangeAnswer) {
  // Periods of 60 s ending at 1800000060, ...120, ...180; the middle one has no samples, the last
  // a NaN quantile.
  auto got = ParsePeriodValues(R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{"part":"value"},"values":[[1800000060,"7"],[1800000120,"0"],[1800000180,"NaN"]]},
      {"metric":{"part":"samples"},"values":[[1800000060,"12.000000001"],[1800000120,"0"],
                                             [1800000180,"3"]]}]}})",
                               1'800'000'060, 60, 3);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].value, 7.0);
  EXPECT_EQ((*got)[0].samples, 12u);
  EXPECT_FALSE((*got)[1].value.has_value());  // no samples: missing, whatever the value says
  EXPECT_FALSE((*got)[2].value.has_value());  // NaN: missing, the samples still counted
  EXPECT_EQ((*got)[2].samples, 3u);
  // Nothing at all (no node has the series): every period missing.
  got = ParsePeriodValues(R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
                          1'800'000'060, 60, 3);
  ASSERT_TRUE(got.ok());
  for (const PeriodValue& p : *got) EXPECT_FALSE(p.value.has_value());
  // A point at a time that is no period's end is ignored, not shifted into a neighbour.
  got = ParsePeriodValues(R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{"part":"value"},"values":[[1800000090,"5"]]},
      {"metric":{"part":"samples"},"values":[[1800000090,"5"]]}]}})",
                          1'800'000'060, 60, 3);
  ASSERT_TRUE(got.ok());
  for (const PeriodValue& p : *got) EXPECT_FALSE(p.value.has_value());
  // Prometheus refusing this query is the query's fault; anything else is Prometheus's.
  got = ParsePeriodValues(R"({"status":"error","errorType":"bad_data","error":"parse error"})",
                          1'800'000'060, 60, 3);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("parse error"), std::string::npos);
  got = ParsePeriodValues(R"({"status":"error","errorType":"unavailable","error":"shutting down"})",
                          1'800'000'060, 60, 3);
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(ParsePeriodValues("<html>", 1'800'000'060, 60, 3).status().code(),
            StatusCode::kUnavailable);
}

TEST(PromQlTest, ACounterThatWentDownCountsFromZero) {
  // A node restarted within the period: its samples count went down, so its whole new value is
  // the period's, instead of a negative delta cancelling the other nodes.
  const std::string q = PromQlForPeriod(ErrorsKey(), Stat("Sum"), 60);
  EXPECT_NE(q.find("unless on(instance, job) (cutover_cloudwatch_samples_total{"),
            std::string::npos)
      << q;
  EXPECT_NE(q.find("< cutover_cloudwatch_samples_total{"), std::string::npos) << q;
}

TEST(PrometheusUrlTest, AcceptsOnlyPrometheusHostPort) {
  auto ok = ParsePrometheusUrl("prometheus://127.0.0.1:9090");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->host, "127.0.0.1");
  EXPECT_EQ(ok->port, 9090);
  EXPECT_FALSE(ParsePrometheusUrl("http://127.0.0.1:9090").ok());
  EXPECT_FALSE(ParsePrometheusUrl("prometheus://127.0.0.1:9090/api").ok());
  EXPECT_FALSE(ParsePrometheusUrl("prometheus://").ok());
}

// A source that answers from a script: a queue of results, then the last one forever.
class ScriptedSource final : public MetricSource {
 public:
  Status Supports(const metrics::MetricKey&, const metrics::Statistic& s) const override {
    return s.kind == metrics::StatisticKind::kTrimmedMean ? InvalidArgument("no trimmed means")
                                                          : Status::Ok();
  }
  Result<std::vector<PeriodValue>> ReadPeriods(const metrics::MetricKey&, const metrics::Statistic&,
                                               int64_t, int64_t, int count) override {
    ++reads;
    if (!answer.ok()) return answer.status();
    return std::vector<PeriodValue>(static_cast<size_t>(count), *answer);
  }
  std::string Describe() const override { return "scripted"; }

  Result<PeriodValue> answer = PeriodValue{};
  int reads = 0;
};

AlarmSpec ErrorsAlarm() {
  AlarmSpec spec;
  spec.logical_id = "ErrorsAlarm";
  spec.alarm_name = "errors";
  spec.metric = ErrorsKey();
  spec.statistic_text = "Sum";
  spec.statistic = Stat("Sum");
  spec.period_seconds = 60;
  spec.evaluation_periods = 1;
  spec.datapoints_to_alarm = 1;
  spec.threshold = 1;
  spec.comparison = Comparison::kGreaterThanOrEqualToThreshold;
  spec.treat_missing_data = TreatMissingData::kNotBreaching;
  spec.where = {"serverless.yml", 40, 5};
  return spec;
}

TEST(AlarmEngineSourceTest, ReadsItsSourceAndKeepsTheStateWhileTheSourceCannotAnswer) {
  const int64_t t0 = 1'700'000'040'000;  // a whole minute
  FakeClock clock{FromEpochMillis(t0)};
  std::unique_ptr<store::StateStore> state = store::CreateMemoryStore();
  ScriptedSource source;
  AlarmEngine engine(source, *state, clock);
  engine.SetServiceAlarms("svc", "dev", {ErrorsAlarm()});

  // A quiet fleet: no samples, notBreaching -> OK.
  clock.Set(FromEpochMillis(t0 + 60'000));
  engine.Tick();
  EXPECT_GT(source.reads, 0);
  ASSERT_EQ(engine.Find("errors")->state, AlarmState::kOk);

  // Prometheus down: not read as missing (which notBreaching would call OK): state kept, nothing
  // stored, and the next interval tries again.
  source.answer = Unavailable("connection refused");
  clock.Set(FromEpochMillis(t0 + 120'000));
  engine.Tick();
  EXPECT_EQ(engine.Find("errors")->state, AlarmState::kOk);
  EXPECT_EQ(engine.Find("errors")->evaluated_ms, t0 + 60'000);
  EXPECT_EQ(engine.History("errors", 10)->size(), 1u);

  // Back, with errors from the whole fleet: ALARM at the next evaluation.
  source.answer = PeriodValue{3.0, 40};
  clock.Set(FromEpochMillis(t0 + 180'000));
  engine.Tick();
  ASSERT_EQ(engine.Find("errors")->state, AlarmState::kAlarm);
  EXPECT_EQ(engine.Find("errors")->last_range.back().value, 3.0);
  EXPECT_EQ(engine.Find("errors")->last_range.back().sample_count, 40.0);
  EXPECT_EQ(engine.History("errors", 10)->size(), 2u);
}

TEST(AlarmEngineSourceTest, ASourceThatFailsIsAskedOncePerRoundAndThenBacksOff) {
  const int64_t t0 = 1'700'000'040'000;
  FakeClock clock{FromEpochMillis(t0)};
  std::unique_ptr<store::StateStore> state = store::CreateMemoryStore();
  ScriptedSource source;
  AlarmEngine engine(source, *state, clock);
  std::vector<AlarmSpec> specs;
  for (const char* name : {"a", "b", "c"}) {
    specs.push_back(ErrorsAlarm());
    specs.back().alarm_name = name;
    specs.back().period_seconds = 1;  // evaluated every second
  }
  engine.SetServiceAlarms("svc", "dev", specs);
  source.answer = DeadlineExceeded("Prometheus did not answer within 2 s");
  // Each read may cost the control loop a whole timeout: one per round, then none until the
  // backoff (1 s, 2 s, 4 s...) has passed, though the alarms are due every second.
  const std::vector<std::pair<int64_t, int>> reads_after = {{60, 1}, {61, 2}, {62, 2}, {63, 3},
                                                            {64, 3}, {65, 3}, {66, 3}, {67, 4}};
  for (const auto& [second, reads] : reads_after) {
    clock.Set(FromEpochMillis(t0 + second * 1000));
    engine.Tick();
    EXPECT_EQ(source.reads, reads) << "at +" << second << " s";
  }
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_EQ(engine.Find(name)->state, AlarmState::kInsufficientData) << name;
    EXPECT_EQ(engine.Find(name)->evaluated_ms, 0) << name;
  }
  // Back after the 8 s backoff: every alarm is evaluated again, and the backoff starts over.
  source.answer = PeriodValue{};
  clock.Set(FromEpochMillis(t0 + 75'000));
  engine.Tick();
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_EQ(engine.Find(name)->state, AlarmState::kOk) << name;
  }
  source.answer = Unavailable("connection refused");
  const int before = source.reads;
  clock.Set(FromEpochMillis(t0 + 76'000));
  engine.Tick();
  clock.Set(FromEpochMillis(t0 + 77'000));
  engine.Tick();
  EXPECT_EQ(source.reads, before + 2);  // a 1 s backoff again, not 16 s
}

// A source that refuses one alarm's query and answers the others'.
class PickySource final : public MetricSource {
 public:
  Status Supports(const metrics::MetricKey&, const metrics::Statistic&) const override {
    return Status::Ok();
  }
  Result<std::vector<PeriodValue>> ReadPeriods(const metrics::MetricKey& key,
                                               const metrics::Statistic&, int64_t, int64_t,
                                               int count) override {
    ++reads;
    if (key.name == "Refused") return InvalidArgument("Prometheus refused the query: bad_data");
    return std::vector<PeriodValue>(static_cast<size_t>(count), PeriodValue{5.0, 5});
  }
  std::string Describe() const override { return "picky"; }
  int reads = 0;
};

TEST(AlarmEngineSourceTest, ARefusedQuerySkipsThatAlarmOnlyAndStartsNoBackoff) {
  const int64_t t0 = 1'700'000'040'000;
  FakeClock clock{FromEpochMillis(t0)};
  std::unique_ptr<store::StateStore> state = store::CreateMemoryStore();
  PickySource source;
  AlarmEngine engine(source, *state, clock);
  AlarmSpec refused = ErrorsAlarm();
  refused.alarm_name = "a-refused";  // sorted first: evaluated before the other
  refused.metric = metrics::MakeKey("AWS/Lambda", "Refused", {{"FunctionName", "fn"}});
  AlarmSpec fine = ErrorsAlarm();
  fine.alarm_name = "b-fine";
  engine.SetServiceAlarms("svc", "dev", {refused, fine});
  for (int minute = 1; minute <= 2; ++minute) {
    clock.Set(FromEpochMillis(t0 + minute * 60'000));
    engine.Tick();
    EXPECT_EQ(source.reads, 2 * minute);
  }
  EXPECT_EQ(engine.Find("a-refused")->state, AlarmState::kInsufficientData);
  EXPECT_EQ(engine.Find("b-fine")->state, AlarmState::kAlarm);
}

TEST(AlarmEngineSourceTest, AnAlarmItsSourceCannotAnswerIsAnErrorNamingWhereItIsDefined) {
  FakeClock clock{FromEpochMillis(1'700'000'040'000)};
  std::unique_ptr<store::StateStore> state = store::CreateMemoryStore();
  ScriptedSource source;
  AlarmEngine engine(source, *state, clock);
  AlarmSpec spec = ErrorsAlarm();
  EXPECT_TRUE(engine.CheckSource(spec).ok());
  spec.statistic = Stat("tm90");
  Status st = engine.CheckSource(spec);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("serverless.yml:40:5: alarm errors: no trimmed means"),
            std::string::npos)
      << st.message();
  // The local source answers everything.
  metrics::MetricsStore local;
  AlarmEngine single(local, *state, clock);
  EXPECT_TRUE(single.CheckSource(spec).ok());
}

}  // namespace
}  // namespace cutover::alarms
