// Deployments and events as text (no terminal, no colour), and `deploy --wait`'s exit-code rule.

#include "cli/deployment_view.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

namespace cutover::cli {
namespace {

namespace json = boost::json;

json::object Parse(const std::string& text) { return json::parse(text).as_object(); }

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

const Style kPlain(false);

// 2023-11-14 22:13:20 UTC.
constexpr int64_t kT0 = 1'700'000'000'000;

// A Linear10PercentEvery1Minute deployment of version 3 over 2, at step 3 (30 %).
json::object Running() {
  return Parse(R"({
    "deploymentId": "d-ABCDEFGH1", "status": "InProgress", "creator": "user",
    "service": "demo", "stage": "dev",
    "createTime": 1700000000000, "updateTime": 1700000125000, "completeTime": null,
    "deploymentConfigName": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "lambdaTarget": {"functionName": "demo-dev-website", "functionAlias": "Live",
                     "currentVersion": "2", "targetVersion": "3", "targetVersionWeight": 0.3},
    "lifecycleEvents": [{"lifecycleEventName": "Start", "status": "Succeeded"},
                        {"lifecycleEventName": "BeforeAllowTraffic", "status": "Succeeded"},
                        {"lifecycleEventName": "AllowTraffic", "status": "InProgress"},
                        {"lifecycleEventName": "AfterAllowTraffic", "status": "Pending"},
                        {"lifecycleEventName": "End", "status": "Pending"}],
    "phase": "AllowTraffic",
    "plan": {"config_name": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
             "type": "TimeBasedLinear",
             "steps": [{"weight": 0.1, "hold_ms": 60000}, {"weight": 0.2, "hold_ms": 60000},
                       {"weight": 0.3, "hold_ms": 60000}, {"weight": 0.4, "hold_ms": 60000},
                       {"weight": 0.5, "hold_ms": 60000}, {"weight": 0.6, "hold_ms": 60000},
                       {"weight": 0.7, "hold_ms": 60000}, {"weight": 0.8, "hold_ms": 60000},
                       {"weight": 0.9, "hold_ms": 60000}],
             "final_hold_ms": 0},
    "step": 2, "stepStartedTime": 1700000120000, "trafficStartedTime": 1700000000000,
    "alarms": ["ApiGateway5XXErrorAlarm"], "promoteRequested": false})");
}

json::object Alarm(const std::string& state, int64_t changed) {
  json::object alarm = Parse(R"({"name": "ApiGateway5XXErrorAlarm", "reason": "Threshold Crossed",
      "threshold": 1, "comparison": "GreaterThanThreshold",
      "datapoints": [{"timestamp": 1700000100000, "value": 0},
                     {"timestamp": 1700000110000, "value": null},
                     {"timestamp": 1700000120000, "value": 7}]})");
  alarm["state"] = state;
  alarm["stateChangeTime"] = changed;
  return alarm;
}

json::object Event(int64_t seq, int64_t time, const std::string& type, json::object data) {
  return json::object{{"seq", seq}, {"time", time}, {"type", type}, {"data", std::move(data)}};
}

json::object Weights(double target) {
  return json::object{{"currentVersion", 2},
                      {"currentWeight", 1 - target},
                      {"targetVersion", 3},
                      {"targetWeight", target}};
}

// The same deployment stopped by its alarm 125.0 s in, and rolled back 180 ms after the alarm
// went into ALARM.
json::object RolledBackDeployment() {
  json::object d = Running();
  d["status"] = "Stopped";
  d["completeTime"] = kT0 + 125'000;
  d["lambdaTarget"].as_object()["targetVersionWeight"] = 0;
  d["errorInformation"] = Parse(
      R"({"code": "ALARM_ACTIVE", "message": "alarm ApiGateway5XXErrorAlarm went into ALARM"})");
  d["rollbackInfo"] = Parse(R"({"rollbackDeploymentId": "d-ROLLBACK1", "rollbackMessage": "x"})");
  return d;
}

std::vector<json::object> RollbackEvents() {
  json::array alarms{Alarm("ALARM", kT0 + 124'820)};
  return {
      Event(1, kT0, "DeploymentStarted", Parse(R"({"currentVersion": 2, "targetVersion": 3,
                      "deploymentConfigName": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"})")),
      Event(2, kT0 + 120'000, "TrafficShifted",
            json::object{{"step", 2},
                         {"steps", 9},
                         {"weights", Weights(0.3)},
                         {"alarms", json::array{Alarm("OK", kT0)}},
                         {"nextShiftTime", kT0 + 180'000}}),
      Event(3, kT0 + 125'000, "DeploymentStopped",
            json::object{{"errorCode", "ALARM_ACTIVE"},
                         {"message", "alarm ApiGateway5XXErrorAlarm went into ALARM"},
                         {"phase", "AllowTraffic"},
                         {"weights", Weights(0.3)},
                         {"evidence", alarms},
                         {"rollback", true}}),
      Event(4, kT0 + 125'000, "RolledBack",
            json::object{{"rollbackDeploymentId", "d-ROLLBACK1"},
                         {"targetWeightAtStop", 0.3},
                         {"weights", Weights(0)}}),
  };
}

TEST(DeploymentViewTest, Durations) {
  EXPECT_EQ(FormatDuration(180), "180 ms");
  EXPECT_EQ(FormatDuration(3200), "3.2 s");
  EXPECT_EQ(FormatDuration(245'000), "4m 05s");
  EXPECT_EQ(FormatDuration(3'720'000), "1h 02m");
  EXPECT_EQ(FormatDuration(-5), "0 ms");
  EXPECT_EQ(FormatTimeOfDay(kT0 + 125'042, true), "22:15:25.042");
  EXPECT_EQ(FormatTimeOfDay(kT0 + 125'042), "22:15:25");
  EXPECT_EQ(FormatDateTime(kT0), "2023-11-14 22:13:20");
  EXPECT_EQ(FormatDateTime(0, "never"), "never");
}

TEST(DeploymentViewTest, WeightsStepsAndAlarms) {
  EXPECT_EQ(WeightsText("Live", Weights(0.3)), "Live → 2 (70%) + 3 (30%)");
  EXPECT_EQ(WeightsText("Live", Weights(1)), "Live → 3");
  EXPECT_EQ(WeightsText("Live", Weights(0)), "Live → 2");
  EXPECT_EQ(StepText(2, 9), "step 3/9");
  EXPECT_EQ(StepText(9, 9), "100%");
  EXPECT_EQ(AlarmText(Alarm("ALARM", kT0)), "ApiGateway5XXErrorAlarm ALARM [0, -, 7] > 1");
  EXPECT_EQ(ShortConfigName("CodeDeployDefault.LambdaCanary10Percent5Minutes"),
            "Canary10Percent5Minutes");
  EXPECT_EQ(ShortConfigName("MyConfig"), "MyConfig");
}

TEST(DeploymentViewTest, OneLinePerEvent) {
  std::vector<json::object> events = RollbackEvents();
  EXPECT_EQ(EventLine(events[0], "Live", kPlain),
            "22:13:20 DeploymentStarted 2 → 3 with Linear10PercentEvery1Minute");
  EXPECT_EQ(EventLine(events[1], "Live", kPlain),
            "22:15:20 TrafficShifted step 3/9: Live → 2 (70%) + 3 (30%); alarms OK; next shift "
            "22:16:20");
  EXPECT_EQ(EventLine(events[2], "Live", kPlain),
            "22:15:25 DeploymentStopped ALARM_ACTIVE: alarm ApiGateway5XXErrorAlarm went into "
            "ALARM; rolling back");
  EXPECT_EQ(EventLine(events[3], "Live", kPlain),
            "22:15:25 RolledBack Live → 2 (the target had 30%); rollback deployment d-ROLLBACK1");
  EXPECT_EQ(EventLine(Event(5, kT0, "LifecycleEvent",
                            Parse(R"({"name": "BeforeAllowTraffic", "status": "Skipped"})")),
                      "Live", kPlain),
            "22:13:20 LifecycleEvent BeforeAllowTraffic Skipped");
  EXPECT_EQ(EventLine(Event(6, kT0, "HookReported",
                            Parse(R"({"phase": "AfterAllowTraffic", "function": "demo-dev-check",
                                      "status": "Succeeded", "afterMs": 1500})")),
                      "Live", kPlain),
            "22:13:20 HookReported AfterAllowTraffic hook demo-dev-check reported Succeeded after "
            "1.5 s");
  // A type this CLI does not know still prints, with its data.
  EXPECT_EQ(EventLine(Event(7, kT0, "Something", Parse(R"({"a": 1})")), "Live", kPlain),
            R"(22:13:20 Something {"a":1})");
}

TEST(DeploymentViewTest, DecisionsCarryTheirEvidence) {
  std::vector<json::object> events = RollbackEvents();
  EXPECT_EQ(Joined(EventEvidenceLines(events[1], "Live")),
            "    alarm ApiGateway5XXErrorAlarm OK [0, -, 7] > 1\n");
  EXPECT_EQ(Joined(EventEvidenceLines(events[2], "Live")),
            "    alarm ApiGateway5XXErrorAlarm ALARM [0, -, 7] > 1\n"
            "      Threshold Crossed\n"
            "      in ALARM since 22:15:24.820\n");
  EXPECT_TRUE(EventEvidenceLines(events[3], "Live").empty());
  json::object hook = Event(9, kT0, "DeploymentFailed",
                            Parse(R"({"errorCode": "HOOK_EXECUTION_FAILURE", "message": "m",
                                      "evidence": {"hook": "demo-dev-pre", "executionId": "e-1",
                                                   "timedOut": true}, "rollback": true})"));
  EXPECT_EQ(Joined(EventEvidenceLines(hook, "Live")),
            "    hook demo-dev-pre did not report in time (execution e-1)\n");
}

TEST(DeploymentViewTest, ARollbackSaysWhichAlarmFiredAndHowLongTheFlipTook) {
  EXPECT_EQ(Joined(OutcomeLines(RolledBackDeployment(), RollbackEvents(), kPlain)),
            "Stopped (ALARM_ACTIVE): alarm ApiGateway5XXErrorAlarm went into ALARM\n"
            "  alarm ApiGateway5XXErrorAlarm ALARM [0, -, 7] > 1\n"
            "  in ALARM since 22:15:24.820\n"
            "  rolled back at 22:15:25.000: Live → 2 (the target had 30%)\n"
            "  alarm to alias flip: 180 ms\n");
  // Under --time-scale the real time is added.
  const std::string scaled =
      Joined(OutcomeLines(RolledBackDeployment(), RollbackEvents(), kPlain, 60));
  EXPECT_NE(scaled.find("alarm to alias flip: 180 ms on the daemon's clock (3 ms at --time-scale "
                        "60)"),
            std::string::npos)
      << scaled;
}

TEST(DeploymentViewTest, SuccessAndStopWithoutRollback) {
  json::object done = Running();
  done["status"] = "Succeeded";
  done["completeTime"] = kT0 + 545'000;
  done["lambdaTarget"].as_object()["targetVersionWeight"] = 1;
  EXPECT_EQ(Joined(OutcomeLines(done, {}, kPlain)), "Succeeded in 9m 05s: Live → 3\n");

  json::object stopped = Running();
  stopped["status"] = "Stopped";
  stopped["errorInformation"] = Parse(R"({"code": "MANUAL_STOP", "message": "stopped by a user"})");
  std::vector<json::object> events = {
      Event(3, kT0, "DeploymentStopped",
            json::object{{"errorCode", "MANUAL_STOP"},
                         {"message", "stopped by a user"},
                         {"weights", Weights(0.3)},
                         {"evidence", json::object{{"weightsAtStop", Weights(0.3)}}},
                         {"rollback", false}})};
  EXPECT_EQ(Joined(OutcomeLines(stopped, events, kPlain)),
            "Stopped (MANUAL_STOP): stopped by a user\n"
            "  not rolled back: Live → 2 (70%) + 3 (30%) stays; the next deployment starts from "
            "it\n");
  EXPECT_TRUE(OutcomeLines(Running(), {}, kPlain).empty());
}

TEST(DeploymentViewTest, ExitCodeIsZeroOnlyWhenEverythingSucceeded) {
  json::object ok = Running();
  ok["status"] = "Succeeded";
  EXPECT_EQ(WaitExitCode({}), 0);
  EXPECT_EQ(WaitExitCode({ok, ok}), 0);
  EXPECT_EQ(WaitExitCode({ok, RolledBackDeployment()}), 1);
  EXPECT_EQ(WaitExitCode({Running()}), 1);
  json::object failed = Running();
  failed["status"] = "Failed";
  EXPECT_EQ(WaitExitCode({failed}), 1);
  // A success that reports a rollback is not one.
  json::object odd = ok;
  odd["rollbackInfo"] = Parse(R"({"rollbackDeploymentId": "d-X"})");
  EXPECT_EQ(WaitExitCode({odd}), 1);
}

TEST(DeploymentViewTest, TheList) {
  json::object rollback = Parse(R"({"deploymentId": "d-ROLLBACK1", "status": "Succeeded",
      "creator": "codeDeployRollback", "createTime": 1700000125000,
      "deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce",
      "lambdaTarget": {"functionName": "demo-dev-website", "functionAlias": "Live",
                       "currentVersion": "3", "targetVersion": "2", "targetVersionWeight": 1}})");
  std::ostringstream out;
  DeploymentTable({rollback, RolledBackDeployment(), Running()}).Print(out, kPlain);
  EXPECT_EQ(out.str(),
            "DEPLOYMENT   FUNCTION               VERSIONS  CONFIG                       STATUS    "
            "            CREATED              WEIGHT\n"
            "d-ROLLBACK1  demo-dev-website:Live  3 → 2     AllAtOnce                    Succeeded "
            "(rollback)  2023-11-14 22:15:25  100%\n"
            "d-ABCDEFGH1  demo-dev-website:Live  2 → 3     Linear10PercentEvery1Minute  Stopped, "
            "rolled back  2023-11-14 22:13:20  0%\n"
            "d-ABCDEFGH1  demo-dev-website:Live  2 → 3     Linear10PercentEvery1Minute  InProgress"
            "            2023-11-14 22:13:20  30% (step 3/9)\n");
}

TEST(DeploymentViewTest, TheDetailHead) {
  const std::string text = Joined(DeploymentDetailLines(RolledBackDeployment(), kPlain));
  EXPECT_NE(text.find("Deployment d-ABCDEFGH1  Stopped\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  function   demo-dev-website, alias Live (service demo, stage dev)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  versions   2 → 3, now Live → 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("TimeBasedLinear, 9 steps: 10% for 1m 00s, 20% for 1m 00s, …, 90% for 1m "
                      "00s"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  error      ALARM_ACTIVE: alarm ApiGateway5XXErrorAlarm went into ALARM\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  rollback   rolled back by d-ROLLBACK1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ended 22:15:25 after 2m 05s"), std::string::npos) << text;
}

TEST(DeploymentViewTest, TheLiveView) {
  LiveStats stats;
  stats.versions["2"] = VersionStats{12.34, 0.0, 35.2};
  stats.versions["3"] = VersionStats{5.0, 0.5, std::nullopt};
  stats.api_5xx_per_second = 1.5;
  stats.alarms["ApiGateway5XXErrorAlarm"] = Alarm("OK", kT0);
  // 42 s before the next step (due at 22:16:20), on a daemon clock running 60 times fast.
  const std::vector<std::string> lines =
      LiveViewLines(Running(), {}, stats, kT0 + 180'000 - 42'000, 60, kPlain);
  const std::string text = Joined(lines);
  EXPECT_EQ(lines[0],
            "d-ABCDEFGH1  demo-dev-website:Live  2 → 3  Linear10PercentEvery1Minute  "
            "InProgress");
  EXPECT_EQ(lines[1],
            "  step 3/9  2 70% ░░░░░░░░░░░░░░░░░░░░░█████████ 30% 3   next step in "
            "700 ms");
  EXPECT_NE(text.find("  VERSION      WEIGHT  REQ/S  ERRORS/S  P99\n"
                      "  2 (current)  70%     12.3   0.0       35 ms\n"
                      "  3 (target)   30%     5.0    0.5       -\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  API 5XX/s 1.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  alarm ApiGateway5XXErrorAlarm OK [0, -, 7] > 1\n"), std::string::npos)
      << text;
}

TEST(DeploymentViewTest, TheLiveViewWithoutStatsFallsBackToTheLastDecision) {
  std::vector<json::object> events = RollbackEvents();
  events.resize(2);  // up to the TrafficShifted, whose alarm evidence says OK
  const std::string text =
      Joined(LiveViewLines(Running(), events, LiveStats{}, kT0 + 130'000, 1, kPlain));
  EXPECT_NE(text.find("next step in 50.0 s"), std::string::npos) << text;
  EXPECT_NE(text.find("  2 (current)  70%     -      -         -\n"), std::string::npos) << text;
  EXPECT_NE(text.find("alarm ApiGateway5XXErrorAlarm OK"), std::string::npos) << text;
}

TEST(DeploymentViewTest, TheLiveViewOfAnEndedDeploymentIsItsOutcome) {
  const std::string text =
      Joined(LiveViewLines(RolledBackDeployment(), RollbackEvents(), LiveStats{}, kT0, 1, kPlain));
  EXPECT_NE(text.find("  Stopped (ALARM_ACTIVE)"), std::string::npos) << text;
  EXPECT_NE(text.find("    alarm to alias flip: 180 ms"), std::string::npos) << text;
}

}  // namespace
}  // namespace cutover::cli
