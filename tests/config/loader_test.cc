// ParseServiceSpec: top-level keys, provider defaults, functions, validation errors with locations.
#include "config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace cutover::config {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Options;
using testing::ParseError;
using testing::ParseOk;
using ::testing::StartsWith;

TEST(LoaderTest, AppliesServerlessDefaults) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(spec.service, "demo");
  EXPECT_EQ(spec.stage, "dev");
  EXPECT_EQ(spec.region, "us-east-1");
  EXPECT_EQ(spec.provider_name, "aws");
  EXPECT_EQ(spec.api_name, "dev-demo");
  ASSERT_EQ(spec.functions.size(), 1u);
  const FunctionSpec& api = spec.functions[0];
  EXPECT_EQ(api.deployed_name, "demo-dev-api");
  EXPECT_EQ(api.timeout_seconds, 6);
  EXPECT_EQ(api.memory_mb, 1024);
  EXPECT_EQ(api.kind, RuntimeKind::kNode);
  EXPECT_EQ(api.runtime, "nodejs20.x");
  EXPECT_FALSE(api.reserved_concurrency.has_value());
  EXPECT_FALSE(api.deployment.has_value());
  EXPECT_EQ(api.where.file, "serverless.yml");
  EXPECT_EQ(api.where.line, 6);
  EXPECT_EQ(api.where.column, 3);
  EXPECT_TRUE(spec.notices.empty());
}

TEST(LoaderTest, ReadsProviderSettingsAndFunctionOverrides) {
  ServiceSpec spec = ParseOk(R"(service:
  name: shop
frameworkVersion: '3'
provider:
  name: aws
  runtime: python3.12
  stage: prod
  region: eu-central-1
  timeout: 20
  memorySize: 512
  apiName: shop-public
functions:
  inherits:
    handler: app.main
  overrides:
    handler: src/app.main
    name: custom-name
    runtime: nodejs22.x
    timeout: 900
    memorySize: 10240
    reservedConcurrency: 0
)");
  EXPECT_EQ(spec.service, "shop");
  EXPECT_EQ(spec.stage, "prod");
  EXPECT_EQ(spec.region, "eu-central-1");
  EXPECT_EQ(spec.api_name, "shop-public");
  const FunctionSpec* inherits = FindFunction(spec, "inherits");
  ASSERT_NE(inherits, nullptr);
  EXPECT_EQ(inherits->deployed_name, "shop-prod-inherits");
  EXPECT_EQ(inherits->kind, RuntimeKind::kPython);
  EXPECT_EQ(inherits->runtime, "python3.12");
  EXPECT_EQ(inherits->timeout_seconds, 20);
  EXPECT_EQ(inherits->memory_mb, 512);
  const FunctionSpec* overrides = FindFunction(spec, "overrides");
  ASSERT_NE(overrides, nullptr);
  EXPECT_EQ(overrides->deployed_name, "custom-name");
  EXPECT_EQ(overrides->kind, RuntimeKind::kNode);
  EXPECT_EQ(overrides->runtime, "nodejs22.x");
  EXPECT_EQ(overrides->timeout_seconds, 900);
  EXPECT_EQ(overrides->memory_mb, 10240);
  EXPECT_EQ(overrides->reserved_concurrency, 0);
  EXPECT_EQ(FindFunction(spec, "missing"), nullptr);
}

TEST(LoaderTest, RegionAndStageOptionsOverrideTheFile) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  stage: dev
  region: us-east-1
)",
                             Options({{"stage", "prod"}, {"region", "ap-south-1"}}));
  EXPECT_EQ(spec.stage, "prod");
  EXPECT_EQ(spec.region, "ap-south-1");
  EXPECT_TRUE(spec.functions.empty());
}

TEST(LoaderTest, MergesEnvironmentFunctionWinsAndStringifies) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    SHARED: provider
    ONLY_PROVIDER: 1
    FLAG: true
functions:
  api:
    handler: handler.hello
    environment:
      SHARED: function
      RATIO: 0.5
      QUOTED: '007'
)");
  EXPECT_EQ(spec.functions.at(0).environment,
            (std::map<std::string, std::string>{{"FLAG", "true"},
                                                {"ONLY_PROVIDER", "1"},
                                                {"QUOTED", "007"},
                                                {"RATIO", "0.5"},
                                                {"SHARED", "function"}}));
}

TEST(LoaderTest, ReadsPluginsInBothForms) {
  ServiceSpec list = ParseOk(R"(service: demo
plugins:
  - ./vendor/bref/bref
  - serverless-plugin-canary-deployments
)");
  EXPECT_THAT(list.plugins,
              ElementsAre("./vendor/bref/bref", "serverless-plugin-canary-deployments"));
  ServiceSpec modules = ParseOk(R"(service: demo
plugins:
  localPath: ./plugins
  modules:
    - serverless-plugin-canary-deployments
)");
  EXPECT_THAT(modules.plugins, ElementsAre("serverless-plugin-canary-deployments"));
}

TEST(LoaderTest, ReadsPackagePatternsAndLegacyIncludeExclude) {
  ServiceSpec spec = ParseOk(R"(service: demo
package:
  exclude:
    - node_modules/**
    - tests/**
  include:
    - tests/fixtures/**
  patterns:
    - '!.git/**'
)");
  EXPECT_THAT(spec.package_patterns,
              ElementsAre("!node_modules/**", "!tests/**", "tests/fixtures/**", "!.git/**"));
}

TEST(LoaderTest, KeepsAlarmAndDeploymentConfigResourcesOnly) {
  ServiceSpec spec = ParseOk(R"(service: demo
resources:
  Resources:
    Bucket:
      Type: AWS::S3::Bucket
    Errors:
      Type: AWS::CloudWatch::Alarm
      DependsOn: Bucket
      Properties:
        MetricName: Errors
        Threshold: 2.5
        Dimensions:
          - Name: FunctionName
            Value: !Ref ApiLambdaFunction
    Slow:
      Type: AWS::CodeDeploy::DeploymentConfig
      Properties:
        DeploymentConfigName: Slow
        ComputePlatform: Lambda
  Outputs:
    BucketName:
      Value: !Ref Bucket
)");
  ASSERT_EQ(spec.resources.size(), 2u);
  EXPECT_EQ(spec.resources[0].logical_id, "Errors");
  EXPECT_EQ(spec.resources[0].where.line, 6);
  EXPECT_EQ(spec.resources[0].properties.at("Threshold").as_double(), 2.5);
  EXPECT_EQ(spec.resources[0].properties.at("Dimensions").as_array()[0].at("Value"),
            (boost::json::object{{"Ref", "ApiLambdaFunction"}}));
  EXPECT_EQ(spec.resources[1].type, "AWS::CodeDeploy::DeploymentConfig");
  EXPECT_EQ(spec.resources[1].properties.at("ComputePlatform").as_string(), "Lambda");
  ASSERT_EQ(spec.notices.size(), 1u);
  EXPECT_EQ(
      spec.notices[0],
      "serverless.yml:4:5: ignoring resource 'Bucket' of type AWS::S3::Bucket (cutover acts on "
      "AWS::CloudWatch::Alarm and AWS::CodeDeploy::DeploymentConfig)");
}

TEST(LoaderTest, AcceptsResourcesAsAListOfFragments) {
  ServiceSpec spec = ParseOk(R"(service: demo
resources:
  - Resources:
      A:
        Type: AWS::CloudWatch::Alarm
  - Resources:
      B:
        Type: AWS::CloudWatch::Alarm
)");
  ASSERT_EQ(spec.resources.size(), 2u);
  EXPECT_EQ(spec.resources[1].logical_id, "B");
}

TEST(LoaderTest, RejectsResourceDefinedTwice) {
  std::string message = ParseError(R"(service: demo
resources:
  - Resources:
      A:
        Type: AWS::CloudWatch::Alarm
  - Resources:
      A:
        Type: AWS::SNS::Topic
)");
  EXPECT_EQ(message, "serverless.yml:7:7: resource 'A' is defined twice (first at line 4)");
}

TEST(LoaderTest, RejectsResourceWithoutTypeOrWithTypoedKey) {
  EXPECT_EQ(ParseError(R"(service: demo
resources:
  Resources:
    A:
      Properties: {}
)"),
            "serverless.yml:4:5: resource 'A' has no Type");
  EXPECT_EQ(ParseError(R"(service: demo
resources:
  Resources:
    A:
      Type: AWS::CloudWatch::Alarm
      Properites: {}
)"),
            "serverless.yml:6:7: unknown key 'Properites' in resource 'A' (did you mean "
            "'Properties'?)");
}

TEST(LoaderTest, KnownButUnusedKeysBecomeNotices) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  iam:
    role:
      statements: []
  tracing:
    lambda: true
functions:
  api:
    handler: handler.hello
    description: The API
    events:
      - schedule: rate(5 minutes)
      - sqs: arn:aws:sqs:us-east-1:123:queue
)");
  EXPECT_THAT(
      spec.notices,
      ElementsAre("serverless.yml:5:3: ignoring provider.iam (cutover does not act on it)",
                  "serverless.yml:8:3: ignoring provider.tracing (cutover does not act on it)",
                  "serverless.yml:13:5: ignoring functions.api.description (cutover does "
                  "not act on it)",
                  "serverless.yml:15:9: ignoring the schedule event of function 'api' "
                  "(cutover serves http and httpApi events)",
                  "serverless.yml:16:9: ignoring the sqs event of function 'api' (cutover "
                  "serves http and httpApi events)"));
}

TEST(LoaderTest, RejectsUnknownFunctionKeyWithLocation) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: provided.al2
functions:
  website:
    handlr: public/index.php
)");
  EXPECT_EQ(message,
            "serverless.yml:7:5: unknown key 'handlr' in function 'website' (did you mean "
            "'handler'?)");
}

TEST(LoaderTest, RejectsUnknownKeysEverywhereWithSuggestions) {
  EXPECT_EQ(ParseError(R"(service: demo
provder:
  name: aws
)"),
            "serverless.yml:2:1: unknown key 'provder' at the top level (did you mean "
            "'provider'?)");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtim: nodejs20.x
)"),
            "serverless.yml:4:3: unknown key 'runtim' in provider (did you mean 'runtime'?)");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  flavour: vanilla
)"),
            "serverless.yml:4:3: unknown key 'flavour' in provider");
  EXPECT_EQ(ParseError(R"(service: demo
package:
  pattern:
    - '**'
)"),
            "serverless.yml:3:3: unknown key 'pattern' in package (did you mean 'patterns'?)");
}

TEST(LoaderTest, RejectsYamlSyntaxErrorWithLocation) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  environment: [a, b
functions: {}
)");
  EXPECT_THAT(message, StartsWith("serverless.yml:5:"));
  EXPECT_THAT(message, HasSubstr("YAML syntax error"));
}

TEST(LoaderTest, RejectsDuplicateKeys) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  runtime: python3.12
)"),
            "serverless.yml:5:3: duplicate key 'runtime' (first defined at line 4)");
}

TEST(LoaderTest, RejectsADocumentThatIsNotAMapping) {
  EXPECT_EQ(ParseError("- just\n- a list\n"),
            "serverless.yml:1:1: serverless.yml must be a mapping of keys to values");
}

TEST(LoaderTest, RejectsMissingOrInvalidService) {
  EXPECT_EQ(ParseError("provider:\n  name: aws\n"),
            "serverless.yml:1:1: missing the top-level key 'service'");
  EXPECT_EQ(ParseError("service: my_service\n"),
            "serverless.yml:1:10: service name 'my_service' must start with a letter and contain "
            "only letters, digits and '-'");
  EXPECT_EQ(ParseError("service: [a]\n"),
            "serverless.yml:1:10: service must be a string, got a list");
}

TEST(LoaderTest, RejectsOtherProviders) {
  EXPECT_EQ(ParseError("service: demo\nprovider:\n  name: google\n"),
            "serverless.yml:3:9: provider 'google' is not supported (cutover emulates aws)");
}

TEST(LoaderTest, RejectsInvalidStage) {
  EXPECT_EQ(ParseError("service: demo\nprovider:\n  name: aws\n  stage: my_stage\n"),
            "serverless.yml:4:10: stage 'my_stage' (from provider.stage) may only contain letters, "
            "digits and '-'");
  EXPECT_EQ(ParseError("service: demo\n", Options({{"stage", "a b"}})),
            "serverless.yml:1:1: stage 'a b' (from --stage) may only contain letters, digits and "
            "'-'");
}

TEST(LoaderTest, RejectsWrongTypes) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    timeout: abc
)"),
            "serverless.yml:8:14: timeout must be an integer, got 'abc'");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    events:
      http: GET /
)"),
            "serverless.yml:9:7: events must be a list, got a mapping");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    environment:
      - A=1
)"),
            "serverless.yml:9:7: environment must be a mapping, got a list");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  - api
)"),
            "serverless.yml:6:3: functions must be a mapping, got a list");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  timeout: 1.5
)"),
            "serverless.yml:5:12: provider.timeout must be an integer, got '1.5'");
}

TEST(LoaderTest, RejectsOutOfRangeLimits) {
  auto with = [](const std::string& line) {
    return "service: demo\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  api:\n"
           "    handler: handler.hello\n" +
           line + "\n";
  };
  EXPECT_EQ(ParseError(with("    timeout: 0")),
            "serverless.yml:8:14: timeout must be between 1 and 900 seconds, got 0");
  EXPECT_EQ(ParseError(with("    timeout: 901")),
            "serverless.yml:8:14: timeout must be between 1 and 900 seconds, got 901");
  EXPECT_EQ(ParseError(with("    memorySize: 64")),
            "serverless.yml:8:17: memorySize must be between 128 and 10240 MB, got 64");
  EXPECT_EQ(ParseError(with("    memorySize: 10241")),
            "serverless.yml:8:17: memorySize must be between 128 and 10240 MB, got 10241");
  EXPECT_EQ(ParseError(with("    reservedConcurrency: -1")),
            "serverless.yml:8:26: reservedConcurrency must be 0 or more, got -1");
  EXPECT_EQ(
      ParseError("service: demo\nprovider:\n  name: aws\n  memorySize: 100000\n"),
      "serverless.yml:4:15: provider.memorySize must be between 128 and 10240 MB, got 100000");
}

TEST(LoaderTest, RejectsFunctionWithoutHandler) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    timeout: 3
)"),
            "serverless.yml:6:3: function 'api' has no handler");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
)"),
            "serverless.yml:6:3: function 'api' is empty (it needs at least a handler)");
}

TEST(LoaderTest, RejectsFunctionWithoutRuntime) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
functions:
  api:
    handler: handler.hello
)"),
            "serverless.yml:5:3: function 'api' has no runtime (set functions.api.runtime or "
            "provider.runtime)");
}

TEST(LoaderTest, RejectsUnsupportedRuntimeNamingTheAllowedOnes) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: java21
functions:
  api:
    handler: com.example.Handler
)");
  EXPECT_THAT(message,
              StartsWith("serverless.yml:4:12: unsupported runtime 'java21' (supported: "));
  EXPECT_THAT(message, HasSubstr("provided.al2"));
  EXPECT_THAT(message, HasSubstr("nodejs20.x"));
  EXPECT_THAT(message, HasSubstr("python3.x"));
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    runtime: nodejs16.x
)"),
            ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    runtime: nodejs16.x
)"));
  EXPECT_THAT(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    runtime: nodejs16.x
)"),
              StartsWith("serverless.yml:8:14: unsupported runtime 'nodejs16.x'"));
}

TEST(LoaderTest, ResolvesRuntimeKinds) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: provided.al2023
functions:
  bash:
    handler: handler.sh
  fpm:
    handler: public/index.php
    layers:
      - arn:aws:lambda:us-east-1:209497400698:layer:php-74-fpm:22
  node:
    handler: handler.hello
    runtime: nodejs18.x
  python:
    handler: handler.hello
    runtime: python3.9
  bref2:
    handler: index.php
    runtime: php-83-fpm
  other-layer:
    handler: bootstrap
    layers:
      - arn:aws:lambda:us-east-1:123456789012:layer:my-tools:3
)");
  auto kind = [&spec](const char* key) { return FindFunction(spec, key)->kind; };
  EXPECT_EQ(kind("bash"), RuntimeKind::kProvided);
  EXPECT_EQ(FindFunction(spec, "bash")->runtime, "provided.al2023");
  EXPECT_EQ(kind("fpm"), RuntimeKind::kPhpFpm);
  EXPECT_EQ(FindFunction(spec, "fpm")->runtime, "php-74-fpm");
  EXPECT_EQ(FindFunction(spec, "fpm")->php_version, "7.4");
  EXPECT_EQ(kind("node"), RuntimeKind::kNode);
  EXPECT_EQ(kind("python"), RuntimeKind::kPython);
  EXPECT_EQ(kind("bref2"), RuntimeKind::kPhpFpm);
  EXPECT_EQ(FindFunction(spec, "bref2")->php_version, "8.3");
  EXPECT_EQ(kind("other-layer"), RuntimeKind::kProvided);
}

TEST(LoaderTest, ProviderLayersApplyWhenTheFunctionHasNone) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: provided.al2
  layers:
    - ${bref:layer.php-82-fpm}
functions:
  web:
    handler: public/index.php
  console:
    handler: bin/console
    layers:
      - ${bref:layer.php-82}
      - ${bref:layer.console}
)");
  EXPECT_EQ(FindFunction(spec, "web")->runtime, "php-82-fpm");
  EXPECT_EQ(FindFunction(spec, "console")->runtime, "php-82-console");
}

TEST(LoaderTest, RejectsConflictingBrefLayersAtTheLayers) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: provided.al2
functions:
  web:
    handler: public/index.php
    layers:
      - ${bref:layer.php-74-fpm}
      - ${bref:layer.php-82-fpm}
)"),
            "serverless.yml:9:7: conflicting Bref layers 'php-74-fpm' and 'php-82-fpm' on one "
            "function");
}

TEST(LoaderTest, RejectsMalformedOrEscapingHandlers) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler
)"),
            "serverless.yml:7:14: handler 'handler' must look like FILE.FUNCTION (e.g. "
            "handler.hello) for runtime nodejs20.x");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: provided.al2
functions:
  api:
    handler: ../outside/index.php
)"),
            "serverless.yml:7:14: handler '../outside/index.php' must be a relative path inside "
            "the service directory");
}

TEST(LoaderTest, RejectsReservedAndInvalidEnvironmentNames) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    AWS_REGION: eu-west-1
)"),
            "serverless.yml:6:5: environment variable 'AWS_REGION' is reserved by Lambda");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    1BAD: x
)"),
            "serverless.yml:6:5: '1BAD' is not a valid environment variable name (a letter, then "
            "letters, digits and '_')");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    TABLE:
      Ref: UsersTable
)"),
            "serverless.yml:7:7: environment variable 'TABLE' must be a string, number or boolean, "
            "got a mapping");
}

TEST(LoaderTest, RejectsInvalidOrCollidingFunctionNames) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    name: has spaces
)"),
            "serverless.yml:8:11: function name 'has spaces' is not a valid Lambda function name "
            "(letters, digits, '-' and '_', at most 64)");
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  one:
    handler: handler.hello
    name: same
  two:
    handler: handler.hello
    name: same
)"),
            "serverless.yml:9:3: functions 'one' and 'two' have the same name 'same'");
}

TEST(LoaderTest, RejectsContainerImageFunctions) {
  EXPECT_EQ(ParseError(R"(service: demo
provider:
  name: aws
functions:
  api:
    image: 123.dkr.ecr.us-east-1.amazonaws.com/app:latest
)"),
            "serverless.yml:6:5: function 'api': container image functions are not supported");
}

TEST(LoaderTest, AppliesYamlMergeKeys) {
  ServiceSpec spec = ParseOk(R"(service: demo
custom:
  base: &base
    handler: handler.hello
    timeout: 10
provider:
  name: aws
  runtime: nodejs20.x
functions:
  one:
    <<: *base
  two:
    <<: *base
    timeout: 20
)");
  EXPECT_EQ(FindFunction(spec, "one")->handler, "handler.hello");
  EXPECT_EQ(FindFunction(spec, "one")->timeout_seconds, 10);
  EXPECT_EQ(FindFunction(spec, "two")->timeout_seconds, 20);
}

TEST(LoaderTest, ErrorsUseTheFileNameAsGiven) {
  Result<ServiceSpec> result = ParseServiceSpec(
      "service: demo\nprovder: {}\n", "examples/seed/serverless.yml", "/nonexistent", Options());
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), StartsWith("examples/seed/serverless.yml:2:1: "));
}

}  // namespace
}  // namespace cutover::config
