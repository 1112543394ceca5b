// Serverless variables: ${self:}, ${opt:}, ${env:}, ${sls:stage}, ${bref:layer.*}, nesting,
// defaults.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "test_util.h"

namespace cutover::config {
namespace {

using ::testing::HasSubstr;
using testing::Options;
using testing::ParseError;
using testing::ParseOk;
using ::testing::StartsWith;

TEST(VariablesTest, ResolvesSelfDottedPathsAndListIndexes) {
  ServiceSpec spec = ParseOk(R"(service: demo
custom:
  greeting: hello
  nested:
    deeper:
      value: deep
  list:
    - first
    - second
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    GREETING: ${self:custom.greeting}
    DEEP: ${self:custom.nested.deeper.value}
    FIRST: ${self:custom.list.0}
    SECOND: ${self:custom.list.1}
functions:
  api:
    handler: handler.hello
)");
  const auto& env = spec.functions.at(0).environment;
  EXPECT_EQ(env.at("GREETING"), "hello");
  EXPECT_EQ(env.at("DEEP"), "deep");
  EXPECT_EQ(env.at("FIRST"), "first");
  EXPECT_EQ(env.at("SECOND"), "second");
}

TEST(VariablesTest, OptUsesOptionsThenQuotedDefaults) {
  const std::string yaml = R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  stage: ${opt:stage, 'staging'}
  environment:
    SINGLE: ${opt:single, 'one'}
    DOUBLE: ${opt:double, "two, with a comma"}
    GIVEN: ${opt:given, 'unused'}
functions:
  api:
    handler: handler.hello
)";
  ServiceSpec spec = ParseOk(yaml, Options({{"given", "from-cli"}}));
  EXPECT_EQ(spec.stage, "staging");
  const auto& env = spec.functions.at(0).environment;
  EXPECT_EQ(env.at("SINGLE"), "one");
  EXPECT_EQ(env.at("DOUBLE"), "two, with a comma");
  EXPECT_EQ(env.at("GIVEN"), "from-cli");

  ServiceSpec prod = ParseOk(yaml, Options({{"stage", "prod"}}));
  EXPECT_EQ(prod.stage, "prod");
}

TEST(VariablesTest, EnvUsesTheEnvironmentThenDefaults) {
  const std::string yaml = R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    SET: ${env:SET_VAR}
    DEFAULTED: ${env:UNSET_VAR, 'fallback'}
    CHAINED: ${env:UNSET_VAR, env:OTHER_VAR, 'last'}
functions:
  api:
    handler: handler.hello
)";
  ServiceSpec spec = ParseOk(yaml, Options({}, {{"SET_VAR", "value"}, {"OTHER_VAR", "other"}}));
  const auto& env = spec.functions.at(0).environment;
  EXPECT_EQ(env.at("SET"), "value");
  EXPECT_EQ(env.at("DEFAULTED"), "fallback");
  EXPECT_EQ(env.at("CHAINED"), "other");

  ServiceSpec without_other = ParseOk(yaml, Options({}, {{"SET_VAR", "value"}}));
  EXPECT_EQ(without_other.functions.at(0).environment.at("CHAINED"), "last");
}

TEST(VariablesTest, RejectsUnsetEnvWithoutDefaultWithLocation) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    TOKEN: prefix-${env:API_TOKEN}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(message,
            "serverless.yml:6:12: cannot resolve variable '${env:API_TOKEN}': environment variable "
            "API_TOKEN is not set");
}

TEST(VariablesTest, SlsStageIsOptionThenProviderThenDev) {
  const std::string yaml = R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  stage: qa
  environment:
    STAGE: ${sls:stage}
functions:
  api:
    handler: handler.hello
)";
  EXPECT_EQ(ParseOk(yaml).functions.at(0).environment.at("STAGE"), "qa");
  EXPECT_EQ(ParseOk(yaml, Options({{"stage", "prod"}})).functions.at(0).environment.at("STAGE"),
            "prod");

  ServiceSpec no_stage = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    STAGE: ${sls:stage}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(no_stage.stage, "dev");
  EXPECT_EQ(no_stage.functions.at(0).environment.at("STAGE"), "dev");
}

TEST(VariablesTest, SlsStageFollowsAProviderStageThatIsItselfAVariable) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  stage: ${opt:stage, 'beta'}
  environment:
    STAGE: ${sls:stage}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(spec.stage, "beta");
  EXPECT_EQ(spec.functions.at(0).environment.at("STAGE"), "beta");
}

TEST(VariablesTest, ResolvesNestedReferences) {
  const std::string yaml = R"(service: demo
custom:
  dev: small
  prod: large
  sizes:
    dev:
      memory: 256
    prod:
      memory: 2048
provider:
  name: aws
  runtime: nodejs20.x
  stage: dev
  environment:
    FALLBACK_STAGE: ${opt:stage, ${self:provider.stage}}
    SIZE: ${self:custom.${opt:stage, 'dev'}}
functions:
  api:
    handler: handler.hello
    memorySize: ${self:custom.sizes.${sls:stage}.memory}
)";
  ServiceSpec dev = ParseOk(yaml);
  EXPECT_EQ(dev.functions.at(0).environment.at("FALLBACK_STAGE"), "dev");
  EXPECT_EQ(dev.functions.at(0).environment.at("SIZE"), "small");
  EXPECT_EQ(dev.functions.at(0).memory_mb, 256);

  ServiceSpec prod = ParseOk(yaml, Options({{"stage", "prod"}}));
  EXPECT_EQ(prod.functions.at(0).environment.at("FALLBACK_STAGE"), "prod");
  EXPECT_EQ(prod.functions.at(0).environment.at("SIZE"), "large");
  EXPECT_EQ(prod.functions.at(0).memory_mb, 2048);
}

TEST(VariablesTest, AcceptsTheOlderDefaultFormWithoutBraces) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  stage: ${opt:stage, self:custom.defaultStage}
custom:
  defaultStage: test
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(spec.stage, "test");
}

TEST(VariablesTest, BareDefaultsThatAreNotReferencesStayText) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    URL: ${env:URL, http://localhost:8080/x}
    WORD: ${env:WORD, plain}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(spec.functions.at(0).environment.at("URL"), "http://localhost:8080/x");
  EXPECT_EQ(spec.functions.at(0).environment.at("WORD"), "plain");
}

TEST(VariablesTest, NumberDefaultsKeepTheirType) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    timeout: ${opt:timeout, 10}
    memorySize: ${env:MEMORY, 512}
)");
  EXPECT_EQ(spec.functions.at(0).timeout_seconds, 10);
  EXPECT_EQ(spec.functions.at(0).memory_mb, 512);
}

TEST(VariablesTest, ResolvesSeveralReferencesInOneString) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  stage: dev
  region: eu-west-1
  environment:
    LABEL: "${self:provider.stage}-${self:service}"
    LONG: api ${self:service} in ${self:provider.region} (${sls:stage})
functions:
  api:
    handler: handler.hello
)");
  const auto& env = spec.functions.at(0).environment;
  EXPECT_EQ(env.at("LABEL"), "dev-demo");
  EXPECT_EQ(env.at("LONG"), "api demo in eu-west-1 (dev)");
}

TEST(VariablesTest, WholeReferenceKeepsMapListAndNumberTypes) {
  ServiceSpec spec = ParseOk(R"(service: demo
custom:
  env:
    A: one
    B: 2
  layers:
    - ${bref:layer.php-82}
  memory: 2048
provider:
  name: aws
  runtime: provided.al2
functions:
  api:
    handler: index.php
    environment: ${self:custom.env}
    layers: ${self:custom.layers}
    memorySize: ${self:custom.memory}
)");
  const FunctionSpec& function = spec.functions.at(0);
  EXPECT_EQ(function.environment.at("A"), "one");
  EXPECT_EQ(function.environment.at("B"), "2");
  EXPECT_EQ(function.layers, std::vector<std::string>{"bref:layer.php-82"});
  EXPECT_EQ(function.kind, RuntimeKind::kPhpFunction);
  EXPECT_EQ(function.memory_mb, 2048);
}

TEST(VariablesTest, FollowsAReferenceThroughAnotherReference) {
  ServiceSpec spec = ParseOk(R"(service: demo
custom:
  current: ${self:custom.settings}
  settings:
    greeting: hi
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    GREETING: ${self:custom.current.greeting}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(spec.functions.at(0).environment.at("GREETING"), "hi");
}

TEST(VariablesTest, EmptyValueFallsBackToTheDefault) {
  ServiceSpec spec = ParseOk(R"(service: demo
custom:
  empty:
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    X: ${self:custom.empty, 'default'}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(spec.functions.at(0).environment.at("X"), "default");
}

TEST(VariablesTest, ResolvesEveryBrefLayerName) {
  struct Case {
    std::string layer;
    RuntimeKind kind;
    std::string runtime;
    std::string php;
  };
  const std::vector<Case> cases = {
      {"php-74-fpm", RuntimeKind::kPhpFpm, "php-74-fpm", "7.4"},
      {"php-74", RuntimeKind::kPhpFunction, "php-74", "7.4"},
      {"php-73-fpm", RuntimeKind::kPhpFpm, "php-73-fpm", "7.3"},
      {"php-73", RuntimeKind::kPhpFunction, "php-73", "7.3"},
      {"php-80-fpm", RuntimeKind::kPhpFpm, "php-80-fpm", "8.0"},
      {"php-81", RuntimeKind::kPhpFunction, "php-81", "8.1"},
      {"php-82-fpm", RuntimeKind::kPhpFpm, "php-82-fpm", "8.2"},
      {"php-83", RuntimeKind::kPhpFunction, "php-83", "8.3"},
      {"php-84-fpm", RuntimeKind::kPhpFpm, "php-84-fpm", "8.4"},
      {"php-84", RuntimeKind::kPhpFunction, "php-84", "8.4"},
  };
  for (const Case& c : cases) {
    ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: provided.al2
functions:
  web:
    handler: public/index.php
    layers:
      - ${bref:layer.)" + c.layer +
                               R"(}
)");
    ASSERT_EQ(spec.functions.size(), 1u) << c.layer;
    const FunctionSpec& function = spec.functions[0];
    EXPECT_EQ(function.layers.at(0), "bref:layer." + c.layer);
    EXPECT_EQ(function.kind, c.kind) << c.layer;
    EXPECT_EQ(function.runtime, c.runtime) << c.layer;
    EXPECT_EQ(function.php_version, c.php) << c.layer;
  }
}

TEST(VariablesTest, ConsoleLayerWithPhpLayerIsAConsoleFunction) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: provided.al2
functions:
  console:
    handler: bin/console
    layers:
      - ${bref:layer.php-74}
      - ${bref:layer.console}
)");
  EXPECT_EQ(spec.functions.at(0).kind, RuntimeKind::kPhpFunction);
  EXPECT_EQ(spec.functions.at(0).runtime, "php-74-console");
  EXPECT_EQ(spec.functions.at(0).php_version, "7.4");
}

TEST(VariablesTest, RejectsUnknownBrefLayer) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: provided.al2
functions:
  web:
    handler: public/index.php
    layers:
      - ${bref:layer.php-74-fmp}
)");
  EXPECT_EQ(message,
            "serverless.yml:9:9: unknown Bref layer 'php-74-fmp' (did you mean 'php-74-fpm'?)");
}

TEST(VariablesTest, RejectsCircularReferencesWithLocation) {
  std::string message = ParseError(R"(service: demo
custom:
  a: ${self:custom.b}
  b: x-${self:custom.a}
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(message,
            "serverless.yml:4:6: circular variable reference: custom.a -> custom.b -> custom.a");
}

TEST(VariablesTest, RejectsAValueThatContainsItself) {
  std::string message = ParseError(R"(service: demo
custom:
  settings:
    self: ${self:custom.settings}
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
)");
  EXPECT_THAT(message, StartsWith("serverless.yml:4:11: circular variable reference: "
                                  "custom.settings -> custom.settings.self -> custom.settings"));
}

TEST(VariablesTest, RejectsStageThatRefersToItself) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  stage: ${sls:stage}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_THAT(message, StartsWith("serverless.yml:5:10: circular variable reference"));
}

TEST(VariablesTest, RejectsMissingSelfPathWithLocation) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
    environment:
      NAME: ${self:custom.name}
)");
  EXPECT_EQ(
      message,
      "serverless.yml:9:13: cannot resolve variable '${self:custom.name}': serverless.yml has "
      "no value at 'custom.name'");
}

TEST(VariablesTest, RejectsMissingOptionWithoutDefault) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  region: ${opt:region}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(message,
            "serverless.yml:5:11: cannot resolve variable '${opt:region}': no --region option was "
            "given");
}

TEST(VariablesTest, RejectsUnknownSource) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    SECRET: ${ssm:/path/to/secret}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(
      message,
      "serverless.yml:6:13: unsupported variable source 'ssm:' (cutover resolves self:, opt:, "
      "env:, sls: and bref:)");
}

TEST(VariablesTest, RejectsAMappingSplicedIntoAString) {
  std::string message = ParseError(R"(service: demo
custom:
  map:
    a: 1
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    X: value-${self:custom.map}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_THAT(message, StartsWith("serverless.yml:9:8: variable '${self:custom.map}' resolves to a "
                                  "mapping and cannot be part of a string"));
}

TEST(VariablesTest, RejectsUnterminatedVariable) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    X: ${self:service
functions:
  api:
    handler: handler.hello
)");
  EXPECT_THAT(message, StartsWith("serverless.yml:6:8: unterminated variable"));
}

TEST(VariablesTest, LeavesCloudFormationSubstitutionsAlone) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  api:
    handler: handler.hello
resources:
  Resources:
    Errors:
      Type: AWS::CloudWatch::Alarm
      Properties:
        AlarmName: !Sub '${AWS::StackName}-${self:service}-errors'
        AlarmDescription: ${MyParameter} stays
)");
  const boost::json::object& properties = spec.resources.at(0).properties;
  EXPECT_EQ(properties.at("AlarmName").at("Fn::Sub").as_string(), "${AWS::StackName}-demo-errors");
  EXPECT_EQ(properties.at("AlarmDescription").as_string(), "${MyParameter} stays");
}

TEST(VariablesTest, ErrorInAReferencedValuePointsAtThatValue) {
  std::string message = ParseError(R"(service: demo
custom:
  token: ${env:MISSING_TOKEN}
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    TOKEN: ${self:custom.token}
functions:
  api:
    handler: handler.hello
)");
  EXPECT_THAT(message, StartsWith("serverless.yml:3:10: cannot resolve variable "
                                  "'${env:MISSING_TOKEN}'"));
}

TEST(VariablesTest, ResolvesVariablesInsideQuotedStrings) {
  ServiceSpec spec = ParseOk(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
  apiName: '${self:service}-api'
functions:
  api:
    handler: handler.hello
)");
  EXPECT_EQ(spec.api_name, "demo-api");
}

}  // namespace
}  // namespace cutover::config
