// The section parsers behind ParseServiceSpec (config/loader.h), each reading one part of a
// variable-resolved ConfigNode tree into ServiceSpec values.
//
// Internal to the config module. loader.cc reads the top level, provider, plugins, package and
// resources; function_parser.cc reads functions and their events; deployment_settings.cc reads
// deploymentSettings. All errors are InvalidArgument "FILE:LINE:COL: ..." built through
// ParseContext.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/parse_context.h"
#include "config/service_spec.h"
#include "config/yaml_tree.h"

namespace cutover::config {

// Service-wide values a function inherits or is checked against.
struct ServiceContext {
  std::string service;
  std::string stage;
  const ConfigNode* provider_runtime = nullptr;     // provider.runtime, if written
  const ConfigNode* provider_layers = nullptr;      // provider.layers, if written
  int timeout_seconds = 6;                          // provider.timeout or Serverless' default
  int memory_mb = 1024;                             // provider.memorySize or Serverless' default
  std::map<std::string, std::string> environment;   // provider.environment
  const ConfigNode* deployment_defaults = nullptr;  // custom.deploymentSettings, if written
  std::vector<std::string_view> function_keys;      // every key under functions:, for hook checks
  const std::vector<ResourceSpec>* resources = nullptr;  // kept resources, for alarm/type checks
};

// functions.<key>: everything but the cross-function route check.
Result<FunctionSpec> ParseFunction(ParseContext& context, const MapEntry& entry,
                                   const ServiceContext& service);

// provider.environment / functions.<f>.environment: names checked, values stringified.
Result<std::map<std::string, std::string>> ParseEnvironment(ParseContext& context,
                                                            const ConfigNode& node,
                                                            std::string_view what);

// Range-checked provider/function settings ("timeout" 1..900 s, "memorySize" 128..10240 MB).
Result<int> ParseTimeout(ParseContext& context, const ConfigNode& node, std::string_view what);
Result<int> ParseMemorySize(ParseContext& context, const ConfigNode& node, std::string_view what);

// Checks custom.deploymentSettings on its own (keys and value types); defaults are applied per
// function.
Status CheckDeploymentDefaults(ParseContext& context, const ConfigNode& defaults);

// functions.<key>.deploymentSettings merged over custom.deploymentSettings, key by key (the
// function wins), then validated. `settings` is the function's deploymentSettings value (may be
// null: the defaults alone); `key_mark` points at its key.
Result<DeploymentSettings> ParseDeploymentSettings(ParseContext& context,
                                                   const ConfigNode& settings, Mark key_mark,
                                                   std::string_view function_key,
                                                   const ServiceContext& service);

// Shared validators (also used on specs received as JSON).
// A path under the service directory: relative, no "..", no backslash or NUL.
bool IsSafeRelativePath(std::string_view path);
// Letters, digits, '-' and '_', 1..64 characters: a Lambda function name.
bool IsValidLambdaName(std::string_view name);
// Letters, digits, '-' and '_', 1..128 characters, not all digits: a Lambda alias name.
bool IsValidAliasName(std::string_view name);
// A letter, then letters, digits and '-' (at least 2 characters): a Serverless service name.
bool IsValidServiceName(std::string_view name);
// Letters, digits and '-': a Serverless stage.
bool IsValidStage(std::string_view stage);
// Letters, digits and '_', starting with a letter: an environment variable name.
bool IsValidEnvironmentName(std::string_view name);

// "30s", "2m", "1h", "1m30s", or a number of seconds -> seconds. nullopt when malformed.
std::optional<int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace cutover::config
