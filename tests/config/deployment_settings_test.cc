// deploymentSettings: the plugin's keys, the custom.deploymentSettings merge rule, cutover's steps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/spec_parser.h"
#include "test_util.h"

namespace cutover::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Options;
using testing::ParseError;
using testing::ParseOk;
using ::testing::StartsWith;

// Lines 1-16: a service with functions web, preHook, postHook and an alarm resource. Append the
// `web` function's deploymentSettings (indented 4) and optionally a custom block after it.
std::string Service(const std::string& web_settings, const std::string& custom = "") {
  return R"(service: demo
plugins:
  - serverless-plugin-canary-deployments
provider:
  name: aws
  runtime: nodejs20.x
resources:
  Resources:
    ErrorsAlarm:
      Type: AWS::CloudWatch::Alarm
functions:
  preHook:
    handler: hooks.pre
  postHook:
    handler: hooks.post
  web:
    handler: web.handler
)" + web_settings +
         custom;
}

TEST(DeploymentSettingsTest, ReadsThePluginKeys) {
  ServiceSpec spec = ParseOk(Service(R"(    deploymentSettings:
      type: Canary10Percent5Minutes
      alias: Live
      preTrafficHook: preHook
      postTrafficHook: postHook
      alarms:
        - ErrorsAlarm
        - name: existing-alarm-name
      triggerConfigurations:
        - TriggerName: notify
          TriggerEvents: [DeploymentFailure]
)"));
  const FunctionSpec* web = FindFunction(spec, "web");
  ASSERT_TRUE(web->deployment.has_value());
  const DeploymentSettings& settings = *web->deployment;
  EXPECT_EQ(settings.type, "Canary10Percent5Minutes");
  EXPECT_EQ(settings.alias, "Live");
  EXPECT_EQ(settings.pre_traffic_hook, "preHook");
  EXPECT_EQ(settings.post_traffic_hook, "postHook");
  EXPECT_THAT(settings.alarms, ElementsAre("ErrorsAlarm", "existing-alarm-name"));
  EXPECT_EQ(settings.trigger_configurations.as_array()[0].at("TriggerName").as_string(), "notify");
  EXPECT_EQ(settings.where.line, 18);
  EXPECT_EQ(settings.where.column, 5);
  EXPECT_FALSE(FindFunction(spec, "preHook")->deployment.has_value());
  EXPECT_TRUE(spec.notices.empty());
}

TEST(DeploymentSettingsTest, FunctionKeysWinOverCustomDefaults) {
  ServiceSpec spec = ParseOk(Service(R"(    deploymentSettings:
      type: AllAtOnce
      alarms:
        - ErrorsAlarm
)",
                                     R"(custom:
  deploymentSettings:
    type: Linear10PercentEvery1Minute
    alias: Live
    preTrafficHook: preHook
    alarms:
      - name: replaced-by-the-function
    stages:
      - prod
      - dev
)"));
  const DeploymentSettings& settings = *FindFunction(spec, "web")->deployment;
  EXPECT_EQ(settings.type, "AllAtOnce");                     // the function's
  EXPECT_EQ(settings.alias, "Live");                         // the default
  EXPECT_EQ(settings.pre_traffic_hook, "preHook");           // the default
  EXPECT_THAT(settings.alarms, ElementsAre("ErrorsAlarm"));  // replaced as a whole
  EXPECT_THAT(settings.stages, ElementsAre("prod", "dev"));
}

TEST(DeploymentSettingsTest, DefaultsApplyOnlyToFunctionsWithDeploymentSettings) {
  ServiceSpec spec = ParseOk(Service("    deploymentSettings:\n",
                                     R"(custom:
  deploymentSettings:
    type: Linear10PercentEvery1Minute
    alias: Live
)"));
  ASSERT_TRUE(FindFunction(spec, "web")->deployment.has_value());
  EXPECT_EQ(FindFunction(spec, "web")->deployment->type, "Linear10PercentEvery1Minute");
  EXPECT_FALSE(FindFunction(spec, "preHook")->deployment.has_value());
}

TEST(DeploymentSettingsTest, RejectsMissingTypeOrAlias) {
  EXPECT_EQ(ParseError(Service("    deploymentSettings:\n      alias: Live\n")),
            "serverless.yml:18:5: deploymentSettings of function 'web' has no 'type' (set it there "
            "or in custom.deploymentSettings, or give steps)");
  EXPECT_EQ(ParseError(Service("    deploymentSettings:\n      type: AllAtOnce\n")),
            "serverless.yml:18:5: deploymentSettings of function 'web' has no 'alias' (set it "
            "there or in custom.deploymentSettings)");
}

TEST(DeploymentSettingsTest, RejectsUnknownTypeWithSuggestion) {
  EXPECT_EQ(ParseError(Service(
                "    deploymentSettings:\n      type: Linear10PercentEvery1Minutes\n      alias: "
                "Live\n")),
            "serverless.yml:19:13: unknown deployment type 'Linear10PercentEvery1Minutes' (did you "
            "mean 'Linear10PercentEvery1Minute'?) (use a predefined one such as "
            "Linear10PercentEvery1Minute, the name of an AWS::CodeDeploy::DeploymentConfig "
            "resource, or give steps)");
}

TEST(DeploymentSettingsTest, AcceptsFullNamesCustomConfigsAndStepTypes) {
  ParseOk(
      Service("    deploymentSettings:\n      type: CodeDeployDefault.LambdaAllAtOnce\n"
              "      alias: Live\n"));
  ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
resources:
  Resources:
    Slow:
      Type: AWS::CodeDeploy::DeploymentConfig
      Properties:
        DeploymentConfigName: VerySlow
functions:
  web:
    handler: web.handler
    deploymentSettings:
      type: VerySlow
      alias: Live
  api:
    handler: api.handler
    deploymentSettings:
      type: Slow
      alias: Live
)");
  ServiceSpec stepped = ParseOk(Service(R"(    deploymentSettings:
      type: Custom
      alias: Live
      steps:
        - weight: 5
          bake: 30s
        - weight: 25
          bake: 2m
        - {weight: 50, bake: 1h}
        - {weight: 75, bake: 90}
        - {weight: 100}
)"));
  // Steps need no type: cutover follows them (a type, when given, is for AWS).
  ServiceSpec untyped = ParseOk(Service(R"(    deploymentSettings:
      alias: Live
      steps: [{weight: 20, bake: 1m}]
)"));
  ASSERT_EQ(FindFunction(untyped, "web")->deployment->steps.size(), 1u);
  EXPECT_EQ(FindFunction(untyped, "web")->deployment->type, "");
  const std::vector<TrafficStep>& steps = FindFunction(stepped, "web")->deployment->steps;
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[0].weight_percent, 5);
  EXPECT_EQ(steps[0].bake_seconds, 30);
  EXPECT_EQ(steps[1].bake_seconds, 120);
  EXPECT_EQ(steps[2].bake_seconds, 3600);
  EXPECT_EQ(steps[3].bake_seconds, 90);
  EXPECT_EQ(steps[4].weight_percent, 100);
  EXPECT_EQ(steps[4].bake_seconds, 0);
}

TEST(DeploymentSettingsTest, RejectsBadSteps) {
  auto with_steps = [](const std::string& steps) {
    return Service(
        "    deploymentSettings:\n      type: Custom\n      alias: Live\n      steps:\n" + steps);
  };
  // Steps start at line 22.
  EXPECT_EQ(ParseError(with_steps("        - {weight: 50}\n        - {weight: 20}\n")),
            "serverless.yml:23:20: step weights must increase: 20 follows 50");
  EXPECT_EQ(ParseError(with_steps("        - {weight: 0}\n")),
            "serverless.yml:22:20: step weight must be in (0, 100], got 0");
  EXPECT_EQ(ParseError(with_steps("        - {weight: 101}\n")),
            "serverless.yml:22:20: step weight must be in (0, 100], got 101");
  EXPECT_EQ(ParseError(with_steps("        - {weight: 10, bake: 2 minutes}\n")),
            "serverless.yml:22:30: bake must be a duration like 30s, 2m, 1h or a number of "
            "seconds, got '2 minutes'");
  EXPECT_EQ(ParseError(with_steps("        - {bake: 2m}\n")),
            "serverless.yml:22:11: each step needs a 'weight' (percent)");
  EXPECT_EQ(ParseError(with_steps("        - {weight: 10, hold: 2m}\n")),
            "serverless.yml:22:24: unknown key 'hold' in a step of deploymentSettings");
  EXPECT_EQ(ParseError(with_steps("        - 10\n")),
            "serverless.yml:22:11: each entry of steps must be a mapping, got '10'");
}

TEST(DeploymentSettingsTest, RejectsHooksThatAreNotFunctions) {
  EXPECT_EQ(ParseError(Service("    deploymentSettings:\n      type: AllAtOnce\n      alias: Live\n"
                               "      preTrafficHook: prehook\n")),
            "serverless.yml:21:23: preTrafficHook 'prehook' is not a function of this service (did "
            "you mean 'preHook'?)");
  EXPECT_EQ(ParseError(Service("    deploymentSettings:\n      type: AllAtOnce\n      alias: Live\n"
                               "      postTrafficHook: web\n")),
            "serverless.yml:21:24: function 'web' cannot be its own postTrafficHook");
}

TEST(DeploymentSettingsTest, RejectsAlarmThatIsNotAnAlarmResource) {
  EXPECT_EQ(ParseError(Service("    deploymentSettings:\n      type: AllAtOnce\n      alias: Live\n"
                               "      alarms:\n        - ErorsAlarm\n")),
            "serverless.yml:22:11: alarm 'ErorsAlarm' is not an AWS::CloudWatch::Alarm in "
            "resources.Resources (did you mean 'ErrorsAlarm'?) (write {name: ErorsAlarm} for an "
            "alarm defined elsewhere)");
  EXPECT_EQ(ParseError(Service("    deploymentSettings:\n      type: AllAtOnce\n      alias: Live\n"
                               "      alarms:\n        - nme: x\n")),
            "serverless.yml:22:11: unknown key 'nme' in an alarm of deploymentSettings (did you "
            "mean 'name'?)");
}

TEST(DeploymentSettingsTest, ReadsCutoversHookTimeoutAndIgnoreAlarmsAtStart) {
  ServiceSpec spec = ParseOk(Service(R"(    deploymentSettings:
      type: AllAtOnce
      alias: Live
      hookTimeout: 10m
)",
                                     "custom:\n  deploymentSettings:\n    ignoreAlarmsAtStart: true\n"));
  const DeploymentSettings& settings = *FindFunction(spec, "web")->deployment;
  EXPECT_EQ(settings.hook_timeout_seconds, 600);
  EXPECT_TRUE(settings.ignore_alarms_at_start);
  // Defaults: CodeDeploy's one hour, and AWS's rollback on an alarm already in ALARM.
  ServiceSpec plain =
      ParseOk(Service("    deploymentSettings:\n      type: AllAtOnce\n      alias: Live\n"));
  EXPECT_EQ(FindFunction(plain, "web")->deployment->hook_timeout_seconds, 3600);
  EXPECT_FALSE(FindFunction(plain, "web")->deployment->ignore_alarms_at_start);
  // They survive the trip to the daemon.
  auto back = ServiceSpecFromJson(ToJson(spec));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(FindFunction(*back, "web")->deployment->hook_timeout_seconds, 600);
  EXPECT_TRUE(FindFunction(*back, "web")->deployment->ignore_alarms_at_start);

  EXPECT_EQ(ParseError(Service(
                "    deploymentSettings:\n      type: AllAtOnce\n      alias: Live\n"
                "      hookTimeout: 49h\n")),
            "serverless.yml:21:20: hookTimeout must be a duration from 1s to 48h like 30s, 10m or "
            "1h, got '49h'");
  EXPECT_THAT(ParseError(Service("    deploymentSettings:\n      type: AllAtOnce\n      alias: "
                                 "Live\n      ignoreAlarmsAtStart: maybe\n")),
              StartsWith("serverless.yml:21:28: "));
}

TEST(DeploymentSettingsTest, RejectsBadKeysAndValues) {
  EXPECT_EQ(ParseError(Service("    deploymentSettings:\n      typ: AllAtOnce\n")),
            "serverless.yml:19:7: unknown key 'typ' in deploymentSettings of function 'web' (did "
            "you mean 'type'?)");
  EXPECT_EQ(
      ParseError(Service("    deploymentSettings:\n      type: AllAtOnce\n      alias: '1'\n")),
      "serverless.yml:20:14: alias '1' is not a valid Lambda alias name (letters, digits, '-' "
      "and '_', not only digits)");
  EXPECT_EQ(ParseError(Service("    deploymentSettings:\n      stages: [prod]\n")),
            "serverless.yml:19:7: 'stages' is read from custom.deploymentSettings only");
  EXPECT_EQ(ParseError(Service("    deploymentSettings: Linear\n")),
            "serverless.yml:18:25: deploymentSettings of function 'web' must be a mapping, got "
            "'Linear'");
  EXPECT_EQ(ParseError(Service("", "custom:\n  deploymentSettings:\n    aliass: Live\n")),
            "serverless.yml:20:5: unknown key 'aliass' in custom.deploymentSettings (did you mean "
            "'alias'?)");
  EXPECT_EQ(ParseError(Service("", "custom:\n  deploymentSettings:\n    alarms: ErrorsAlarm\n")),
            "serverless.yml:20:13: alarms must be a list, got 'ErrorsAlarm'");
}

TEST(DeploymentSettingsTest, NoticesMissingPluginAndStageOutsideStages) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
custom:
  deploymentSettings:
    stages: [prod]
    codeDeployRole: arn:aws:iam::123:role/x
functions:
  web:
    handler: web.handler
    deploymentSettings:
      type: AllAtOnce
      alias: Live
)");
  EXPECT_THAT(
      spec.notices,
      ElementsAre("serverless.yml:8:5: ignoring custom.deploymentSettings.codeDeployRole "
                  "(cutover does not act on it)",
                  "serverless.yml:12:5: deploymentSettings are used but plugin "
                  "serverless-plugin-canary-deployments is not listed; cutover applies them "
                  "anyway",
                  "serverless.yml:12:5: stage 'dev' is not in "
                  "custom.deploymentSettings.stages: functions deploy all at once"));
  EXPECT_THAT(FindFunction(spec, "web")->deployment->stages, ElementsAre("prod"));
}

TEST(DeploymentSettingsTest, ParsesDurations) {
  EXPECT_EQ(ParseDurationSeconds("30s"), 30);
  EXPECT_EQ(ParseDurationSeconds("2m"), 120);
  EXPECT_EQ(ParseDurationSeconds("1h"), 3600);
  EXPECT_EQ(ParseDurationSeconds("1m30s"), 90);
  EXPECT_EQ(ParseDurationSeconds("45"), 45);
  EXPECT_EQ(ParseDurationSeconds(" 0 "), 0);
  EXPECT_EQ(ParseDurationSeconds(""), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("1m30"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("2d"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("-5"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("1.5m"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("9999999999s"), std::nullopt);
}

}  // namespace
}  // namespace cutover::config
