// DeploymentController on the fake clock and the in-memory store: the exact weights of every
// deployment configuration at the exact times, hooks, alarms, stop, promote, stages, one deployment
// per alias, and a controller restarted mid-deployment.
#include "deploy/controller.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <map>

#include "common/clock.h"
#include "fake_runtime.h"
#include "package/package.h"

namespace cutover::deploy {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct Options {
  std::string type = "Linear10PercentEvery1Minute";
  std::string pre_hook;
  std::string post_hook;
  std::vector<std::string> alarms;
  std::vector<config::TrafficStep> steps;
  std::vector<std::string> stages;
  int64_t hook_timeout_seconds = 3600;
  bool ignore_alarms_at_start = false;
  std::vector<config::ResourceSpec> resources;
};

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/controller-test-XXXXXX";
    root_ = mkdtemp(templ);
    store_ = store::CreateMemoryStore();
    Start();
  }
  void TearDown() override { fs::remove_all(root_); }

  // A fresh publisher and controller over the same store: what a restarted daemon builds.
  void Start() {
    controller_.reset();
    PublisherSettings settings{root_ / "data"};
    settings.random_seed = ++seed_;
    publisher_ = std::make_unique<Publisher>(settings, *store_, runtime_, routes_, clock_);
    ASSERT_TRUE(publisher_->Restore().ok());
    ControllerPorts ports;
    ports.alarm = [this](const std::string& name) -> const alarms::AlarmView* {
      auto it = alarms_.find(name);
      return it == alarms_.end() ? nullptr : &it->second;
    };
    ports.invoke_hook = [this](const std::string& fn, const std::string& payload) {
      hook_calls_.emplace_back(fn, json::parse(payload).as_object());
    };
    ports.prewarm = [this](const std::string& fn, uint32_t version, int count) {
      prewarms_.push_back({fn, version, count});
    };
    ports.version_ready = [this](const std::string&, uint32_t) { return nodes_waited_for_; };
    ports.on_events = [this](const Deployment& d,
                             const std::vector<store::DeploymentEventRecord>& events) {
      for (const auto& e : events) announced_.push_back(d.id + ":" + e.type);
    };
    controller_ = std::make_unique<DeploymentController>(*store_, *publisher_, clock_,
                                                         std::move(ports), seed_ + 1000);
  }

  void SetAlarm(const std::string& name, alarms::AlarmState state) {
    alarms::AlarmView& view = alarms_[name];
    view.spec.alarm_name = name;
    view.spec.threshold = 1;
    view.state = state;
    view.reason = state == alarms::AlarmState::kAlarm ? "Threshold Crossed: 1 datapoint [3.0]"
                                                      : "Threshold not crossed";
    view.updated_ms = ToEpochMillis(clock_.Now());
    view.last_range = {{clock_.Now(), 3.0, 3.0}};
  }

  std::string Upload(const std::string& content) {
    fs::path dir = root_ / ("svc-" + std::to_string(uploads_++));
    fs::create_directories(dir);
    { std::ofstream(dir / "bootstrap") << "#!/bin/sh\n# " << content << "\n"; }
    chmod((dir / "bootstrap").c_str(), 0755);
    auto pkg = package::CreatePackage(dir, {});
    EXPECT_TRUE(pkg.ok()) << pkg.status().ToString();
    auto stored = publisher_->PutArtifact(pkg->sha256, pkg->bytes);
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    return pkg->sha256;
  }

  static config::ServiceSpec Spec(const Options& o, const std::string& stage = "dev") {
    config::ServiceSpec spec;
    spec.service = "shop";
    spec.stage = stage;
    spec.api_name = stage + "-shop";
    config::FunctionSpec fn;
    fn.key = "api";
    fn.deployed_name = "shop-" + stage + "-api";
    fn.handler = "bootstrap";
    fn.runtime = "provided.al2";
    fn.events.push_back({config::ApiKind::kRest, "ANY", "/", {}});
    config::DeploymentSettings ds;
    ds.type = o.type;
    ds.alias = "Live";
    ds.pre_traffic_hook = o.pre_hook;
    ds.post_traffic_hook = o.post_hook;
    ds.alarms = o.alarms;
    ds.steps = o.steps;
    ds.stages = o.stages;
    ds.hook_timeout_seconds = o.hook_timeout_seconds;
    ds.ignore_alarms_at_start = o.ignore_alarms_at_start;
    ds.where = {"serverless.yml", 12, 5};
    fn.deployment = ds;
    spec.functions.push_back(fn);
    for (std::string key : {"preHook", "postHook"}) {
      config::FunctionSpec hook;
      hook.key = key;
      hook.deployed_name = "shop-" + stage + "-" + key;
      hook.handler = "bootstrap";
      hook.runtime = "provided.al2";
      spec.functions.push_back(hook);
    }
    spec.resources = o.resources;
    return spec;
  }

  // Publishes a new version of the api function (code `tag`); returns its deployment id ("" when
  // the publish made none).
  std::string Deploy(const std::string& tag, const Options& o = {}) {
    auto report = publisher_->PublishService(Spec(o), Upload(tag));
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    if (!report.ok()) return "";
    for (const auto& f : report->functions) {
      if (f.key == "api") return f.deployment_id;
    }
    return "";
  }

  // The alias as the gateway sees it: "v1" or "v1+v2@0.3".
  std::string Alias() {
    const FunctionState* f = publisher_->FindFunction("shop-dev-api");
    if (f == nullptr || !f->alias) return "none";
    const auto& a = *f->alias;
    if (a.additional_version == 0) return fmt::format("v{}", a.primary_version);
    return fmt::format("v{}+v{}@{:g}", a.primary_version, a.additional_version,
                       std::round(a.additional_weight * 1000) / 1000);
  }

  Deployment Get(const std::string& id) {
    auto d = controller_->Get(id);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Deployment{};
  }

  std::vector<std::string> EventTypes(const std::string& id) {
    auto events = controller_->Events(id, 0);
    EXPECT_TRUE(events.ok());
    std::vector<std::string> out;
    uint64_t seq = 0;
    for (const auto& e : *events) {
      EXPECT_EQ(e.seq, ++seq) << "the event log has a gap";
      out.push_back(e.type);
    }
    return out;
  }

  void AdvanceAndTick(milliseconds d) {
    clock_.Advance(d);
    controller_->Tick();
  }
  // The daemon ticks continuously; a step starts when the tick that takes it runs.
  void RunFor(milliseconds d) {
    for (milliseconds t{0}; t < d; t += seconds(1)) AdvanceAndTick(std::min<milliseconds>(seconds(1), d - t));
  }

  fs::path root_;
  FakeClock clock_;
  FakeRuntime runtime_;
  router::RouteTableSnapshot routes_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<DeploymentController> controller_;
  std::map<std::string, alarms::AlarmView> alarms_;
  std::vector<std::pair<std::string, json::object>> hook_calls_;
  struct Prewarm {
    std::string fn;
    uint32_t version;
    int count;
  };
  std::vector<Prewarm> prewarms_;
  std::optional<std::string> nodes_waited_for_;  // what version_ready answers (nullopt: ready)
  std::vector<std::string> announced_;
  uint64_t seed_ = 0;
  int uploads_ = 0;
};

// ---- The exact weights at the exact times

struct Expected {
  int64_t at_s;   // seconds after the deployment started
  double weight;  // on the new version from then on
};

struct PlanCase {
  std::string name;
  Options options;
  std::vector<Expected> timeline;
};

std::vector<Expected> Linear(int minutes) {
  std::vector<Expected> out;
  for (int k = 1; k <= 9; ++k) out.push_back({(k - 1) * minutes * 60, k / 10.0});
  out.push_back({9 * minutes * 60, 1.0});
  return out;
}

config::ResourceSpec DeploymentConfig(const std::string& id, const std::string& json_text) {
  return {id, "AWS::CodeDeploy::DeploymentConfig", json::parse(json_text).as_object(),
          {"serverless.yml", 40, 5}};
}

Options WithType(const std::string& type) {
  Options o;
  o.type = type;
  return o;
}

std::vector<PlanCase> PlanCases() {
  std::vector<PlanCase> cases = {
      {"Canary10Percent5Minutes", WithType("Canary10Percent5Minutes"), {{0, 0.1}, {300, 1.0}}},
      {"Canary10Percent10Minutes", WithType("CodeDeployDefault.LambdaCanary10Percent10Minutes"),
       {{0, 0.1}, {600, 1.0}}},
      {"Canary10Percent15Minutes", WithType("Canary10Percent15Minutes"), {{0, 0.1}, {900, 1.0}}},
      {"Canary10Percent30Minutes", WithType("Canary10Percent30Minutes"), {{0, 0.1}, {1800, 1.0}}},
      {"Linear10PercentEvery1Minute", WithType("Linear10PercentEvery1Minute"), Linear(1)},
      {"Linear10PercentEvery2Minutes", WithType("CodeDeployDefault.LambdaLinear10PercentEvery2Minutes"),
       Linear(2)},
      {"Linear10PercentEvery3Minutes", WithType("Linear10PercentEvery3Minutes"), Linear(3)},
      {"Linear10PercentEvery10Minutes", WithType("Linear10PercentEvery10Minutes"), Linear(10)},
      {"AllAtOnce", WithType("AllAtOnce"), {{0, 1.0}}},
  };
  Options linear25 = WithType("Quarterly");
  linear25.resources = {DeploymentConfig(
      "Quarterly",
      R"({"ComputePlatform":"Lambda","TrafficRoutingConfig":{"Type":"TimeBasedLinear",
          "TimeBasedLinear":{"LinearPercentage":25,"LinearInterval":2}}})")};
  cases.push_back({"CustomLinear25Every2", linear25, {{0, 0.25}, {120, 0.5}, {240, 0.75}, {360, 1.0}}});
  Options canary = WithType("Canary30For45");
  canary.resources = {DeploymentConfig(
      "Res", R"({"DeploymentConfigName":"Canary30For45","TrafficRoutingConfig":{
          "Type":"TimeBasedCanary","TimeBasedCanary":{"CanaryPercentage":"30","CanaryInterval":45}}})")};
  cases.push_back({"CustomCanary30For45", canary, {{0, 0.3}, {2700, 1.0}}});
  Options steps = WithType("ignored when steps are given");
  steps.steps = {{5, 120}, {50, 60}};
  cases.push_back({"Steps", steps, {{0, 0.05}, {120, 0.5}, {180, 1.0}}});
  return cases;
}

class PlanTableTest : public ControllerTest, public ::testing::WithParamInterface<PlanCase> {};

TEST_P(PlanTableTest, WeightsChangeExactlyAtTheirTimes) {
  const PlanCase& c = GetParam();
  ASSERT_EQ(Deploy("v1", c.options), "");  // the first version creates the alias
  EXPECT_EQ(Alias(), "v1");
  const std::string id = Deploy("v2", c.options);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Alias(), "v1");  // nothing moves before the controller runs
  controller_->Tick();
  const SystemTime start = clock_.Now();
  auto expect_at = [&](int64_t at_ms, double weight) {
    clock_.Set(start + milliseconds(at_ms));
    controller_->Tick();
    const std::string want = weight >= 1.0 ? "v2" : fmt::format("v1+v2@{:g}", weight);
    EXPECT_EQ(Alias(), want) << c.name << " at " << at_ms << " ms";
  };
  for (size_t i = 0; i < c.timeline.size(); ++i) {
    const Expected& e = c.timeline[i];
    if (i > 0) expect_at(e.at_s * 1000 - 1, c.timeline[i - 1].weight);
    expect_at(e.at_s * 1000, e.weight);
  }
  const Deployment d = Get(id);
  EXPECT_EQ(d.status, "Succeeded");
  EXPECT_EQ(d.target_weight, 1.0);
  EXPECT_EQ(EventTypes(id).back(), "DeploymentSucceeded");
}

INSTANTIATE_TEST_SUITE_P(AllConfigs, PlanTableTest, ::testing::ValuesIn(PlanCases()),
                         [](const auto& info) { return info.param.name; });

TEST_F(ControllerTest, FinalStepAtOneHundredIsHeldBeforeSucceeding) {
  Options o;
  o.steps = {{50, 60}, {100, 30}};
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  AdvanceAndTick(seconds(60));
  EXPECT_EQ(Alias(), "v2");
  EXPECT_EQ(Get(id).status, "InProgress");
  AdvanceAndTick(seconds(29));
  EXPECT_EQ(Get(id).status, "InProgress");
  AdvanceAndTick(seconds(1));
  EXPECT_EQ(Get(id).status, "Succeeded");
}

TEST_F(ControllerTest, BadDeploymentConfigFailsThePublishAndPublishesNothing) {
  Deploy("v1");
  Options bad = WithType("Canary200");
  bad.resources = {DeploymentConfig(
      "Canary200", R"({"TrafficRoutingConfig":{"Type":"TimeBasedCanary",
          "TimeBasedCanary":{"CanaryPercentage":100,"CanaryInterval":5}}})")};
  auto report = publisher_->PublishService(Spec(bad), Upload("v2"));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("serverless.yml:40:5"), std::string::npos)
      << report.status().message();
  EXPECT_NE(report.status().message().find("CanaryPercentage"), std::string::npos);
  EXPECT_EQ(publisher_->FindFunction("shop-dev-api")->latest_version(), 1u);

  auto unknown = publisher_->PublishService(Spec(WithType("Linear5PercentEvery1Minute")),
                                            Upload("v3"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("serverless.yml:12:5: unknown deployment type"),
            std::string::npos)
      << unknown.status().message();
  EXPECT_EQ(publisher_->FindFunction("shop-dev-api")->latest_version(), 1u);
}

TEST_F(ControllerTest, TargetIsPrewarmedBeforeEachRiseOfItsWeight) {
  Deploy("v1");
  Deploy("v2");
  controller_->Tick();
  // Started: warmed for 10 %; the first shift warms for the second step's 20 %.
  ASSERT_GE(prewarms_.size(), 2u);
  EXPECT_EQ(prewarms_[0].version, 2u);
  EXPECT_EQ(prewarms_[0].fn, "shop-dev-api");
  const size_t before = prewarms_.size();
  AdvanceAndTick(minutes(1));
  EXPECT_EQ(prewarms_.size(), before + 1);
}

// ---- A fleet: every node loads the target before any weight moves

TEST_F(ControllerTest, NoHookRunsAndNoWeightMovesUntilEveryNodeCanRunTheTarget) {
  Options o;
  o.pre_hook = "preHook";
  o.type = "AllAtOnce";
  Deploy("v1", o);
  nodes_waited_for_ = "node-b (HTTP 404: not loaded yet)";
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  AdvanceAndTick(minutes(1));
  AdvanceAndTick(minutes(1));
  EXPECT_EQ(Alias(), "v1");
  EXPECT_TRUE(hook_calls_.empty());
  EXPECT_EQ(Get(id).status, "InProgress");
  auto events = controller_->Events(id, 0);
  ASSERT_TRUE(events.ok());
  int waiting = 0;
  for (const auto& e : *events) {
    if (e.type != "WaitingForNodes") continue;
    ++waiting;
    EXPECT_NE(e.data.find("node-b"), std::string::npos) << e.data;
  }
  EXPECT_EQ(waiting, 1);  // said once, not every tick

  nodes_waited_for_.reset();
  controller_->Tick();
  ASSERT_EQ(hook_calls_.size(), 1u);
  const std::vector<std::string> types = EventTypes(id);
  EXPECT_NE(std::find(types.begin(), types.end(), "NodesReady"), types.end());
  const std::string exec =
      std::string(hook_calls_[0].second.at("LifecycleEventHookExecutionId").as_string());
  EXPECT_EQ(controller_->ReportHook(id, exec, "Succeeded").error, HookReportError::kNone);
  EXPECT_EQ(Alias(), "v2");
}

TEST_F(ControllerTest, ANodeThatNeverLoadsTheTargetFailsTheDeploymentWithTimeout) {
  Deploy("v1");
  nodes_waited_for_ = "node-c (connection refused)";
  const std::string id = Deploy("v2");
  controller_->Tick();
  RunFor(milliseconds(kNodesReadyTimeoutMs) - seconds(2));
  EXPECT_EQ(Get(id).status, "InProgress");
  RunFor(seconds(3));
  const Deployment d = Get(id);
  EXPECT_EQ(d.status, "Failed");
  EXPECT_EQ(d.error_code, "TIMEOUT");
  EXPECT_NE(d.error_message.find("node-c"), std::string::npos) << d.error_message;
  EXPECT_EQ(Alias(), "v1");
}

// ---- Hooks

TEST_F(ControllerTest, PreTrafficHookGatesTheShiftAndGetsTheDeploymentInItsEvent) {
  Options o;
  o.pre_hook = "preHook";
  o.post_hook = "postHook";
  o.type = "AllAtOnce";
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  ASSERT_EQ(hook_calls_.size(), 1u);
  EXPECT_EQ(hook_calls_[0].first, "shop-dev-preHook");
  const json::object& event = hook_calls_[0].second;
  EXPECT_EQ(event.at("DeploymentId").as_string(), id);
  EXPECT_EQ(event.at("FunctionName").as_string(), "shop-dev-api");
  EXPECT_EQ(event.at("Alias").as_string(), "Live");
  EXPECT_EQ(event.at("CurrentVersion").as_string(), "1");
  EXPECT_EQ(event.at("TargetVersion").as_string(), "2");
  const std::string exec = std::string(event.at("LifecycleEventHookExecutionId").as_string());

  AdvanceAndTick(minutes(30));
  EXPECT_EQ(Alias(), "v1");  // waits for the report
  EXPECT_EQ(hook_calls_.size(), 1u);  // invoked once

  HookReport report = controller_->ReportHook(id, exec, "Succeeded");
  EXPECT_EQ(report.error, HookReportError::kNone) << report.message;
  EXPECT_EQ(Alias(), "v2");  // acted on at once
  ASSERT_EQ(hook_calls_.size(), 2u);
  EXPECT_EQ(hook_calls_[1].first, "shop-dev-postHook");
  EXPECT_EQ(Get(id).status, "InProgress");
  const std::string post_exec =
      std::string(hook_calls_[1].second.at("LifecycleEventHookExecutionId").as_string());
  EXPECT_EQ(controller_->ReportHook(id, post_exec, "Succeeded").error, HookReportError::kNone);
  EXPECT_EQ(Get(id).status, "Succeeded");

  // A second report for the same execution is rejected.
  EXPECT_EQ(controller_->ReportHook(id, exec, "Succeeded").error,
            HookReportError::kAlreadyCompleted);
}

TEST_F(ControllerTest, HookReportsAreValidatedLikeCodeDeploy) {
  Options o;
  o.pre_hook = "preHook";
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  ASSERT_EQ(hook_calls_.size(), 1u);
  const std::string exec =
      std::string(hook_calls_[0].second.at("LifecycleEventHookExecutionId").as_string());
  EXPECT_EQ(controller_->ReportHook("", exec, "Succeeded").error,
            HookReportError::kDeploymentIdRequired);
  EXPECT_EQ(controller_->ReportHook("nonsense", exec, "Succeeded").error,
            HookReportError::kInvalidDeploymentId);
  EXPECT_EQ(controller_->ReportHook("d-AAAAAAAAA", exec, "Succeeded").error,
            HookReportError::kDeploymentDoesNotExist);
  EXPECT_EQ(controller_->ReportHook(id, "not-an-execution", "Succeeded").error,
            HookReportError::kInvalidExecutionId);
  EXPECT_EQ(controller_->ReportHook(id, exec, "Skipped").error, HookReportError::kInvalidStatus);
  EXPECT_EQ(Get(id).status, "InProgress");
}

TEST_F(ControllerTest, FailedHookFailsAndRollsBack) {
  Options o;
  o.pre_hook = "preHook";
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  const std::string exec =
      std::string(hook_calls_.at(0).second.at("LifecycleEventHookExecutionId").as_string());
  EXPECT_EQ(controller_->ReportHook(id, exec, "Failed").error, HookReportError::kNone);
  const Deployment d = Get(id);
  EXPECT_EQ(d.status, "Failed");
  EXPECT_EQ(d.error_code, "HOOK_EXECUTION_FAILURE");
  ASSERT_FALSE(d.rollback_deployment_id.empty());
  const Deployment r = Get(d.rollback_deployment_id);
  EXPECT_EQ(r.creator, "codeDeployRollback");
  EXPECT_EQ(r.status, "Succeeded");
  EXPECT_EQ(r.rollback_triggering_deployment_id, id);
  EXPECT_EQ(Alias(), "v1");
}

TEST_F(ControllerTest, SilentHookTimesOutAtItsDeadline) {
  Options o;
  o.post_hook = "postHook";
  o.type = "AllAtOnce";
  o.hook_timeout_seconds = 10;
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  EXPECT_EQ(Alias(), "v2");  // all at once, then AfterAllowTraffic waits for the hook
  AdvanceAndTick(milliseconds(9'999));
  EXPECT_EQ(Get(id).status, "InProgress");
  AdvanceAndTick(milliseconds(1));
  const Deployment d = Get(id);
  EXPECT_EQ(d.status, "Failed");
  EXPECT_NE(d.error_message.find("did not report"), std::string::npos) << d.error_message;
  EXPECT_EQ(Alias(), "v1");
}

// ---- Alarms

TEST_F(ControllerTest, AlarmAlreadyInAlarmAtStartRollsBackAtOnce) {
  Options o;
  o.alarms = {"errors"};
  SetAlarm("errors", alarms::AlarmState::kAlarm);
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  const Deployment d = Get(id);
  EXPECT_EQ(d.status, "Stopped");
  EXPECT_EQ(d.error_code, "ALARM_ACTIVE");
  EXPECT_EQ(Alias(), "v1");
  EXPECT_EQ(EventTypes(id), (std::vector<std::string>{"DeploymentCreated", "DeploymentStarted",
                                                       "LifecycleEvent", "DeploymentStopped",
                                                       "RolledBack"}));
}

TEST_F(ControllerTest, IgnoreAlarmsAtStartWatchesTheAlarmOnceItClears) {
  Options o;
  o.alarms = {"errors"};
  o.ignore_alarms_at_start = true;
  SetAlarm("errors", alarms::AlarmState::kAlarm);
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  EXPECT_EQ(Get(id).status, "InProgress");
  EXPECT_EQ(Alias(), "v1+v2@0.1");
  SetAlarm("errors", alarms::AlarmState::kOk);
  AdvanceAndTick(seconds(1));
  SetAlarm("errors", alarms::AlarmState::kAlarm);
  AdvanceAndTick(seconds(1));
  EXPECT_EQ(Get(id).status, "Stopped");
  EXPECT_EQ(Alias(), "v1");
}

TEST_F(ControllerTest, AlarmFiringMidShiftRollsBackWithinOneTickWithItsEvidence) {
  Options o;
  o.alarms = {"errors"};
  SetAlarm("errors", alarms::AlarmState::kOk);
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  RunFor(minutes(3));
  EXPECT_EQ(Alias(), "v1+v2@0.4");
  SetAlarm("errors", alarms::AlarmState::kAlarm);
  controller_->Tick();
  EXPECT_EQ(Alias(), "v1");
  const Deployment d = Get(id);
  EXPECT_EQ(d.status, "Stopped");
  EXPECT_EQ(d.error_code, "ALARM_ACTIVE");
  EXPECT_NE(d.error_message.find("errors"), std::string::npos);
  auto events = controller_->Events(id, 0);
  ASSERT_TRUE(events.ok());
  const auto& stopped = (*events)[events->size() - 2];
  ASSERT_EQ(stopped.type, "DeploymentStopped");
  json::object data = json::parse(stopped.data).as_object();
  const json::object& alarm = data.at("evidence").as_array().at(0).as_object();
  EXPECT_EQ(alarm.at("state").as_string(), "ALARM");
  EXPECT_EQ(alarm.at("datapoints").as_array().size(), 1u);
  EXPECT_EQ(data.at("weights").as_object().at("targetWeight").as_double(), 0.4);
  // The rollback is its own deployment, announced after the commit.
  EXPECT_EQ(Get(d.rollback_deployment_id).creator, "codeDeployRollback");
  EXPECT_NE(std::find(announced_.begin(), announced_.end(),
                      d.rollback_deployment_id + ":RollbackCreated"),
            announced_.end());
}

// ---- Manual control

TEST_F(ControllerTest, StopWithRollbackReturnsTheAliasToTheOldVersion) {
  Deploy("v1");
  const std::string id = Deploy("v2");
  controller_->Tick();
  AdvanceAndTick(minutes(2));
  auto stopped = controller_->Stop(id, /*rollback=*/true);
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(stopped->status, "Stopped");
  EXPECT_EQ(stopped->error_code, "MANUAL_STOP");
  EXPECT_EQ(Alias(), "v1");
  EXPECT_EQ(controller_->Stop(id, true).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ControllerTest, StopWithoutRollbackKeepsTheSplitAndTheNextDeploymentStartsFromIt) {
  Deploy("v1");
  const std::string id = Deploy("v2");
  controller_->Tick();
  RunFor(minutes(2));
  ASSERT_TRUE(controller_->Stop(id, /*rollback=*/false).ok());
  EXPECT_EQ(Alias(), "v1+v2@0.3");
  AdvanceAndTick(minutes(5));
  EXPECT_EQ(Alias(), "v1+v2@0.3");  // a stopped deployment moves nothing
  const std::string next = Deploy("v3");
  ASSERT_FALSE(next.empty());
  controller_->Tick();
  EXPECT_EQ(Get(next).current_version, 1u);
  EXPECT_EQ(Alias(), "v1+v3@0.1");
}

TEST_F(ControllerTest, PromoteSkipsTheWaitsButStillRunsThePostTrafficHook) {
  Options o;
  o.post_hook = "postHook";
  Deploy("v1", o);
  const std::string id = Deploy("v2", o);
  controller_->Tick();
  EXPECT_EQ(Alias(), "v1+v2@0.1");
  auto promoted = controller_->Promote(id);
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(Alias(), "v2");
  EXPECT_EQ(promoted->status, "InProgress");
  EXPECT_EQ(promoted->phase, Phase::kAfterAllowTraffic);
  ASSERT_EQ(hook_calls_.size(), 1u);
  EXPECT_EQ(hook_calls_[0].first, "shop-dev-postHook");
}

// ---- Rules

TEST_F(ControllerTest, StagesNotListedMoveTheAliasAtOnce) {
  Options o;
  o.stages = {"prod"};
  Deploy("v1", o);
  EXPECT_EQ(Deploy("v2", o), "");
  EXPECT_EQ(Alias(), "v2");
}

TEST_F(ControllerTest, OneActiveDeploymentPerAliasAndTheRefusalNamesIt) {
  Deploy("v1");
  const std::string id = Deploy("v2");
  controller_->Tick();
  auto second = publisher_->PublishService(Spec({}), Upload("v3"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(id), std::string::npos);
  EXPECT_NE(second.status().message().find("cutover stop"), std::string::npos);
  EXPECT_EQ(publisher_->FindFunction("shop-dev-api")->latest_version(), 2u);
  // Setting the weights by hand is refused too.
  EXPECT_EQ(publisher_->SetAlias("shop-dev-api", "Live", 1, 0, 0).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(ControllerTest, DeploymentOfAFunctionRedeployedWithoutSettingsFails) {
  Deploy("v1");
  const std::string id = Deploy("v2");
  controller_->Tick();
  config::ServiceSpec spec = Spec({});
  spec.functions[0].deployment.reset();  // no deploymentSettings: no alias
  ASSERT_TRUE(publisher_->PublishService(spec, Upload("v2")).ok());
  controller_->Tick();
  const Deployment d = Get(id);
  EXPECT_EQ(d.status, "Failed");
  EXPECT_EQ(d.error_code, "INVALID_LAMBDA_CONFIGURATION");
  controller_->Tick();  // and it stays that way, without errors
  EXPECT_EQ(EventTypes(id).back(), "DeploymentFailed");
}

TEST_F(ControllerTest, RestartedControllerContinuesWithTheRemainingWait) {
  Deploy("v1");
  const std::string id = Deploy("v2");
  controller_->Tick();
  RunFor(seconds(90));  // 20 % since 60 s
  EXPECT_EQ(Alias(), "v1+v2@0.2");
  Start();  // a new daemon over the same store
  EXPECT_EQ(Alias(), "v1+v2@0.2");
  AdvanceAndTick(seconds(29));
  EXPECT_EQ(Alias(), "v1+v2@0.2");
  AdvanceAndTick(seconds(1));  // 60 s after the 20 % step began, not 60 s after the restart
  EXPECT_EQ(Alias(), "v1+v2@0.3");
  EventTypes(id);  // no gap
}

}  // namespace
}  // namespace cutover::deploy
