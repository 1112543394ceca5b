// ServiceSpec: a serverless.yml after variable resolution and validation.
//
// Produced by config/loader.h on the CLI side (where the user's environment and options are) and sent to the
// daemon as JSON (ToJson/FromJson below); the daemon re-validates it against the uploaded package and never
// reads the user's working tree. Plain values; no behaviour.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cutover::config {

// Where a value came from, for "serverless.yml:LINE:COL: message" errors. Lines and columns are 1-based.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class RuntimeKind {
  kProvided,     // provided, provided.al2, provided.al2023: ./bootstrap over the Runtime API
  kNode,         // nodejs18.x / 20.x / 22.x through aws-lambda-ric
  kPython,       // python3.x through cutover's bootstrap
  kPhpFpm,       // Bref FPM layers (php-74-fpm ... php-84-fpm): php-fpm pool, FastCGI (next issue)
  kPhpFunction,  // Bref function/console layers: PHP CLI per invocation (next issue)
};
std::string_view RuntimeKindName(RuntimeKind kind);

// An API Gateway event source. kind REST = `http`, kHttpApi = `httpApi`.
enum class ApiKind { kRest, kHttpApi };

struct HttpEvent {
  ApiKind kind = ApiKind::kRest;
  std::string method;  // upper-case, "ANY" for any method; "*" in httpApi is normalised to "ANY"
  // Starts with '/' ("/users/{id}", "/{proxy+}"), no trailing '/' except for "/" itself. The one
  // exception is httpApi's catch-all `'*'`: method "ANY" with path "$default".
  std::string path;
  SourceLocation where;
};

// One explicit traffic step of the cutover extension `deploymentSettings.steps`.
struct TrafficStep {
  double weight_percent = 0;  // traffic on the new version during this step
  int64_t bake_seconds = 0;   // how long to hold it
};

// serverless-plugin-canary-deployments' keys, after merging custom.deploymentSettings (defaults) with the
// function's own (the function wins key by key, as the plugin does).
struct DeploymentSettings {
  std::string type;   // "Linear10PercentEvery1Minute", "CodeDeployDefault.LambdaAllAtOnce", a custom config name
  std::string alias;  // "Live"
  std::string pre_traffic_hook;   // function key, empty if none
  std::string post_traffic_hook;  // function key, empty if none
  std::vector<std::string> alarms;  // logical ids of AWS::CloudWatch::Alarm resources, or alarm names
  std::vector<TrafficStep> steps;   // cutover extension; empty unless given
  std::vector<std::string> stages;  // only deploy gradually in these stages (empty = all)
  boost::json::value trigger_configurations;  // as written; deploy/triggers.h reads it
  // cutover extensions: how long a hook may take to report (CodeDeploy's fixed 1 h by default), and
  // whether an alarm already in ALARM when the deployment starts is ignored until it leaves ALARM
  // (for shipping the fix for a live error; AWS rolls such a deployment back at once).
  int64_t hook_timeout_seconds = 3600;
  bool ignore_alarms_at_start = false;
  SourceLocation where;
};

struct FunctionSpec {
  std::string key;            // the key under `functions:`, e.g. "website"
  std::string deployed_name;  // "${service}-${stage}-${key}", the Lambda function name Serverless gives
  std::string handler;        // "public/index.php", "handler.hello", "bootstrap"
  std::string runtime;        // the runtime name as resolved: "provided.al2", "nodejs20.x", "python3.11", "php-74-fpm"
  RuntimeKind kind = RuntimeKind::kProvided;
  std::string php_version;    // "7.4" for php-74-fpm; empty for non-PHP
  std::vector<std::string> layers;  // as written after variable resolution
  int timeout_seconds = 6;    // Serverless' default
  int memory_mb = 1024;       // Serverless' default
  std::map<std::string, std::string> environment;  // provider.environment merged with the function's
  std::optional<int> reserved_concurrency;
  std::vector<HttpEvent> events;
  std::optional<DeploymentSettings> deployment;  // absent: served from the newest version
  SourceLocation where;          // the function's key under `functions:`
  SourceLocation handler_where;  // the `handler` value (entry-point errors point here); may be unset
};

// A resources.Resources entry of a kind cutover acts on (AWS::CloudWatch::Alarm,
// AWS::CodeDeploy::DeploymentConfig). Properties are kept as JSON for the alarms and deploy modules.
struct ResourceSpec {
  std::string logical_id;
  std::string type;
  boost::json::object properties;
  SourceLocation where;
};

struct ServiceSpec {
  std::string service;
  std::string stage = "dev";
  std::string region = "us-east-1";
  std::string provider_name = "aws";
  std::string api_name;  // provider.apiName or "${stage}-${service}"
  std::vector<std::string> plugins;
  std::vector<std::string> package_patterns;  // package.patterns, in order ("!node_modules/**" excludes)
  std::vector<FunctionSpec> functions;
  std::vector<ResourceSpec> resources;
  // Things the user should know that are not errors ("ignoring resource X of type AWS::S3::Bucket").
  std::vector<std::string> notices;
};

boost::json::value ToJson(const ServiceSpec& spec);
Result<ServiceSpec> ServiceSpecFromJson(const boost::json::value& json);

const FunctionSpec* FindFunction(const ServiceSpec& spec, std::string_view key);

}  // namespace cutover::config
