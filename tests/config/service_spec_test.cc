// ServiceSpec <-> JSON: round trip, and FromJson treating its input as hostile.
#include "config/service_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>

namespace cutover::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

ServiceSpec FullSpec() {
  ServiceSpec spec;
  spec.service = "shop";
  spec.stage = "prod";
  spec.region = "eu-west-1";
  spec.provider_name = "aws";
  spec.api_name = "prod-shop";
  spec.plugins = {"./vendor/bref/bref", "serverless-plugin-canary-deployments"};
  spec.package_patterns = {"!node_modules/**", "src/**"};
  spec.notices = {"serverless.yml:4:3: ignoring provider.iam (cutover does not act on it)"};

  FunctionSpec web;
  web.key = "web";
  web.deployed_name = "shop-prod-web";
  web.handler = "public/index.php";
  web.runtime = "php-82-fpm";
  web.kind = RuntimeKind::kPhpFpm;
  web.php_version = "8.2";
  web.layers = {"bref:layer.php-82-fpm"};
  web.timeout_seconds = 28;
  web.memory_mb = 2048;
  web.environment = {{"APP_ENV", "prod"}, {"DEBUG", "0"}};
  web.reserved_concurrency = 5;
  web.events = {HttpEvent{ApiKind::kRest, "ANY", "/", SourceLocation{"serverless.yml", 20, 15}},
                HttpEvent{ApiKind::kHttpApi, "ANY", "$default", SourceLocation{}}};
  DeploymentSettings deployment;
  deployment.type = "Linear10PercentEvery1Minute";
  deployment.alias = "Live";
  deployment.pre_traffic_hook = "hook";
  deployment.post_traffic_hook = "hook";
  deployment.alarms = {"Errors", "external-alarm"};
  deployment.steps = {TrafficStep{5, 120}, TrafficStep{50.5, 60}, TrafficStep{100, 0}};
  deployment.stages = {"prod"};
  deployment.trigger_configurations = boost::json::parse(R"([{"TriggerName":"t"}])");
  deployment.where = SourceLocation{"serverless.yml", 22, 5};
  web.deployment = deployment;
  web.where = SourceLocation{"serverless.yml", 12, 3};
  web.handler_where = SourceLocation{"serverless.yml", 13, 14};
  spec.functions.push_back(web);

  FunctionSpec hook;
  hook.key = "hook";
  hook.deployed_name = "shop-prod-hook";
  hook.handler = "hooks.check";
  hook.runtime = "nodejs20.x";
  hook.kind = RuntimeKind::kNode;
  spec.functions.push_back(hook);

  ResourceSpec alarm;
  alarm.logical_id = "Errors";
  alarm.type = "AWS::CloudWatch::Alarm";
  alarm.properties =
      boost::json::parse(R"({"Threshold": 1, "Dimensions": [{"Name": "ApiName"}]})").as_object();
  alarm.where = SourceLocation{"serverless.yml", 40, 5};
  spec.resources.push_back(alarm);
  return spec;
}

TEST(ServiceSpecJsonTest, RoundTripsEveryField) {
  ServiceSpec spec = FullSpec();
  boost::json::value json = ToJson(spec);
  Result<ServiceSpec> back = ServiceSpecFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), json);

  const ServiceSpec& b = *back;
  EXPECT_EQ(b.service, "shop");
  EXPECT_EQ(b.stage, "prod");
  EXPECT_EQ(b.region, "eu-west-1");
  EXPECT_EQ(b.api_name, "prod-shop");
  EXPECT_EQ(b.plugins, spec.plugins);
  EXPECT_EQ(b.package_patterns, spec.package_patterns);
  EXPECT_EQ(b.notices, spec.notices);
  ASSERT_EQ(b.functions.size(), 2u);
  const FunctionSpec& web = b.functions[0];
  EXPECT_EQ(web.kind, RuntimeKind::kPhpFpm);
  EXPECT_EQ(web.php_version, "8.2");
  EXPECT_EQ(web.environment, spec.functions[0].environment);
  EXPECT_EQ(web.reserved_concurrency, 5);
  EXPECT_EQ(web.events[1].kind, ApiKind::kHttpApi);
  EXPECT_EQ(web.events[1].path, "$default");
  EXPECT_EQ(web.events[0].where.line, 20);
  EXPECT_EQ(web.handler_where.column, 14);
  ASSERT_TRUE(web.deployment.has_value());
  EXPECT_EQ(web.deployment->steps[1].weight_percent, 50.5);
  EXPECT_EQ(web.deployment->steps[0].bake_seconds, 120);
  EXPECT_EQ(web.deployment->trigger_configurations,
            spec.functions[0].deployment->trigger_configurations);
  EXPECT_FALSE(b.functions[1].reserved_concurrency.has_value());
  EXPECT_FALSE(b.functions[1].deployment.has_value());
  EXPECT_EQ(b.resources[0].properties, spec.resources[0].properties);
}

TEST(ServiceSpecJsonTest, RoundTripsThroughText) {
  boost::json::value json = ToJson(FullSpec());
  Result<ServiceSpec> back = ServiceSpecFromJson(boost::json::parse(boost::json::serialize(json)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), json);
}

TEST(ServiceSpecJsonTest, RuntimeKindNames) {
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kProvided), "provided");
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kNode), "node");
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kPython), "python");
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kPhpFpm), "php-fpm");
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kPhpFunction), "php-function");
}

// Applies `mutate` to the JSON of FullSpec and expects FromJson to fail with `expected` in the
// message.
void ExpectRejected(const std::function<void(boost::json::object&)>& mutate,
                    const std::string& expected) {
  boost::json::value json = ToJson(FullSpec());
  mutate(json.as_object());
  Result<ServiceSpec> result = ServiceSpecFromJson(json);
  ASSERT_FALSE(result.ok()) << "accepted; expected: " << expected;
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), StartsWith("invalid service spec: "));
  EXPECT_THAT(result.status().message(), HasSubstr(expected));
}

boost::json::object& Web(boost::json::object& spec) {
  return spec["functions"].as_array()[0].as_object();
}

TEST(ServiceSpecJsonTest, RejectsNonObjectsAndMissingFields) {
  EXPECT_FALSE(ServiceSpecFromJson(boost::json::value(42)).ok());
  EXPECT_FALSE(ServiceSpecFromJson(boost::json::array{}).ok());
  ExpectRejected([](auto& s) { s.erase("service"); }, "service: missing");
  ExpectRejected([](auto& s) { s["stage"] = 7; }, "stage: expected a string");
  ExpectRejected([](auto& s) { s["functions"] = "web"; }, "functions: expected an array");
  ExpectRejected([](auto& s) { s["functions"].as_array().push_back(1); },
                 "functions[2]: expected an object");
  ExpectRejected([](auto& s) { Web(s).erase("handler"); }, "functions[0].handler: missing");
  ExpectRejected([](auto& s) { s["plugins"].as_array().push_back(nullptr); },
                 "plugins[2]: expected a string");
}

TEST(ServiceSpecJsonTest, RejectsWrongTypesAndRanges) {
  ExpectRejected([](auto& s) { Web(s)["timeout_seconds"] = "28"; },
                 "functions[0].timeout_seconds: expected an integer");
  ExpectRejected([](auto& s) { Web(s)["timeout_seconds"] = 1.5; },
                 "functions[0].timeout_seconds: expected an integer");
  ExpectRejected([](auto& s) { Web(s)["timeout_seconds"] = 0; }, "out of range [1, 900]");
  ExpectRejected([](auto& s) { Web(s)["memory_mb"] = 99999999999999; }, "out of range");
  ExpectRejected([](auto& s) { Web(s)["memory_mb"] = 18446744073709551615ull; },
                 "expected an integer");
  ExpectRejected([](auto& s) { Web(s)["reserved_concurrency"] = -1; }, "out of range");
  ExpectRejected(
      [](auto& s) {
        Web(s)["environment"] = boost::json::object{{"A", 1}};
      },
      "functions[0].environment.A: expected a string");
  ExpectRejected([](auto& s) { Web(s)["events"].as_array()[0].as_object()["kind"] = "rest"; },
                 "expected \"http\" or \"httpApi\"");
  ExpectRejected([](auto& s) { Web(s)["events"].as_array()[0].as_object()["method"] = "get"; },
                 "unknown HTTP method");
  ExpectRejected([](auto& s) { Web(s)["events"].as_array()[0].as_object()["path"] = "x"; },
                 "must start with '/'");
  ExpectRejected([](auto& s) { Web(s)["events"].as_array()[0].as_object()["where"] = "x"; },
                 "where: expected an object");
}

TEST(ServiceSpecJsonTest, RejectsUnsafeNamesAndPaths) {
  ExpectRejected([](auto& s) { Web(s)["handler"] = "../../etc/passwd"; },
                 "must be a relative path inside the service directory");
  ExpectRejected([](auto& s) { Web(s)["handler"] = "/etc/passwd"; },
                 "must be a relative path inside the service directory");
  ExpectRejected([](auto& s) { Web(s)["deployed_name"] = "../x"; },
                 "not a valid Lambda function name");
  ExpectRejected([](auto& s) { Web(s)["key"] = "a/b"; }, "not a valid function key");
  ExpectRejected([](auto& s) { s["service"] = "../shop"; }, "not a valid service name");
  ExpectRejected([](auto& s) { s["stage"] = "prod/../x"; }, "not a valid stage");
  ExpectRejected(
      [](auto& s) {
        Web(s)["environment"] = boost::json::object{{"A=B", "x"}};
      },
      "invalid variable name");
}

TEST(ServiceSpecJsonTest, RejectsInconsistentRuntimesAndDeployments) {
  ExpectRejected([](auto& s) { Web(s)["kind"] = "ruby"; }, "unknown runtime kind");
  ExpectRejected([](auto& s) { Web(s)["kind"] = "node"; }, "does not match kind");
  ExpectRejected([](auto& s) { Web(s)["php_version"] = "7.4"; }, "does not match kind");
  ExpectRejected([](auto& s) { Web(s)["runtime"] = "java21"; }, "does not match kind");
  auto deployment = [](boost::json::object& s) -> boost::json::object& {
    return Web(s)["deployment"].as_object();
  };
  ExpectRejected([&](auto& s) { deployment(s)["alias"] = "12"; }, "not a valid alias name");
  ExpectRejected(
      [&](auto& s) {
        deployment(s)["type"] = "";
        deployment(s)["steps"] = boost::json::array();
      },
      "must not be empty without steps");
  ExpectRejected([&](auto& s) { deployment(s)["pre_traffic_hook"] = "ghost"; },
                 "hook 'ghost' is not a function of the service");
  ExpectRejected(
      [&](auto& s) { deployment(s)["steps"].as_array()[1].as_object()["weight_percent"] = 1; },
      "weights must increase within (0, 100]");
  ExpectRejected(
      [&](auto& s) { deployment(s)["steps"].as_array()[0].as_object()["bake_seconds"] = -1; },
      "out of range");
  ExpectRejected([](auto& s) { Web(s)["key"] = "hook"; }, "function key 'hook' appears twice");
  ExpectRejected(
      [](auto& s) { s["functions"].as_array()[1].as_object()["deployed_name"] = "shop-prod-web"; },
      "function name 'shop-prod-web' appears twice");
}

TEST(ServiceSpecJsonTest, AcceptsAbsentOptionalFields) {
  boost::json::value json = boost::json::parse(R"({
    "service": "demo", "stage": "dev", "region": "us-east-1", "provider_name": "aws",
    "api_name": "dev-demo",
    "functions": [{"key": "api", "deployed_name": "demo-dev-api", "handler": "handler.hello",
                   "runtime": "nodejs20.x", "kind": "node", "timeout_seconds": 6,
                   "memory_mb": 1024}]
  })");
  Result<ServiceSpec> spec = ServiceSpecFromJson(json);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->functions[0].events.size(), 0u);
  EXPECT_FALSE(spec->functions[0].deployment.has_value());
  EXPECT_EQ(spec->functions[0].where.line, 0);
}

}  // namespace
}  // namespace cutover::config
