// The seed's serverless.yml (tests/config/testdata/seed) loads exactly as written.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/loader.h"
#include "test_util.h"

namespace cutover::config {
namespace {

using testing::Options;
using testing::TestData;

Result<ServiceSpec> LoadSeed(LoadOptions options) {
  return LoadServiceSpec(TestData("seed/serverless.yml"), options);
}

TEST(SeedTest, LoadsWithFileChecks) {
  LoadOptions options = Options();
  options.check_files = true;
  Result<ServiceSpec> spec = LoadSeed(options);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->service, "bref-canary-deployments-demo");
  EXPECT_EQ(spec->stage, "dev");
  EXPECT_EQ(spec->region, "us-east-1");
  EXPECT_EQ(spec->provider_name, "aws");
  EXPECT_EQ(spec->api_name, "dev-bref-canary-deployments-demo");
  EXPECT_EQ(spec->plugins, (std::vector<std::string>{"./vendor/bref/bref",
                                                     "serverless-plugin-canary-deployments"}));
}

TEST(SeedTest, WebsiteFunctionIsPhpFpm74) {
  Result<ServiceSpec> spec = LoadSeed(Options());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_EQ(spec->functions.size(), 1u);
  const FunctionSpec& website = spec->functions[0];
  EXPECT_EQ(website.key, "website");
  EXPECT_EQ(website.deployed_name, "bref-canary-deployments-demo-dev-website");
  EXPECT_EQ(website.handler, "public/index.php");
  EXPECT_EQ(website.kind, RuntimeKind::kPhpFpm);
  EXPECT_EQ(website.runtime, "php-74-fpm");
  EXPECT_EQ(website.php_version, "7.4");
  EXPECT_EQ(website.layers, std::vector<std::string>{"bref:layer.php-74-fpm"});
  EXPECT_EQ(website.timeout_seconds, 28);
  EXPECT_EQ(website.memory_mb, 1024);
  EXPECT_TRUE(website.environment.empty());
  EXPECT_EQ(website.where.line, 17);
  EXPECT_EQ(website.handler_where.line, 18);
  EXPECT_EQ(website.handler_where.column, 14);
}

TEST(SeedTest, WebsiteServesRootAndProxy) {
  Result<ServiceSpec> spec = LoadSeed(Options());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const FunctionSpec* website = FindFunction(*spec, "website");
  ASSERT_NE(website, nullptr);
  ASSERT_EQ(website->events.size(), 2u);
  EXPECT_EQ(website->events[0].kind, ApiKind::kRest);
  EXPECT_EQ(website->events[0].method, "ANY");
  EXPECT_EQ(website->events[0].path, "/");
  EXPECT_EQ(website->events[1].method, "ANY");
  EXPECT_EQ(website->events[1].path, "/{proxy+}");
  EXPECT_EQ(website->events[1].where.line, 24);
}

TEST(SeedTest, WebsiteDeploysLinearlyWithTheAlarm) {
  Result<ServiceSpec> spec = LoadSeed(Options());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const FunctionSpec* website = FindFunction(*spec, "website");
  ASSERT_NE(website, nullptr);
  ASSERT_TRUE(website->deployment.has_value());
  const DeploymentSettings& deployment = *website->deployment;
  EXPECT_EQ(deployment.type, "Linear10PercentEvery1Minute");
  EXPECT_EQ(deployment.alias, "Live");
  EXPECT_EQ(deployment.alarms, std::vector<std::string>{"ApiGateway5XXErrorAlarm"});
  EXPECT_TRUE(deployment.pre_traffic_hook.empty());
  EXPECT_TRUE(deployment.post_traffic_hook.empty());
  EXPECT_TRUE(deployment.steps.empty());
  EXPECT_TRUE(deployment.stages.empty());
  EXPECT_EQ(deployment.where.line, 25);
}

TEST(SeedTest, AlarmResourceHasResolvedDimensions) {
  Result<ServiceSpec> spec = LoadSeed(Options());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_EQ(spec->resources.size(), 1u);
  const ResourceSpec& alarm = spec->resources[0];
  EXPECT_EQ(alarm.logical_id, "ApiGateway5XXErrorAlarm");
  EXPECT_EQ(alarm.type, "AWS::CloudWatch::Alarm");
  const boost::json::object& p = alarm.properties;
  EXPECT_EQ(p.at("AlarmDescription").as_string(), "Api Gateway server-side errors captured");
  EXPECT_EQ(p.at("Namespace").as_string(), "AWS/ApiGateway");
  EXPECT_EQ(p.at("MetricName").as_string(), "5XXError");
  const boost::json::array& dimensions = p.at("Dimensions").as_array();
  ASSERT_EQ(dimensions.size(), 1u);
  EXPECT_EQ(dimensions[0].at("Name").as_string(), "ApiName");
  EXPECT_EQ(dimensions[0].at("Value").as_string(), "dev-bref-canary-deployments-demo");
  EXPECT_EQ(p.at("Statistic").as_string(), "Sum");
  EXPECT_EQ(p.at("Period").as_int64(), 60);
  EXPECT_EQ(p.at("EvaluationPeriods").as_int64(), 1);
  EXPECT_EQ(p.at("Threshold").as_int64(), 1);
  EXPECT_EQ(p.at("ComparisonOperator").as_string(), "GreaterThanOrEqualToThreshold");
}

TEST(SeedTest, HasNoNotices) {
  Result<ServiceSpec> spec = LoadSeed(Options());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(spec->notices.empty()) << spec->notices.front();
}

TEST(SeedTest, StageOptionRenamesTheFunctionButNotTheConfiguredDimension) {
  // --stage overrides provider.stage, while ${self:provider.stage} still reads the file, as in
  // Serverless.
  Result<ServiceSpec> spec = LoadSeed(Options({{"stage", "prod"}}));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->stage, "prod");
  EXPECT_EQ(spec->functions[0].deployed_name, "bref-canary-deployments-demo-prod-website");
  EXPECT_EQ(spec->api_name, "prod-bref-canary-deployments-demo");
  EXPECT_EQ(spec->resources[0].properties.at("Dimensions").as_array()[0].at("Value").as_string(),
            "dev-bref-canary-deployments-demo");
}

TEST(SeedTest, FileNameInErrorsIsAsGiven) {
  Result<ServiceSpec> spec = LoadServiceSpec(TestData("seed/missing.yml"), Options());
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(spec.status().message().rfind(TestData("seed/missing.yml") + ": cannot open", 0), 0u)
      << spec.status().message();
}

TEST(SeedTest, RoundTripsThroughJson) {
  Result<ServiceSpec> spec = LoadSeed(Options());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  boost::json::value json = ToJson(*spec);
  Result<ServiceSpec> back = ServiceSpecFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), json);
}

}  // namespace
}  // namespace cutover::config
