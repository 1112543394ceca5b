// Deployments through the real daemon on a scaled clock (--time-scale 60: a minute per second):
// the seed's story — a good version shifted by Linear10PercentEvery1Minute to 100 %, then a faulty
// one rolled back by the real ApiGateway5XXErrorAlarm — and the daemon SIGKILLed at many points of
// a deployment, each restart continuing it with the alias agreeing with the store and the event
// log without a gap.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <random>
#include <thread>

#include "cli/event_stream.h"
#include "common/http_client.h"
#include "harness.h"
#include "support/procfs.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

constexpr char kFunction[] = "bref-canary-deployments-demo-dev-website";

json::object Parse(const HttpResult& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object();
}

// A copy of examples/seed whose code differs by `tag` (so each deploy publishes a new version),
// answering 500s when `faulty`.
fs::path SeedVersion(const fs::path& root, const std::string& tag, bool faulty) {
  fs::path dir = root / tag;
  fs::create_directories(dir);
  fs::copy(SourceDir() / "examples/seed", dir,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  std::ofstream(dir / "public" / "VERSION") << tag << "\n";
  if (faulty) std::ofstream(dir / "FAULTY") << "on\n";
  return dir;
}

struct Snapshot {
  json::object deployment;
  json::array events;
  json::object alias;  // as the daemon serves it
};

Snapshot Read(Daemon& d, const std::string& id) {
  Snapshot s;
  json::object got = Parse(d.Admin("GET", "/v1/deployments/" + id));
  if (got.contains("deployment")) s.deployment = got["deployment"].as_object();
  if (got.contains("events")) s.events = got["events"].as_array();
  json::object alias = Parse(d.Admin("GET", std::string("/v1/functions/") + kFunction +
                                                "/aliases/Live"));
  s.alias = alias.contains("alias") ? alias["alias"].as_object() : alias;
  return s;
}

std::string Status(const Snapshot& s) {
  const json::value* v = s.deployment.if_contains("status");
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

// The checks after every restart: the event log has no gap, and the alias is exactly what the
// deployment's stored state says it should be.
void ExpectConsistent(const Snapshot& s) {
  uint64_t seq = 0;
  for (const json::value& e : s.events) {
    EXPECT_EQ(e.as_object().at("seq").to_number<uint64_t>(), ++seq) << "gap in the event log";
  }
  const json::object& target = s.deployment.at("lambdaTarget").as_object();
  const double weight = target.at("targetVersionWeight").to_number<double>();
  const auto current = std::stoul(std::string(target.at("currentVersion").as_string()));
  const auto next = std::stoul(std::string(target.at("targetVersion").as_string()));
  const auto primary = s.alias.at("primary_version").to_number<uint64_t>();
  const auto additional = s.alias.at("additional_version").to_number<uint64_t>();
  const double served = s.alias.at("additional_weight").to_number<double>();
  const std::string status = Status(s);
  if (status == "Succeeded" || (status == "InProgress" && weight >= 1.0)) {
    EXPECT_EQ(primary, next);
    EXPECT_EQ(additional, 0u);
  } else if (status == "InProgress" && weight > 0) {
    EXPECT_EQ(primary, current);
    EXPECT_EQ(additional, next);
    EXPECT_DOUBLE_EQ(served, weight);
  } else {
    EXPECT_EQ(primary, current) << json::serialize(s.deployment);
    EXPECT_EQ(additional, 0u);
  }
}

// Steady traffic from its own connection until stopped; counts answers by status.
class Traffic {
 public:
  explicit Traffic(uint16_t port) : thread_([this, port] { Run(port); }) {}
  ~Traffic() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_; }
  int errors() const { return errors_; }
  int failed() const { return failed_; }

 private:
  void Run(uint16_t port) {
    HttpClient client("127.0.0.1", port);
    while (!stop_) {
      HttpResult r = client.Request("GET", "/checkout");
      if (r.status == 200) {
        ++ok_;
      } else if (r.status >= 500) {
        ++errors_;
      } else {
        ++failed_;
      }
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, errors_{0}, failed_{0};
  std::thread thread_;
};

// What a dashboard page watching deployment `id` received over GET /v1/events?charts=ID.
struct ChartsWatched {
  int posts = 0;
  double requests_on_target = 0;  // v2's requests, summed over the posts' datapoints
  bool closed = false;            // a post said the charts' window has closed
  bool deployment_events = false;
  std::string error;
};

ChartsWatched WatchCharts(Daemon& d, const std::string& id, std::chrono::milliseconds limit) {
  ChartsWatched out;
  cli::EventStream stream(Endpoint{"127.0.0.1", d.admin_port(), ""}, std::nullopt,
                          "/v1/events?charts=" + id);
  if (auto st = stream.Open(""); !st.ok()) {
    out.error = st.ToString();
    return out;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!out.closed && std::chrono::steady_clock::now() < deadline) {
    auto events = stream.Next(std::chrono::milliseconds(500));
    if (!events.ok()) {
      out.error = events.status().ToString();
      break;
    }
    for (const cli::SseEvent& e : *events) {
      if (e.type == "deployment") out.deployment_events = true;
      if (e.type != "charts") continue;
      ++out.posts;
      json::object post = json::parse(e.data).as_object();
      EXPECT_EQ(post.at("deploymentId").as_string(), id);
      for (const json::value& answer : post.at("metrics").as_array()) {
        if (answer.at("id") != "Requests:Sum:2") continue;
        for (const json::value& p : answer.at("datapoints").as_array()) {
          if (!p.at("value").is_null()) out.requests_on_target += p.at("value").to_number<double>();
        }
      }
      // The seed's alarm, with the series it is evaluated on.
      const json::array& alarms = post.at("alarms").as_array();
      EXPECT_EQ(alarms.size(), 1u) << e.data;
      if (!alarms.empty()) EXPECT_TRUE(alarms[0].at("series").is_object()) << e.data;
      out.closed = post.at("closed").as_bool();
    }
  }
  return out;
}

TEST(DeploymentsTest, ChartsOfADeploymentThatDoesNotExistAreRefused) {
  fs::path root = MakeTempDir("cutover-deployments");
  auto daemon = Daemon::Start(root / "data");
  const HttpResult r = daemon->Admin("GET", "/v1/events?charts=d-NOSUCHONE");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("d-NOSUCHONE"), std::string::npos) << r.body;
}

TEST(DeploymentsTest, SeedStoryGoodVersionReachesAllTrafficFaultyOneIsRolledBackByTheAlarm) {
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path root = MakeTempDir("cutover-deployments");
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "60"});

  CommandResult v1 = daemon->Deploy(SeedVersion(root, "v1", false));
  ASSERT_EQ(v1.exit_code, 0) << v1.out << v1.err;
  EXPECT_EQ(DeploymentIdOf(v1), "");  // the first version creates the alias at it
  Traffic traffic(daemon->gateway_port());

  CommandResult v2 = daemon->Deploy(SeedVersion(root, "v2", false));
  ASSERT_EQ(v2.exit_code, 0) << v2.out << v2.err;
  const std::string good = DeploymentIdOf(v2);
  ASSERT_FALSE(good.empty()) << v2.out;
  // Linear10PercentEvery1Minute: 9 scaled minutes, 9 s here. Watched as the dashboard watches it:
  // the chart posts of the event stream, once a second, until the charts' window closes a scaled
  // minute after the end.
  const ChartsWatched charts = WatchCharts(*daemon, good, std::chrono::seconds(60));
  EXPECT_TRUE(charts.closed) << "no post closed the charts' window";
  EXPECT_GE(charts.posts, 5);
  EXPECT_GT(charts.requests_on_target, 0) << "no post showed v2's requests";
  EXPECT_TRUE(charts.deployment_events) << "the deployment's own events did not come through";
  EXPECT_EQ(charts.error, "");
  ASSERT_TRUE(WaitFor([&] { return Status(Read(*daemon, good)) == "Succeeded"; },
                      std::chrono::seconds(30)))
      << json::serialize(Read(*daemon, good).deployment);
  Snapshot s = Read(*daemon, good);
  ExpectConsistent(s);
  int shifts = 0;
  for (const json::value& e : s.events) shifts += e.as_object().at("type") == "TrafficShifted";
  EXPECT_EQ(shifts, 10);  // 10 % … 90 %, then 100 %
  EXPECT_EQ(traffic.errors(), 0);

  CommandResult v3 = daemon->Deploy(SeedVersion(root, "v3", true));
  ASSERT_EQ(v3.exit_code, 0) << v3.out << v3.err;
  const std::string faulty = DeploymentIdOf(v3);
  ASSERT_FALSE(faulty.empty());
  ASSERT_TRUE(WaitFor([&] { return Status(Read(*daemon, faulty)) == "Stopped"; },
                      std::chrono::seconds(60)))
      << json::serialize(Read(*daemon, faulty).deployment);
  traffic.Stop();
  s = Read(*daemon, faulty);
  ExpectConsistent(s);
  EXPECT_EQ(s.deployment.at("errorInformation").as_object().at("code"), "ALARM_ACTIVE");
  EXPECT_EQ(s.alias.at("primary_version").to_number<int>(), 2);
  EXPECT_EQ(s.alias.at("additional_version").to_number<int>(), 0);
  const std::string rollback = std::string(
      s.deployment.at("rollbackInfo").as_object().at("rollbackDeploymentId").as_string());
  Snapshot r = Read(*daemon, rollback);
  EXPECT_EQ(r.deployment.at("creator"), "codeDeployRollback");
  EXPECT_EQ(Status(r), "Succeeded");
  // The decision carries its evidence: the alarm in ALARM with its datapoints.
  bool evidence = false;
  for (const json::value& e : s.events) {
    const json::object& o = e.as_object();
    if (o.at("type") != "DeploymentStopped") continue;
    for (const json::value& a : o.at("data").as_object().at("evidence").as_array()) {
      evidence = a.as_object().at("state") == "ALARM" &&
                 !a.as_object().at("datapoints").as_array().empty();
    }
  }
  EXPECT_TRUE(evidence) << json::serialize(s.events);
  // Only the faulty version answered 500s, and only while it had a share.
  EXPECT_GT(traffic.errors(), 0);
  EXPECT_EQ(traffic.failed(), 0);
  const HttpResult after = daemon->Gateway("GET", "/checkout");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.headers.at("x-cutover-version"), "2");
}

// The pids of the php-fpm masters whose configuration lies under `root` (the daemon names it on
// the master's command line: "php-fpm: master process (ROOT/data/fpm/.../php-fpm.conf)").
std::vector<pid_t> FpmMastersUnder(const fs::path& root) {
  std::vector<pid_t> out;
  for (pid_t pid : procfs::AllPids()) {
    const std::string cmdline = procfs::Cmdline(pid);
    if (cmdline.starts_with("php-fpm: master") && cmdline.find(root.string()) != std::string::npos) {
      out.push_back(pid);
    }
  }
  return out;
}

TEST(DeploymentsTest, DaemonKilledAtManyPointsOfADeploymentResumesItConsistently) {
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path root = MakeTempDir("cutover-crash");
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "60"});
  ASSERT_EQ(daemon->Deploy(SeedVersion(root, "v1", false)).exit_code, 0);
  CommandResult v2 = daemon->Deploy(SeedVersion(root, "v2", false));
  ASSERT_EQ(v2.exit_code, 0) << v2.out << v2.err;
  const std::string id = DeploymentIdOf(v2);
  ASSERT_FALSE(id.empty());

  // Kill right after the deployment's log reaches a chosen length, a different one each time, and
  // sometimes at once after the restart (mid-transaction as far as the tick is concerned).
  std::mt19937 random(20261127);
  int kills = 0;
  size_t seen = 0;
  while (Status(Read(*daemon, id)) != "Succeeded" && kills < 12) {
    const size_t target = seen + 1 + random() % 3;
    const bool at_once = random() % 4 == 0;
    if (!at_once) {
      WaitFor([&] { return Read(*daemon, id).events.size() >= target; }, std::chrono::seconds(30));
    }
    daemon->Kill();
    ++kills;
    // Nothing of the killed daemon's keeps running: its php-fpm master (and so its workers) got
    // SIGTERM when the daemon died.
    EXPECT_TRUE(WaitFor([&] { return FpmMastersUnder(root).empty(); }, std::chrono::seconds(10)))
        << "php-fpm masters left by the killed daemon: " << FpmMastersUnder(root).size();
    daemon = Daemon::Start(root / "data", {"--time-scale", "60"});
    Snapshot s = Read(*daemon, id);
    ExpectConsistent(s);
    ASSERT_GE(s.events.size(), seen) << "events were lost";
    seen = s.events.size();
  }
  EXPECT_GE(kills, 4);
  ASSERT_TRUE(WaitFor([&] { return Status(Read(*daemon, id)) == "Succeeded"; },
                      std::chrono::seconds(60)));
  Snapshot s = Read(*daemon, id);
  ExpectConsistent(s);
  EXPECT_EQ(s.alias.at("primary_version").to_number<int>(), 2);
  EXPECT_EQ(daemon->Gateway("GET", "/checkout").status, 200);
}

}  // namespace
}  // namespace cutover::testing
