// Metrics and alarms through the real daemon on a scaled clock (--time-scale 60: a minute per
// second): the seed's ApiGateway5XXErrorAlarm goes to ALARM when its function answers 500s, back to
// OK when a fixed version answers, keeps its state across a SIGKILL restart, and shows up in
// /v1/metrics, /metrics and `cutover alarms`.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

constexpr char kAlarm[] = "bref-canary-deployments-demo-dev-ApiGateway5XXErrorAlarm";

json::object AlarmOf(Daemon& d) {
  HttpResult r = d.Admin("GET", std::string("/v1/alarms/") + kAlarm);
  EXPECT_EQ(r.status, 200) << r.body;
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object();
}

std::string StateOf(Daemon& d) {
  json::object a = AlarmOf(d);
  return a.contains("state") ? std::string(a["state"].as_string()) : "";
}

// A copy of examples/seed, with the FAULTY switch when `faulty`.
fs::path SeedCopy(const fs::path& dir, bool faulty) {
  fs::create_directories(dir);
  fs::copy(SourceDir() / "examples/seed", dir,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  if (faulty) std::ofstream(dir / "FAULTY") << "on\n";
  return dir;
}

TEST(AlarmsTest, SeedAlarmFiresOnFiveHundredsRecoversAndSurvivesRestart) {
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path root = MakeTempDir("cutover-alarms");
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "60"});
  CommandResult r = daemon->Deploy(SeedCopy(root / "faulty", true));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // A new alarm starts in INSUFFICIENT_DATA.
  EXPECT_EQ(StateOf(*daemon), "INSUFFICIENT_DATA");

  for (int i = 0; i < 10; ++i) EXPECT_EQ(daemon->Gateway("GET", "/checkout").status, 500);
  // One evaluation (a scaled minute) later the alarm is in ALARM.
  ASSERT_TRUE(WaitFor([&] { return StateOf(*daemon) == "ALARM"; }, std::chrono::seconds(30)))
      << json::serialize(AlarmOf(*daemon));
  json::object alarm = AlarmOf(*daemon);
  EXPECT_NE(std::string(alarm["reason"].as_string()).find("Threshold Crossed"), std::string::npos);
  ASSERT_FALSE(alarm["history"].as_array().empty());
  EXPECT_EQ(alarm["history"].as_array()[0].as_object()["new_state"].as_string(), "ALARM");
  EXPECT_NE(std::string(alarm["reason_data"].as_string()).find("\"evaluatedDatapoints\""),
            std::string::npos);

  // The metric behind it, by the API and in the Prometheus text. The alarm may have fired on the
  // first samples, before the control tick drained the last requests' ones: wait for all 10.
  auto sum = [&] {
    HttpResult q = daemon->Admin(
        "GET",
        "/v1/metrics/query?namespace=AWS/ApiGateway&name=5XXError&dimensions=ApiName=dev-bref-"
        "canary-deployments-demo&statistic=Sum&period=60&minutes=10");
    EXPECT_EQ(q.status, 200) << q.body;
    double total = 0;
    boost::system::error_code ec;
    const json::value answer = json::parse(q.body, ec);
    if (ec) return -1.0;
    for (const auto& dp : answer.as_object().at("datapoints").as_array()) {
      if (dp.as_object().at("value").is_number()) {
        total += dp.as_object().at("value").to_number<double>();
      }
    }
    return total;
  };
  EXPECT_TRUE(WaitFor([&] { return sum() == 10; }, std::chrono::seconds(10))) << sum();
  HttpResult prom = daemon->Admin("GET", "/metrics");
  EXPECT_NE(prom.body.find(std::string("cutover_alarm_state{alarm=\"") + kAlarm +
                           "\",state=\"ALARM\"} 1"),
            std::string::npos)
      << prom.body;
  EXPECT_NE(prom.body.find("status_class=\"5xx\"} 10"), std::string::npos) << prom.body;
  CommandResult cli = RunCutover({"alarms", "--admin", daemon->admin_url()});
  EXPECT_EQ(cli.exit_code, 0);
  EXPECT_NE(cli.out.find("ALARM"), std::string::npos) << cli.out;

  // A fixed version: its requests succeed and the alarm returns to OK. An alarm already in ALARM
  // would roll its deployment back at once, as on AWS; shipping the fix for a live error is what
  // cutover's ignoreAlarmsAtStart is for (and AllAtOnce gives the fix all the traffic at once).
  fs::path fixed = SeedCopy(root / "fixed", false);
  {
    std::ifstream in(fixed / "serverless.yml");
    std::string yml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string from = "type: Linear10PercentEvery1Minute";
    ASSERT_NE(yml.find(from), std::string::npos);
    yml.replace(yml.find(from), from.size(), "type: AllAtOnce\n      ignoreAlarmsAtStart: true");
    std::ofstream(fixed / "serverless.yml") << yml;
  }
  r = daemon->Deploy(fixed);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < 3; ++i) daemon->Gateway("GET", "/checkout");
        return StateOf(*daemon) == "OK";
      },
      std::chrono::seconds(30)))
      << json::serialize(AlarmOf(*daemon));
  EXPECT_EQ(AlarmOf(*daemon)["history"].as_array()[0].as_object()["old_state"].as_string(),
            "ALARM");

  // SIGKILL: the state comes back from the store, not from scratch.
  daemon->Kill();
  daemon = Daemon::Start(root / "data", {"--time-scale", "60"});
  EXPECT_EQ(StateOf(*daemon), "OK");
  daemon.reset();
  fs::remove_all(root);
}

// Older than the 3 hours kept in memory, whole-minute queries are answered from the 1-minute
// rollups the daemon writes to its store. --time-scale 1200: 3 h pass in 9 s.
TEST(MetricsRollupTest, QueriesOlderThanMemoryComeFromTheStore) {
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path root = MakeTempDir("cutover-rollups");
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "1200"});
  CommandResult r = daemon->Deploy(SeedCopy(root / "svc", false));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(daemon->Gateway("GET", "/health").status, 200);
  const std::string query =
      "/v1/metrics/query?namespace=AWS/ApiGateway&name=Count&dimensions=ApiName=dev-bref-canary-"
      "deployments-demo&statistic=SampleCount&period=60&minutes=400";
  // (sum of the values, timestamp of the first datapoint with data, timestamp of the last datapoint)
  struct Seen {
    double total = 0;
    int64_t first_data_ms = -1;
    int64_t last_ms = 0;
  };
  auto look = [&] {
    Seen seen;
    HttpResult q = daemon->Admin("GET", query);
    EXPECT_EQ(q.status, 200) << q.body;
    boost::system::error_code ec;
    json::value v = json::parse(q.body, ec);
    if (ec) return seen;
    for (const auto& dp : v.as_object().at("datapoints").as_array()) {
      const auto& o = dp.as_object();
      seen.last_ms = o.at("timestamp").as_int64();
      if (!o.at("value").is_number()) continue;
      seen.total += o.at("value").to_number<double>();
      if (seen.first_data_ms < 0) seen.first_data_ms = seen.last_ms;
    }
    return seen;
  };
  // The control tick drains the samples every 100 ms.
  ASSERT_TRUE(WaitFor([&] { return look().total == 5; }, std::chrono::seconds(10)));  // memory
  Seen before = look();
  // Until the daemon's clock is 3 h 20 min past those requests (a condition, polled).
  const int64_t old_enough = before.first_data_ms + (3 * 3600 + 20 * 60) * 1000;
  ASSERT_TRUE(WaitFor([&] { return look().last_ms >= old_enough; }, std::chrono::seconds(60)));
  // New traffic moves the series' in-memory window past the old requests; only the store has them.
  for (int i = 0; i < 2; ++i) ASSERT_EQ(daemon->Gateway("GET", "/health").status, 200);
  EXPECT_TRUE(WaitFor([&] { return look().total == 7; }, std::chrono::seconds(10)))
      << "the 5 old requests must come from the rollups: " << look().total;
  Seen after = look();
  EXPECT_EQ(after.first_data_ms, before.first_data_ms);
  daemon.reset();
  fs::remove_all(root);
}

// An application metric reported by EMF in the function's log drives a custom alarm.
TEST(EmfAlarmTest, EmfMetricDrivesACustomAlarm) {
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path root = MakeTempDir("cutover-emf");
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "60"});
  CommandResult r = daemon->Deploy(SourceDir() / "tests/integration/testdata/emf-app");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto state = [&] {
    HttpResult a = daemon->Admin("GET", "/v1/alarms/shop-failed-orders");
    boost::system::error_code ec;
    json::value v = json::parse(a.body, ec);
    return !ec && v.is_object() && v.as_object().contains("state")
               ? std::string(v.as_object().at("state").as_string())
               : a.body;
  };
  EXPECT_EQ(state(), "INSUFFICIENT_DATA");
  for (int i = 0; i < 4; ++i) ASSERT_EQ(daemon->Gateway("POST", "/orders").status, 200);
  EXPECT_TRUE(WaitFor([&] { return state() == "ALARM"; }, std::chrono::seconds(30))) << state();
  HttpResult q = daemon->Admin(
      "GET",
      "/v1/metrics/query?namespace=Shop&name=FailedOrders&dimensions=Service=shop&statistic=Sum&"
      "period=60&minutes=10");
  EXPECT_NE(q.body.find("\"exists\":true"), std::string::npos) << q.body;
  // The pipeline counts what it did with the lines: four accepted, none refused or dropped.
  HttpResult prom;
  EXPECT_TRUE(WaitFor(
      [&] {
        prom = daemon->Admin("GET", "/metrics");
        return prom.body.find("cutover_emf_lines_total{result=\"accepted\"} 4\n") !=
               std::string::npos;
      },
      std::chrono::seconds(10)))
      << prom.body;
  EXPECT_NE(prom.body.find("cutover_emf_lines_total{result=\"malformed\"} 0\n"), std::string::npos);
  EXPECT_NE(prom.body.find("cutover_emf_lines_total{result=\"dropped\"} 0\n"), std::string::npos);
  daemon.reset();
  fs::remove_all(root);
}

TEST(AlarmsTest, BadAlarmFailsTheDeployWithItsLocation) {
  fs::path root = MakeTempDir("cutover-bad-alarm");
  auto daemon = Daemon::Start(root / "data");
  fs::path dir = SeedCopy(root / "svc", false);
  {
    std::ifstream in(dir / "serverless.yml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto at = text.find("Period: 60");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 10, "Period: 45");
    std::ofstream(dir / "serverless.yml") << text;
  }
  CommandResult r = daemon->Deploy(dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("serverless.yml:"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("Period"), std::string::npos) << r.out << r.err;
  // Nothing was published.
  EXPECT_EQ(daemon->Gateway("GET", "/health").status, 404);  // no routes at all
  daemon.reset();
  fs::remove_all(root);
}

}  // namespace
}  // namespace cutover::testing
