// One deployment, d-1 (Live: 2 → 3), as the admin API shows it, for the CLI tests that follow or
// list deployments: five events, and either a rollback (started, lifecycle, shifted, stopped,
// rolled back) or a success (started, lifecycle, shifted, lifecycle, succeeded). The deployment has
// ended once event 4 is in.
#pragma once

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "fake_admin_server.h"

namespace cutover::cli::testing {

enum class Outcome { kRolledBack, kSucceeded };

inline constexpr int64_t kDeploymentT0 = 1'700'000'000'000;

// D: "InProgress" at `weight`, or how it ended.
inline boost::json::object Deployment(const std::string& status, double weight) {
  boost::json::object d = boost::json::parse(R"({"deploymentId": "d-1", "creator": "user",
      "service": "demo", "stage": "dev", "createTime": 1700000000000,
      "deploymentConfigName": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
      "lambdaTarget": {"functionName": "demo-dev-website", "functionAlias": "Live",
                       "currentVersion": "2", "targetVersion": "3"},
      "phase": "AllowTraffic", "step": 0,
      "plan": {"type": "TimeBasedLinear", "steps": [{"weight": 0.1, "hold_ms": 60000}]},
      "alarms": []})")
                              .as_object();
  d["status"] = status;
  d["lambdaTarget"].as_object()["targetVersionWeight"] = weight;
  if (status != "InProgress") d["completeTime"] = kDeploymentT0 + 5000;
  if (status == "Stopped") {
    d["errorInformation"] =
        boost::json::object{{"code", "ALARM_ACTIVE"}, {"message", "alarm A fired"}};
    d["rollbackInfo"] = boost::json::object{{"rollbackDeploymentId", "d-2"}};
  }
  return d;
}

inline boost::json::object DeploymentAfter(int64_t seq, Outcome outcome) {
  if (seq < 4) return Deployment("InProgress", 0.1);
  return outcome == Outcome::kRolledBack ? Deployment("Stopped", 0) : Deployment("Succeeded", 1);
}

inline boost::json::object Weights(double target) {
  return boost::json::object{{"currentVersion", 2},
                             {"currentWeight", 1 - target},
                             {"targetVersion", 3},
                             {"targetWeight", target}};
}

// E number `seq` (1..5), one second apart. Alarm A goes into ALARM 1.2 s before the rollback.
inline boost::json::object EventNumber(int64_t seq, Outcome outcome = Outcome::kRolledBack) {
  namespace json = boost::json;
  const bool rolled_back = outcome == Outcome::kRolledBack;
  const int64_t time = kDeploymentT0 + seq * 1000;
  std::string type;
  json::object data;
  switch (seq) {
    case 1:
      type = "DeploymentStarted";
      data = {{"currentVersion", 2},
              {"targetVersion", 3},
              {"deploymentConfigName", "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"}};
      break;
    case 2:
      type = "LifecycleEvent";
      data = {{"name", "BeforeAllowTraffic"}, {"status", "Skipped"}};
      break;
    case 3:
      type = "TrafficShifted";
      data = {{"step", 0}, {"steps", 1}, {"weights", Weights(0.1)}, {"alarms", json::array{}}};
      break;
    case 4:
      type = rolled_back ? "DeploymentStopped" : "LifecycleEvent";
      if (rolled_back) {
        json::object alarm{
            {"name", "A"},
            {"state", "ALARM"},
            {"threshold", 1},
            {"comparison", "GreaterThanThreshold"},
            {"stateChangeTime", kDeploymentT0 + 3800},
            {"datapoints", json::array{json::object{{"timestamp", time - 1000}, {"value", 5}}}}};
        data = {{"errorCode", "ALARM_ACTIVE"},
                {"message", "alarm A fired"},
                {"weights", Weights(0.1)},
                {"evidence", json::array{alarm}},
                {"rollback", true}};
      } else {
        data = {{"name", "AllowTraffic"}, {"status", "Succeeded"}};
      }
      break;
    default:
      type = rolled_back ? "RolledBack" : "DeploymentSucceeded";
      data = rolled_back ? json::object{{"rollbackDeploymentId", "d-2"},
                                        {"targetWeightAtStop", 0.1},
                                        {"weights", Weights(0)}}
                         : json::object{{"weights", Weights(1)}, {"durationMs", 5000}};
      break;
  }
  return json::object{{"seq", seq}, {"time", time}, {"type", type}, {"data", std::move(data)}};
}

// GET /v1/deployments/d-1 with events 1..last.
inline std::string Snapshot(int64_t last, Outcome outcome = Outcome::kRolledBack) {
  boost::json::array events;
  for (int64_t seq = 1; seq <= last; ++seq) events.push_back(EventNumber(seq, outcome));
  return boost::json::serialize(boost::json::object{{"deployment", DeploymentAfter(last, outcome)},
                                                    {"events", std::move(events)}});
}

// The /v1/events messages of events `seqs`, with SSE ids 100 + seq.
inline std::string Sse(const std::vector<int64_t>& seqs, Outcome outcome = Outcome::kRolledBack) {
  std::string body = ": keep-alive\n\n";
  for (int64_t seq : seqs) {
    boost::json::object message = EventNumber(seq, outcome);
    message["deploymentId"] = "d-1";
    message["deployment"] = DeploymentAfter(seq, outcome);
    body += fmt::format("id: {}\nevent: deployment\ndata: {}\n\n", 100 + seq,
                        boost::json::serialize(message));
  }
  return body;
}

inline FakeResponse Stream(std::string body) {
  FakeResponse response;
  response.headers.emplace_back("Content-Type", "text/event-stream");
  response.body = std::move(body);
  return response;
}

}  // namespace cutover::cli::testing
