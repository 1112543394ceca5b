// Following deployments (DeploymentTracker, FollowDeployments over SSE, across a reconnect and by
// polling) and the `deployments`, `stop` and `promote` commands, against a scripted fake daemon.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <mutex>
#include <sstream>

#include "cli/deployment_follow.h"
#include "cli/json_fields.h"
#include "cli_runner.h"
#include "deployment_fixtures.h"
#include "fake_admin_server.h"

namespace cutover::cli {
namespace {

namespace json = boost::json;
using testing::CliRun;
using testing::CliRunOptions;
using testing::Deployment;
using testing::EventNumber;
using testing::FakeAdminServer;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::Json;
using testing::RunCutover;
using testing::Snapshot;
using testing::Sse;
using testing::Stream;

// A daemon whose answers are scripted per call: the n-th /v1/events request gets streams[n] (404
// past the end or when empty), the n-th read of d-1 gets snapshots[n] (the last one after that).
class ScriptedDaemon {
 public:
  ScriptedDaemon(std::vector<std::string> streams, std::vector<int64_t> snapshots)
      : streams_(std::move(streams)),
        snapshots_(std::move(snapshots)),
        server_([this](const FakeRequest& r) { return Handle(r); }) {}

  std::string Url() const { return server_.Url(); }
  std::vector<FakeRequest> requests() const { return server_.requests(); }

 private:
  FakeResponse Handle(const FakeRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    if (r.path == "/v1/events") {
      const size_t n = stream_calls_++;
      if (n >= streams_.size() || streams_[n].empty()) {
        return Json(404, R"({"code": "NotFound", "message": "no endpoint"})");
      }
      return Stream(streams_[n]);
    }
    if (r.path == "/v1/deployments/d-1") {
      const size_t n = std::min(snapshot_calls_++, snapshots_.size() - 1);
      return Json(200, Snapshot(snapshots_[n]));
    }
    return Json(404, R"({"code": "NotFound", "message": "no endpoint"})");
  }

  std::mutex mu_;
  std::vector<std::string> streams_;
  std::vector<int64_t> snapshots_;
  size_t stream_calls_ = 0;
  size_t snapshot_calls_ = 0;
  FakeAdminServer server_;  // last: it calls Handle until destroyed
};

struct Followed {
  Result<FollowResult> result = Internal("not run");
  std::string out;
  int waits = 0;
};

Followed Follow(const ScriptedDaemon& daemon, int max_waits = 20) {
  std::ostringstream out;
  std::ostringstream err;
  Followed followed;
  Context context{
      out,
      err,
      nullptr,
      Style(false),
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; },
      [&followed, max_waits](std::chrono::milliseconds) { return ++followed.waits <= max_waits; }};
  Result<AdminClient> admin = AdminClient::Create(daemon.Url(), std::nullopt);
  EXPECT_TRUE(admin.ok());
  FollowOptions options;
  options.output = FollowOutput::kLines;
  followed.result = FollowDeployments(context, *admin, {"d-1"}, options);
  followed.out = out.str();
  return followed;
}

// Each of the five events printed exactly once, in order, then the outcome.
void ExpectEveryEventOnce(const std::string& out) {
  size_t at = 0;
  for (const char* type : {"DeploymentStarted", "LifecycleEvent", "TrafficShifted",
                           "DeploymentStopped", "RolledBack"}) {
    const size_t found = out.find(std::string(" ") + type, at);
    ASSERT_NE(found, std::string::npos) << type << " in\n" << out;
    EXPECT_EQ(out.find(std::string(" ") + type, found + 1), std::string::npos)
        << type << " twice in\n"
        << out;
    at = found;
  }
  EXPECT_NE(out.find("d-1 Stopped (ALARM_ACTIVE): alarm A fired\n"), std::string::npos) << out;
  EXPECT_EQ(out.rfind("d-1 ", 0), 0u) << "lines start with the deployment id:\n" << out;
}

// ---- DeploymentTracker

TEST(DeploymentTrackerTest, DuplicatesGapsAndCompleteness) {
  DeploymentTracker tracker({"d-1"});
  std::vector<DeploymentTracker::Fresh> fresh;
  tracker.ApplySnapshot(json::parse(Snapshot(2)).as_object(), fresh);
  EXPECT_EQ(fresh.size(), 2u);
  auto message = [](int64_t seq) {
    json::object m = EventNumber(seq);
    m["deploymentId"] = "d-1";
    m["deployment"] = seq >= 4 ? Deployment("Stopped", 0) : Deployment("InProgress", 0.1);
    return m;
  };
  using Applied = DeploymentTracker::Applied;
  EXPECT_EQ(tracker.ApplyStreamEvent(message(2), fresh), Applied::kSeen);
  EXPECT_EQ(tracker.ApplyStreamEvent(message(4), fresh), Applied::kGap);
  EXPECT_EQ(tracker.ApplyStreamEvent(message(3), fresh), Applied::kNew);
  json::object other = message(4);
  other["deploymentId"] = "d-2";
  EXPECT_EQ(tracker.ApplyStreamEvent(other, fresh), Applied::kUnfollowed);
  EXPECT_EQ(tracker.ApplyStreamEvent(message(4), fresh), Applied::kNew);
  EXPECT_EQ(fresh.size(), 4u);
  // The stream said it ended; only a read after the end makes the log complete.
  EXPECT_EQ(GetString(tracker.deployments()[0].deployment, {"status"}), "Stopped");
  EXPECT_FALSE(tracker.Done());
  tracker.ApplySnapshot(json::parse(Snapshot(5)).as_object(), fresh);
  EXPECT_TRUE(tracker.Done());
  ASSERT_EQ(fresh.size(), 5u);
  EXPECT_EQ(GetInt(fresh.back().event, {"seq"}), 5);
  EXPECT_EQ(tracker.deployments()[0].events.size(), 5u);
}

// ---- FollowDeployments

TEST(FollowDeploymentsTest, FollowsTheStreamUntilTheDeploymentEnds) {
  // The stream repeats what the first read saw (1, 2), then goes on to the end.
  ScriptedDaemon daemon({Sse({1, 2, 3, 4, 5})}, {2, 5});
  Followed followed = Follow(daemon);
  ASSERT_TRUE(followed.result.ok()) << followed.result.status().ToString();
  ExpectEveryEventOnce(followed.out);
  ASSERT_EQ(followed.result->deployments.size(), 1u);
  EXPECT_EQ(GetString(followed.result->deployments[0], {"status"}), "Stopped");
  EXPECT_FALSE(followed.result->interrupted);
  EXPECT_EQ(WaitExitCode(followed.result->deployments), 1);
  // The stream is opened before the first read, so nothing falls between the two.
  std::vector<FakeRequest> requests = daemon.requests();
  ASSERT_GE(requests.size(), 3u);
  EXPECT_EQ(requests[0].target, "/v1/events?deployment=d-1");
  EXPECT_EQ(requests[0].headers["accept"], "text/event-stream");
  EXPECT_EQ(requests[1].path, "/v1/deployments/d-1");
  EXPECT_EQ(followed.waits, 0);
}

TEST(FollowDeploymentsTest, AGapInTheStreamIsFilledByReadingTheDeployment) {
  ScriptedDaemon daemon({Sse({1, 2, 5})}, {2, 5});
  Followed followed = Follow(daemon);
  ASSERT_TRUE(followed.result.ok()) << followed.result.status().ToString();
  ExpectEveryEventOnce(followed.out);
}

TEST(FollowDeploymentsTest, ADroppedStreamIsReopenedWithLastEventId) {
  // The first stream ends after event 3; the second resumes after it.
  ScriptedDaemon daemon({Sse({3}), Sse({4, 5})}, {2, 3, 5});
  Followed followed = Follow(daemon);
  ASSERT_TRUE(followed.result.ok()) << followed.result.status().ToString();
  ExpectEveryEventOnce(followed.out);
  std::vector<FakeRequest> streams;
  for (const FakeRequest& r : daemon.requests()) {
    if (r.path == "/v1/events") streams.push_back(r);
  }
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].headers.count("last-event-id"), 0u);
  EXPECT_EQ(streams[1].headers["last-event-id"], "103");
}

TEST(FollowDeploymentsTest, WithoutAStreamTheDeploymentIsPolled) {
  ScriptedDaemon daemon({}, {2, 3, 3, 5});
  Followed followed = Follow(daemon);
  ASSERT_TRUE(followed.result.ok()) << followed.result.status().ToString();
  ExpectEveryEventOnce(followed.out);
  EXPECT_EQ(followed.waits, 3);
  int stream_requests = 0;
  for (const FakeRequest& r : daemon.requests()) stream_requests += r.path == "/v1/events";
  EXPECT_EQ(stream_requests, 1) << "a daemon without /v1/events is not asked again";
}

TEST(FollowDeploymentsTest, StoppingTheWaitLeavesTheDeploymentRunning) {
  ScriptedDaemon daemon({}, {2});
  Followed followed = Follow(daemon, /*max_waits=*/2);
  ASSERT_TRUE(followed.result.ok()) << followed.result.status().ToString();
  EXPECT_TRUE(followed.result->interrupted);
  EXPECT_EQ(GetString(followed.result->deployments[0], {"status"}), "InProgress");
  EXPECT_EQ(WaitExitCode(followed.result->deployments), 1);
}

TEST(FollowDeploymentsTest, ADaemonThatStopsAnsweringIsWaitedForThenGivenUpOn) {
  std::atomic<int> reads{0};
  FakeAdminServer server([&reads](const FakeRequest& r) {
    if (r.path == "/v1/deployments/d-1" && reads++ == 0) return Json(200, Snapshot(2));
    return Json(500, R"({"code": "Internal", "message": "the store is locked"})");
  });
  std::ostringstream out, err;
  int waits = 0;
  Context context{out,
                  err,
                  nullptr,
                  Style(false),
                  [](const std::string&) -> std::optional<std::string> { return std::nullopt; },
                  [&waits](std::chrono::milliseconds) { return ++waits < 3; }};
  FollowOptions options;
  options.give_up_after = std::chrono::minutes(1);
  const AdminClient admin = *AdminClient::Create(server.Url(), std::nullopt);
  Result<FollowResult> waited = FollowDeployments(context, admin, {"d-1"}, options);
  ASSERT_TRUE(waited.ok()) << waited.status().ToString();
  EXPECT_TRUE(waited->interrupted);

  reads = 0;
  waits = 0;
  options.give_up_after = std::chrono::milliseconds(0);
  Result<FollowResult> given_up = FollowDeployments(context, admin, {"d-1"}, options);
  EXPECT_EQ(given_up.status().code(), StatusCode::kInternal) << given_up.status().ToString();
  EXPECT_NE(given_up.status().message().find("the store is locked"), std::string::npos);
}

TEST(FollowDeploymentsTest, AnUnknownDeploymentFails) {
  FakeAdminServer server([](const FakeRequest&) {
    return Json(404, R"({"code": "NotFound", "message": "no deployment d-1"})");
  });
  std::ostringstream out, err;
  Context context{out,
                  err,
                  nullptr,
                  Style(false),
                  [](const std::string&) -> std::optional<std::string> { return std::nullopt; },
                  [](std::chrono::milliseconds) { return false; }};
  Result<FollowResult> result =
      FollowDeployments(context, *AdminClient::Create(server.Url(), std::nullopt), {"d-1"}, {});
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status().ToString();
}

// ---- The commands

CliRunOptions WithAdmin(const FakeAdminServer& server) {
  CliRunOptions options;
  options.env["CUTOVER_ADMIN"] = server.Url();
  return options;
}

TEST(DeploymentsCommandTest, ListsTheDeployments) {
  FakeAdminServer server([](const FakeRequest& r) {
    if (r.path == "/v1/deployments") {
      return Json(200, json::serialize(json::object{
                           {"deployments", json::array{Deployment("Stopped", 0),
                                                       Deployment("InProgress", 0.1)}}}));
    }
    return Json(404, R"({"code": "NotFound", "message": "no endpoint"})");
  });
  CliRun run = RunCutover({"deployments", "--function", "demo-dev-website"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.rfind("DEPLOYMENT  FUNCTION", 0), 0u) << run.out;
  EXPECT_NE(run.out.find("Stopped, rolled back"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("10% (step 1/1)"), std::string::npos) << run.out;
  EXPECT_EQ(server.requests()[0].query["function"], "demo-dev-website");
  EXPECT_EQ(server.requests()[0].query["limit"], "20");

  CliRun json_run = RunCutover({"deployments", "--json"}, WithAdmin(server));
  EXPECT_EQ(json_run.exit_code, 0);
  EXPECT_EQ(json::parse(json_run.out).at("deployments").as_array().size(), 2u);
}

TEST(DeploymentsCommandTest, NoDeploymentsYet) {
  FakeAdminServer server([](const FakeRequest&) { return Json(200, R"({"deployments": []})"); });
  CliRun run = RunCutover({"deployments"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out.rfind("No deployments.", 0), 0u) << run.out;
}

TEST(DeploymentsCommandTest, ShowsOneDeploymentWithItsEventLog) {
  FakeAdminServer server([](const FakeRequest& r) {
    if (r.path == "/v1/deployments/d-1") return Json(200, Snapshot(5));
    return Json(404, R"({"code": "NotFound", "message": "no deployment d-9"})");
  });
  CliRun run = RunCutover({"deployments", "d-1"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.rfind("Deployment d-1  Stopped\n", 0), 0u) << run.out;
  EXPECT_NE(run.out.find("\nEvents\n  "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(" RolledBack "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\nStopped (ALARM_ACTIVE): alarm A fired\n"), std::string::npos)
      << run.out;

  CliRun missing = RunCutover({"deployments", "d-9"}, WithAdmin(server));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "cutover: no deployment d-9 (NotFound)\n");
}

TEST(DeploymentsCommandTest, StopAndPromote) {
  FakeAdminServer server([](const FakeRequest& r) {
    if (r.path == "/v1/deployments/d-1/stop") {
      return Json(200, json::serialize(json::object{{"deployment", Deployment("Stopped", 0)}}));
    }
    if (r.path == "/v1/deployments/d-1/promote") {
      return Json(200,
                  json::serialize(json::object{{"deployment", Deployment("InProgress", 0.1)}}));
    }
    if (r.path == "/v1/deployments/d-2/stop") {
      return Json(409, R"js({"error": {"code": "FailedPrecondition",
                                       "message": "deployment d-2 has already ended (Succeeded)"}})js");
    }
    return Json(404, R"({"code": "NotFound", "message": "no deployment"})");
  });
  CliRun stop = RunCutover({"stop", "d-1", "--rollback"}, WithAdmin(server));
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(stop.out, "d-1 Stopped: Live → 2\n  alarm A fired\n  rolled back by d-2\n");
  EXPECT_EQ(json::parse(server.requests().back().body), json::parse(R"({"rollback": true})"));

  CliRun plain_stop = RunCutover({"stop", "d-1"}, WithAdmin(server));
  EXPECT_EQ(json::parse(server.requests().back().body), json::parse(R"({"rollback": false})"));
  EXPECT_EQ(plain_stop.exit_code, 0);

  CliRun promote = RunCutover({"promote", "d-1"}, WithAdmin(server));
  EXPECT_EQ(promote.exit_code, 0) << promote.err;
  EXPECT_EQ(promote.out,
            "d-1 InProgress: Live → 2 (90%) + 3 (10%)\n"
            "  AllowTraffic; follow it with: cutover deployments d-1\n");
  EXPECT_EQ(server.requests().back().method, "POST");

  CliRun ended = RunCutover({"stop", "d-2"}, WithAdmin(server));
  EXPECT_EQ(ended.exit_code, 1);
  EXPECT_EQ(ended.err,
            "cutover: deployment d-2 has already ended (Succeeded) (FailedPrecondition)\n");
  EXPECT_EQ(ended.out, "");

  EXPECT_EQ(RunCutover({"stop"}, WithAdmin(server)).exit_code, 2);
}

}  // namespace
}  // namespace cutover::cli
