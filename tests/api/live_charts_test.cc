// The deployment charts the daemon pushes over the event stream (api/live_charts.h): the window
// and period rule the page shares, and posts that together cover every period exactly once
// however often they are made.
#include "api/live_charts.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "alarms/engine.h"
#include "common/clock.h"
#include "store/state_store.h"

namespace cutover::api {
namespace {

namespace json = boost::json;

constexpr int64_t kCreatedMs = 1'800'000'000'000;  // a whole minute
constexpr char kFunction[] = "svc-dev-api";

deploy::Deployment Running() {
  deploy::Deployment d;
  d.id = "d-ABCDEFGHI";
  d.function_name = kFunction;
  d.alias = "Live";
  d.status = "InProgress";
  d.created_ms = kCreatedMs;
  d.current_version = 1;
  d.target_version = 2;
  return d;
}

metrics::MetricKey PerVersion(const std::string& name, uint32_t version) {
  return metrics::MakeKey("Cutover", name,
                          {{"FunctionName", kFunction},
                           {"Resource", std::string(kFunction) + ":Live"},
                           {"ExecutedVersion", std::to_string(version)}});
}

// The answer with `id` in a post's "metrics".
const json::object* Answer(const json::value& post, std::string_view id) {
  for (const auto& a : post.at("metrics").as_array()) {
    if (a.at("id").as_string() == id) return &a.as_object();
  }
  return nullptr;
}

// {timestamp: value} of an answer's datapoints that have a value.
std::map<int64_t, double> Values(const json::object& answer) {
  std::map<int64_t, double> out;
  for (const auto& p : answer.at("datapoints").as_array()) {
    if (!p.at("value").is_null()) out[p.at("timestamp").to_number<int64_t>()] = p.at("value").to_number<double>();
  }
  return out;
}

TEST(ChartPeriodTest, AboutTwoHundredPointsThenWholeMinutesPastFourteenMinutes) {
  // web/api.js periodFor() is the same rule: the page's first read and the pushes agree.
  EXPECT_EQ(ChartPeriodSeconds(0), 1);
  EXPECT_EQ(ChartPeriodSeconds(200'000), 1);
  EXPECT_EQ(ChartPeriodSeconds(200'001), 2);
  EXPECT_EQ(ChartPeriodSeconds(840'000), 5);   // 14 minutes
  EXPECT_EQ(ChartPeriodSeconds(840'001), 60);  // percentiles need whole minutes from here
  EXPECT_EQ(ChartPeriodSeconds(3 * 3600'000), 60);
  EXPECT_EQ(ChartPeriodSeconds(11 * 3600'000), 240);
}

TEST(ChartWindowTest, AMinuteBeforeTheDeploymentAndAMinuteAfterItsEnd) {
  deploy::Deployment d = Running();
  ChartWindow w = DeploymentChartWindow(d, kCreatedMs + 100'000);
  EXPECT_EQ(w.start_ms, kCreatedMs - 60'000);
  EXPECT_EQ(w.end_ms, kCreatedMs + 100'000);
  EXPECT_FALSE(w.closed);
  EXPECT_EQ(w.period_s, 1);

  d.status = "Succeeded";
  d.completed_ms = kCreatedMs + 400'000;
  w = DeploymentChartWindow(d, kCreatedMs + 430'000);
  EXPECT_EQ(w.end_ms, kCreatedMs + 430'000);
  EXPECT_FALSE(w.closed);
  w = DeploymentChartWindow(d, kCreatedMs + 900'000);
  EXPECT_EQ(w.end_ms, kCreatedMs + 460'000);
  EXPECT_TRUE(w.closed);
  EXPECT_EQ(w.period_s, 3);  // 520 s / 200
}

TEST(ChartQueriesTest, FourMetricsForEachVersionOfTheAlias) {
  deploy::Deployment d = Running();
  const ChartWindow w = DeploymentChartWindow(d, kCreatedMs + 10'000);
  auto queries = DeploymentChartQueries(d, w, kCreatedMs);
  ASSERT_EQ(queries.size(), 8u);
  EXPECT_EQ(queries[0].id, "Requests:Sum:1");
  EXPECT_EQ(queries[1].id, "Requests:Sum:2");
  EXPECT_EQ(queries[3].id, "5XXError:Average:2");
  EXPECT_EQ(queries[7].id, "Latency:p99:2");
  EXPECT_EQ(queries[7].key, PerVersion("Latency", 2));
  EXPECT_EQ(queries[0].start_ms, kCreatedMs);
  EXPECT_EQ(queries[0].end_ms, kCreatedMs + 10'000);
  // Never before the window's start.
  EXPECT_EQ(DeploymentChartQueries(d, w, 0)[0].start_ms, kCreatedMs - 60'000);
}

class LiveChartsTest : public ::testing::Test {
 protected:
  json::value Post(const deploy::Deployment& d, int64_t now_ms) {
    auto post = charts_.Next(d, now_ms);
    EXPECT_TRUE(post.has_value());
    return post ? json::parse(*post) : json::value();
  }

  metrics::MetricsStore metrics_;
  LiveCharts charts_{metrics_, nullptr, nullptr};
};

TEST_F(LiveChartsTest, TheFirstPostCoversTheWindowEachLaterOneFromThePreviousPostsPeriod) {
  deploy::Deployment d = Running();
  // Requests on both versions: 3 on v1 and 1 on v2 in second +5, 2 on v2 in second +12.
  metrics_.Add(PerVersion("Requests", 1), kCreatedMs + 5'100, 3);
  metrics_.Add(PerVersion("Requests", 2), kCreatedMs + 5'200, 1);
  metrics_.Add(PerVersion("Requests", 2), kCreatedMs + 12'300, 2);

  json::value first = Post(d, kCreatedMs + 10'500);
  EXPECT_EQ(first.at("deploymentId").as_string(), "d-ABCDEFGHI");
  EXPECT_EQ(first.at("period").as_int64(), 1);
  EXPECT_EQ(first.at("from").as_int64(), kCreatedMs - 60'000);
  EXPECT_EQ(first.at("metrics").as_array().size(), 8u);
  EXPECT_FALSE(first.at("closed").as_bool());
  const json::object* v1 = Answer(first, "Requests:Sum:1");
  const json::object* v2 = Answer(first, "Requests:Sum:2");
  ASSERT_NE(v1, nullptr);
  ASSERT_NE(v2, nullptr);
  EXPECT_TRUE(v1->at("exists").as_bool());
  EXPECT_EQ(Values(*v1), (std::map<int64_t, double>{{kCreatedMs + 5'000, 3}}));
  EXPECT_EQ(Values(*v2), (std::map<int64_t, double>{{kCreatedMs + 5'000, 1}}));
  // Versions without a sample yet answer, empty.
  const json::object* latency = Answer(first, "Latency:p99:1");
  ASSERT_NE(latency, nullptr);
  EXPECT_FALSE(latency->at("exists").as_bool());

  // 3.7 s later: from the period that held the previous post's time (it was incomplete then).
  json::value second = Post(d, kCreatedMs + 14'200);
  EXPECT_EQ(second.at("from").as_int64(), kCreatedMs + 10'000);
  v2 = Answer(second, "Requests:Sum:2");
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ(Values(*v2), (std::map<int64_t, double>{{kCreatedMs + 12'000, 2}}));
  EXPECT_EQ(v2->at("datapoints").as_array().front().at("timestamp").as_int64(), kCreatedMs + 10'000);
}

TEST_F(LiveChartsTest, AClosedWindowGetsOneLastPostThenNone) {
  deploy::Deployment d = Running();
  EXPECT_TRUE(charts_.Next(d, kCreatedMs + 1'000).has_value());
  d.status = "Succeeded";
  d.completed_ms = kCreatedMs + 30'000;
  json::value last = Post(d, kCreatedMs + 95'000);
  EXPECT_TRUE(last.at("closed").as_bool());
  EXPECT_EQ(last.at("end").as_int64(), kCreatedMs + 90'000);
  EXPECT_EQ(last.at("from").as_int64(), kCreatedMs + 1'000);
  EXPECT_FALSE(charts_.Next(d, kCreatedMs + 96'000).has_value());
  // A page opened again later (nobody watched in between) gets the whole window once more.
  charts_.Retain({});
  json::value again = Post(d, kCreatedMs + 200'000);
  EXPECT_EQ(again.at("from").as_int64(), kCreatedMs - 60'000);
}

TEST_F(LiveChartsTest, RetainKeepsTheWatchedDeploymentsPlace) {
  deploy::Deployment a = Running();
  deploy::Deployment b = Running();
  b.id = "d-BBBBBBBBB";
  Post(a, kCreatedMs + 1'000);
  Post(b, kCreatedMs + 1'000);
  charts_.Retain({"d-BBBBBBBBB"});
  EXPECT_EQ(Post(a, kCreatedMs + 2'000).at("from").as_int64(), kCreatedMs - 60'000);
  EXPECT_EQ(Post(b, kCreatedMs + 2'000).at("from").as_int64(), kCreatedMs + 1'000);
}

TEST(LiveChartsAlarmTest, EachWatchedAlarmWithItsMetricAtItsOwnPeriod) {
  metrics::MetricsStore metrics;
  auto store = store::CreateMemoryStore();
  FakeClock clock(FromEpochMillis(kCreatedMs + 130'000));
  alarms::AlarmEngine engine(metrics, *store, clock);
  alarms::AlarmSpec spec;
  spec.logical_id = "ErrorsAlarm";
  spec.alarm_name = "svc-dev-errors";
  spec.metric = PerVersion("5XXError", 2);
  spec.statistic_text = "Sum";
  spec.statistic = *metrics::ParseStatistic("Sum");
  spec.period_seconds = 60;
  spec.evaluation_periods = 1;
  spec.datapoints_to_alarm = 1;
  spec.threshold = 1;
  spec.comparison = alarms::Comparison::kGreaterThanOrEqualToThreshold;
  engine.SetServiceAlarms("svc", "dev", {spec});
  metrics.Add(*spec.metric, kCreatedMs + 70'000, 1);
  metrics.Add(*spec.metric, kCreatedMs + 80'000, 1);

  deploy::Deployment d = Running();
  d.alarms = {"svc-dev-errors", "not-defined"};  // an alarm that is gone is left out
  LiveCharts charts(metrics, nullptr, &engine);
  auto text = charts.Next(d, kCreatedMs + 130'000);
  ASSERT_TRUE(text.has_value());
  json::value post = json::parse(*text);
  const json::array& alarms = post.at("alarms").as_array();
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].at("alarm").at("name").as_string(), "svc-dev-errors");
  EXPECT_EQ(alarms[0].at("alarm").at("threshold").to_number<double>(), 1.0);
  const json::object& series = alarms[0].at("series").as_object();
  EXPECT_EQ(series.at("period").as_int64(), 60);
  EXPECT_EQ(Values(series), (std::map<int64_t, double>{{kCreatedMs + 60'000, 2}}));
}

}  // namespace
}  // namespace cutover::api
