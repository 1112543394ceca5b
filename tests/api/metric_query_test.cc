// The admin API's metric queries (api/metric_query.h): both request forms, their errors, and the
// answer's JSON, checked against MetricsStore::Query and the store's rollups.
#include "api/metric_query.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "metrics/rollup.h"
#include "store/state_store.h"

namespace cutover::api {
namespace {

namespace json = boost::json;

constexpr int64_t kNowMs = 1'800'000'000'000;  // a whole minute

ParamLookup From(std::map<std::string, std::string> params) {
  return [params = std::move(params)](std::string_view name) -> std::optional<std::string> {
    auto it = params.find(std::string(name));
    if (it == params.end()) return std::nullopt;
    return it->second;
  };
}

std::string ErrorOf(const Status& st) { return st.ok() ? "(ok)" : st.message(); }

TEST(MetricQueryTest, QueryStringDefaultsToTheLastFifteenMinutesAtSixtySecondsAverage) {
  auto q = MetricQueryFromParams(From({{"namespace", "AWS/ApiGateway"}, {"name", "5XXError"}}),
                                 kNowMs);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(metrics::ToString(q->statistic), "Average");
  EXPECT_EQ(q->period_s, 60);
  EXPECT_EQ(q->end_ms, kNowMs);
  EXPECT_EQ(q->start_ms, kNowMs - 15 * 60 * 1000);
  EXPECT_TRUE(q->id.empty());
}

TEST(MetricQueryTest, QueryStringDimensionsAreSortedIntoTheKey) {
  auto q = MetricQueryFromParams(From({{"namespace", "Cutover"},
                                       {"name", "Requests"},
                                       {"dimensions", "Resource=f:live,FunctionName=f"},
                                       {"statistic", "p99"},
                                       {"period", "1"},
                                       {"minutes", "2"}}),
                                 kNowMs);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->key.ToString(), "Cutover Requests {FunctionName=f,Resource=f:live}");
  EXPECT_EQ(q->start_ms, kNowMs - 2 * 60 * 1000);
  EXPECT_EQ(metrics::ToString(q->statistic), "p99");
}

TEST(MetricQueryTest, QueryStringErrorsSayWhatIsWrong) {
  const std::map<std::string, std::string> base = {{"namespace", "N"}, {"name", "M"}};
  auto with = [&](std::map<std::string, std::string> extra) {
    auto params = base;
    for (auto& [k, v] : extra) params[k] = v;
    return ErrorOf(MetricQueryFromParams(From(params), kNowMs).status());
  };
  EXPECT_EQ(ErrorOf(MetricQueryFromParams(From({{"namespace", "N"}}), kNowMs).status()),
            "namespace and name are required");
  EXPECT_EQ(with({{"dimensions", "=x"}}), "dimension '=x' is not Name=Value");
  EXPECT_EQ(with({{"dimensions", "A=1,B"}}), "dimension 'B' is not Name=Value");
  EXPECT_EQ(with({{"period", "0"}}), "period must be 1..86400 seconds");
  EXPECT_EQ(with({{"period", "86401"}}), "period must be 1..86400 seconds");
  EXPECT_EQ(with({{"period", "1x"}}), "period must be 1..86400 seconds");
  EXPECT_EQ(with({{"minutes", "0"}}), "minutes must be a positive integer");
  EXPECT_EQ(with({{"start", "10"}, {"end", "10"}}),
            "start and end are epoch milliseconds, start < end");
  EXPECT_EQ(with({{"start", "0"}, {"period", "1"}}), "too many datapoints: widen the period");
  EXPECT_NE(with({{"statistic", "P99"}}).find("statistic"), std::string::npos);
}

TEST(MetricQueryTest, BatchTakesEachQueryWithTheSameDefaultsAndNamesThem) {
  auto qs = MetricQueriesFromJson(R"({"queries": [
      {"id": "reqs", "namespace": "Cutover", "name": "Requests", "statistic": "Sum", "period": 1,
       "start": 1799999940000, "dimensions": {"Resource": "f:live", "FunctionName": "f"}},
      {"namespace": "AWS/Lambda", "name": "Errors", "end": 1799999000000.0}]})",
                                  kNowMs);
  ASSERT_TRUE(qs.ok()) << qs.status().ToString();
  ASSERT_EQ(qs->size(), 2u);
  const MetricQuery& a = (*qs)[0];
  EXPECT_EQ(a.id, "reqs");
  EXPECT_EQ(a.key.ToString(), "Cutover Requests {FunctionName=f,Resource=f:live}");
  EXPECT_EQ(a.period_s, 1);
  EXPECT_EQ(a.start_ms, 1799999940000);
  EXPECT_EQ(a.end_ms, kNowMs);
  const MetricQuery& b = (*qs)[1];
  EXPECT_EQ(b.id, "q1");
  EXPECT_EQ(metrics::ToString(b.statistic), "Average");
  EXPECT_EQ(b.end_ms, 1799999000000);
  EXPECT_EQ(b.start_ms, 1799999000000 - 15 * 60 * 1000);
}

TEST(MetricQueryTest, BatchErrorsNameTheQuery) {
  auto error = [](std::string_view body) {
    return ErrorOf(MetricQueriesFromJson(body, kNowMs).status());
  };
  EXPECT_NE(error("{").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(error(R"({"query": []})"), R"(the body must be {"queries": [...]})");
  EXPECT_EQ(error(R"({"queries": []})"), "queries: between 1 and 100 queries, not 0");
  std::string many = R"({"queries": [)";
  for (int i = 0; i <= 100; ++i) many += std::string(i ? "," : "") + R"({"namespace":"N","name":"M"})";
  many += "]}";
  EXPECT_EQ(error(many), "queries: between 1 and 100 queries, not 101");
  const std::string ok = R"({"namespace": "N", "name": "M"})";
  EXPECT_EQ(error(R"({"queries": [)" + ok + R"(, 3]})"), "queries[1] must be an object");
  EXPECT_EQ(error(R"({"queries": [)" + ok + R"(, {"namespace": "N", "name": "M", "perod": 1}]})"),
            "queries[1].perod: unknown field (expected one of id, namespace, name, dimensions, "
            "statistic, period, start, end, minutes)");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N"}]})"),
            "queries[0].namespace and queries[0].name are required");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N", "name": 5}]})"),
            "queries[0].name must be a string");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N", "name": "M", "period": 1.5}]})"),
            "queries[0].period must be an integer");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N", "name": "M", "period": 0}]})"),
            "queries[0].period must be 1..86400 seconds");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N", "name": "M", "minutes": -1}]})"),
            "queries[0].minutes must be a positive integer");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N", "name": "M", "dimensions": "A=B"}]})"),
            "queries[0].dimensions must be an object of names to string values");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N", "name": "M", "dimensions": {"A": 1}}]})"),
            "queries[0].dimensions must be an object of names to string values");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N", "name": "M", "start": 5, "end": 5}]})"),
            "queries[0].start and end are epoch milliseconds, start < end");
  EXPECT_EQ(error(R"({"queries": [{"namespace": "N", "name": "M", "statistic": "p101"}]})")
                .rfind("queries[0].statistic: ", 0),
            0u);
  EXPECT_EQ(error(R"({"queries": [{"id": "a", "namespace": "N", "name": "M"},
                                  {"id": "a", "namespace": "N", "name": "M"}]})"),
            "queries[1].id: 'a' is used twice");
  // Each query alone is within its limit (86,400 points); two are over the batch's 100,800.
  const std::string day = R"({"namespace": "N", "name": "M", "period": 1, "minutes": 1440})";
  EXPECT_TRUE(MetricQueriesFromJson(R"({"queries": [)" + day + "]}", kNowMs).ok());
  EXPECT_EQ(error(R"({"queries": [)" + day + "," + day + "]}"),
            "queries[1]: the queries up to here ask for more than 100800 datapoints in all: "
            "widen their periods or split the request");
}

// The JSON answer carries what MetricsStore::Query computed, value null where a period is empty.
TEST(MetricQueryTest, AnswerIsTheStoresDatapointsAsJson) {
  metrics::MetricsStore memory;
  const metrics::MetricKey key = metrics::MakeKey("Cutover", "Latency", {{"FunctionName", "f"}});
  for (int i = 0; i < 100; ++i) memory.Add(key, kNowMs - 5000, 1.0 + i);
  memory.Add(key, kNowMs - 3000, 0.1);
  MetricQuery q;
  q.key = key;
  q.statistic = *metrics::ParseStatistic("p50");
  q.period_s = 1;
  q.start_ms = kNowMs - 6000;
  q.end_ms = kNowMs;
  auto points = AnswerMetricQuery(q, memory, nullptr, kNowMs);
  ASSERT_TRUE(points.ok());
  const auto expected = memory.Query(key, q.statistic, q.start_ms, q.end_ms, 1);
  ASSERT_EQ(points->size(), 6u);

  for (const std::string id : {"", "lat"}) {
    q.id = id;
    std::string text;
    AppendMetricAnswer(&text, q, true, *points);
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    ASSERT_FALSE(ec) << text;
    const json::object& o = v.as_object();
    EXPECT_EQ(o.contains("id"), !id.empty());
    if (!id.empty()) EXPECT_EQ(o.at("id").as_string(), id);
    EXPECT_EQ(o.at("metric").as_string(), "Cutover Latency {FunctionName=f}");
    EXPECT_EQ(o.at("statistic").as_string(), "p50");
    EXPECT_EQ(o.at("period").as_int64(), 1);
    EXPECT_TRUE(o.at("exists").as_bool());
    const json::array& dps = o.at("datapoints").as_array();
    ASSERT_EQ(dps.size(), expected.size());
    for (size_t i = 0; i < dps.size(); ++i) {
      const json::object& dp = dps[i].as_object();
      EXPECT_EQ(dp.at("timestamp").to_number<int64_t>(), expected[i].timestamp_ms);
      EXPECT_EQ(dp.at("sample_count").to_number<uint64_t>(), expected[i].sample_count);
      if (expected[i].value) {
        EXPECT_EQ(dp.at("value").to_number<double>(), *expected[i].value) << text;
      } else {
        EXPECT_TRUE(dp.at("value").is_null()) << text;
      }
    }
  }
  // 100 samples in one second and one in another: both periods answer, the others are null.
  int with_value = 0;
  for (const auto& dp : *points) with_value += dp.value.has_value();
  EXPECT_EQ(with_value, 2);
}

// Whole-minute periods older than memory come from the store's rollups.
TEST(MetricQueryTest, PeriodsOlderThanMemoryComeFromTheRollups) {
  auto store = store::CreateMemoryStore();
  const metrics::MetricKey key = metrics::MakeKey("AWS/Lambda", "Errors", {{"FunctionName", "f"}});
  const int64_t old_minute = (kNowMs - 5 * 3600 * 1000) / 60000 / 2 * 2;  // a 120 s boundary
  std::vector<store::MetricRollupRecord> rows;
  for (int m = 0; m < 3; ++m) {
    metrics::Aggregate a;
    a.Add(2.0 * (m + 1), 10);  // minute m: 10 samples of 2(m+1)
    rows.push_back({metrics::EncodeMetricKey(key), old_minute + m, metrics::EncodeAggregate(a)});
  }
  ASSERT_TRUE(store->Write([&](store::StoreTxn& txn) { return txn.PutMetricRollups(rows); }).ok());

  metrics::MetricsStore memory;
  MetricQuery q;
  q.key = key;
  q.statistic = *metrics::ParseStatistic("Sum");
  q.period_s = 120;
  q.start_ms = old_minute * 60000;
  q.end_ms = q.start_ms + 4 * 60000;
  auto points = AnswerMetricQuery(q, memory, store.get(), kNowMs);
  ASSERT_TRUE(points.ok()) << points.status().ToString();
  ASSERT_EQ(points->size(), 2u);
  ASSERT_TRUE((*points)[0].value.has_value());
  EXPECT_EQ(*(*points)[0].value, 10 * 2.0 + 10 * 4.0);
  EXPECT_EQ((*points)[0].sample_count, 20u);
  ASSERT_TRUE((*points)[1].value.has_value());
  EXPECT_EQ(*(*points)[1].value, 10 * 6.0);
  // Without the store, memory alone has nothing that old.
  auto from_memory = AnswerMetricQuery(q, memory, nullptr, kNowMs);
  ASSERT_TRUE(from_memory.ok());
  EXPECT_FALSE((*from_memory)[0].value.has_value());
}

}  // namespace
}  // namespace cutover::api
