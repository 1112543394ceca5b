#include "config/service_spec.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <string_view>

#include "config/runtimes.h"
#include "config/spec_parser.h"

namespace cutover::config {
namespace {

namespace json = boost::json;

constexpr std::pair<RuntimeKind, std::string_view> kKindNames[] = {
    {RuntimeKind::kProvided, "provided"},
    {RuntimeKind::kNode, "node"},
    {RuntimeKind::kPython, "python"},
    {RuntimeKind::kPhpFpm, "php-fpm"},
    {RuntimeKind::kPhpFunction, "php-function"},
};

const std::vector<std::string_view> kMethods = {"GET",    "POST",    "PUT",  "PATCH",
                                                "DELETE", "OPTIONS", "HEAD", "ANY"};

// ---- writing ----

json::object LocationToJson(const SourceLocation& where) {
  return json::object{{"file", where.file}, {"line", where.line}, {"column", where.column}};
}

json::array StringsToJson(const std::vector<std::string>& values) {
  json::array array;
  for (const std::string& value : values) array.emplace_back(value);
  return array;
}

json::object DeploymentToJson(const DeploymentSettings& settings) {
  json::array steps;
  for (const TrafficStep& step : settings.steps) {
    steps.push_back(
        json::object{{"weight_percent", step.weight_percent}, {"bake_seconds", step.bake_seconds}});
  }
  return json::object{
      {"type", settings.type},
      {"alias", settings.alias},
      {"pre_traffic_hook", settings.pre_traffic_hook},
      {"post_traffic_hook", settings.post_traffic_hook},
      {"alarms", StringsToJson(settings.alarms)},
      {"steps", std::move(steps)},
      {"stages", StringsToJson(settings.stages)},
      {"trigger_configurations", settings.trigger_configurations},
      {"hook_timeout_seconds", settings.hook_timeout_seconds},
      {"ignore_alarms_at_start", settings.ignore_alarms_at_start},
      {"where", LocationToJson(settings.where)},
  };
}

json::object FunctionToJson(const FunctionSpec& function) {
  json::object environment;
  for (const auto& [name, value] : function.environment) environment[name] = value;
  json::array events;
  for (const HttpEvent& event : function.events) {
    events.push_back(json::object{
        {"kind", event.kind == ApiKind::kRest ? "http" : "httpApi"},
        {"method", event.method},
        {"path", event.path},
        {"where", LocationToJson(event.where)},
    });
  }
  json::object object{
      {"key", function.key},
      {"deployed_name", function.deployed_name},
      {"handler", function.handler},
      {"runtime", function.runtime},
      {"kind", RuntimeKindName(function.kind)},
      {"php_version", function.php_version},
      {"layers", StringsToJson(function.layers)},
      {"timeout_seconds", function.timeout_seconds},
      {"memory_mb", function.memory_mb},
      {"environment", std::move(environment)},
      {"events", std::move(events)},
      {"where", LocationToJson(function.where)},
      {"handler_where", LocationToJson(function.handler_where)},
  };
  object["reserved_concurrency"] = function.reserved_concurrency.has_value()
                                       ? json::value(*function.reserved_concurrency)
                                       : json::value(nullptr);
  object["deployment"] = function.deployment.has_value()
                             ? json::value(DeploymentToJson(*function.deployment))
                             : json::value(nullptr);
  return object;
}

// ---- reading: the daemon receives this from the network, so every field is checked ----

Status Bad(const std::string& path, std::string_view message) {
  return InvalidArgument(fmt::format("invalid service spec: {}: {}", path, message));
}

std::string Sub(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string Index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

Result<const json::object*> AsObject(const json::value& value, const std::string& path) {
  if (!value.is_object()) return Bad(path, "expected an object");
  return &value.get_object();
}

// The field, or nullptr when it is absent (or null) and optional.
Result<const json::value*> Field(const json::object& object, std::string_view key,
                                 const std::string& path, bool required) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) return Bad(Sub(path, key), "missing");
    return static_cast<const json::value*>(nullptr);
  }
  return value;
}

Result<std::string> ReadString(const json::object& object, std::string_view key,
                               const std::string& path, bool required) {
  CUTOVER_ASSIGN_OR_RETURN(const json::value* value, Field(object, key, path, required));
  if (value == nullptr) return std::string();
  if (!value->is_string()) return Bad(Sub(path, key), "expected a string");
  return std::string(value->get_string());
}

Result<int64_t> ReadInt(const json::object& object, std::string_view key, const std::string& path,
                        int64_t min, int64_t max) {
  CUTOVER_ASSIGN_OR_RETURN(const json::value* value, Field(object, key, path, true));
  int64_t result = 0;
  if (value->is_int64()) {
    result = value->get_int64();
  } else if (value->is_uint64() && value->get_uint64() <= static_cast<uint64_t>(max)) {
    result = static_cast<int64_t>(value->get_uint64());
  } else {
    return Bad(Sub(path, key), "expected an integer");
  }
  if (result < min || result > max) {
    return Bad(Sub(path, key), fmt::format("{} is out of range [{}, {}]", result, min, max));
  }
  return result;
}

Result<double> ReadDouble(const json::object& object, std::string_view key,
                          const std::string& path) {
  CUTOVER_ASSIGN_OR_RETURN(const json::value* value, Field(object, key, path, true));
  if (value->is_double()) return value->get_double();
  if (value->is_int64()) return static_cast<double>(value->get_int64());
  if (value->is_uint64()) return static_cast<double>(value->get_uint64());
  return Bad(Sub(path, key), "expected a number");
}

Result<std::vector<std::string>> ReadStrings(const json::object& object, std::string_view key,
                                             const std::string& path) {
  std::vector<std::string> values;
  CUTOVER_ASSIGN_OR_RETURN(const json::value* value, Field(object, key, path, false));
  if (value == nullptr) return values;
  if (!value->is_array()) return Bad(Sub(path, key), "expected an array");
  const json::array& array = value->get_array();
  for (size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) return Bad(Index(Sub(path, key), i), "expected a string");
    values.emplace_back(array[i].get_string());
  }
  return values;
}

Result<SourceLocation> ReadLocation(const json::object& object, std::string_view key,
                                    const std::string& path) {
  SourceLocation where;
  CUTOVER_ASSIGN_OR_RETURN(const json::value* value, Field(object, key, path, false));
  if (value == nullptr) return where;
  std::string sub = Sub(path, key);
  CUTOVER_ASSIGN_OR_RETURN(const json::object* location, AsObject(*value, sub));
  CUTOVER_ASSIGN_OR_RETURN(where.file, ReadString(*location, "file", sub, false));
  CUTOVER_ASSIGN_OR_RETURN(int64_t line, ReadInt(*location, "line", sub, 0, 100'000'000));
  CUTOVER_ASSIGN_OR_RETURN(int64_t column, ReadInt(*location, "column", sub, 0, 100'000'000));
  where.line = static_cast<int>(line);
  where.column = static_cast<int>(column);
  return where;
}

Result<DeploymentSettings> ReadDeployment(const json::object& object, const std::string& path,
                                          const std::set<std::string>& function_keys) {
  DeploymentSettings settings;
  CUTOVER_ASSIGN_OR_RETURN(settings.type, ReadString(object, "type", path, true));
  CUTOVER_ASSIGN_OR_RETURN(settings.alias, ReadString(object, "alias", path, true));
  if (!IsValidAliasName(settings.alias)) return Bad(Sub(path, "alias"), "not a valid alias name");
  CUTOVER_ASSIGN_OR_RETURN(settings.pre_traffic_hook,
                           ReadString(object, "pre_traffic_hook", path, false));
  CUTOVER_ASSIGN_OR_RETURN(settings.post_traffic_hook,
                           ReadString(object, "post_traffic_hook", path, false));
  for (const std::string* hook : {&settings.pre_traffic_hook, &settings.post_traffic_hook}) {
    if (!hook->empty() && function_keys.count(*hook) == 0) {
      return Bad(path, fmt::format("hook '{}' is not a function of the service", *hook));
    }
  }
  CUTOVER_ASSIGN_OR_RETURN(settings.alarms, ReadStrings(object, "alarms", path));
  CUTOVER_ASSIGN_OR_RETURN(settings.stages, ReadStrings(object, "stages", path));
  CUTOVER_ASSIGN_OR_RETURN(const json::value* steps, Field(object, "steps", path, false));
  if (steps != nullptr) {
    std::string steps_path = Sub(path, "steps");
    if (!steps->is_array()) return Bad(steps_path, "expected an array");
    double previous = 0;
    for (size_t i = 0; i < steps->get_array().size(); ++i) {
      std::string step_path = Index(steps_path, i);
      CUTOVER_ASSIGN_OR_RETURN(const json::object* step_object,
                               AsObject(steps->get_array()[i], step_path));
      TrafficStep step;
      CUTOVER_ASSIGN_OR_RETURN(step.weight_percent,
                               ReadDouble(*step_object, "weight_percent", step_path));
      if (!(step.weight_percent > previous && step.weight_percent <= 100)) {
        return Bad(step_path, "weights must increase within (0, 100]");
      }
      previous = step.weight_percent;
      CUTOVER_ASSIGN_OR_RETURN(step.bake_seconds,
                               ReadInt(*step_object, "bake_seconds", step_path, 0, 10'000'000));
      settings.steps.push_back(step);
    }
  }
  if (const json::value* triggers = object.if_contains("trigger_configurations")) {
    settings.trigger_configurations = *triggers;
  }
  if (object.contains("hook_timeout_seconds")) {
    CUTOVER_ASSIGN_OR_RETURN(settings.hook_timeout_seconds,
                             ReadInt(object, "hook_timeout_seconds", path, 1, 48 * 3600));
  }
  if (const json::value* ignore = object.if_contains("ignore_alarms_at_start")) {
    if (!ignore->is_bool()) return Bad(Sub(path, "ignore_alarms_at_start"), "expected a boolean");
    settings.ignore_alarms_at_start = ignore->get_bool();
  }
  CUTOVER_ASSIGN_OR_RETURN(settings.where, ReadLocation(object, "where", path));
  if (settings.type.empty() && settings.steps.empty()) {
    return Bad(Sub(path, "type"), "must not be empty without steps");
  }
  return settings;
}

Result<HttpEvent> ReadEvent(const json::value& value, const std::string& path) {
  CUTOVER_ASSIGN_OR_RETURN(const json::object* object, AsObject(value, path));
  HttpEvent event;
  CUTOVER_ASSIGN_OR_RETURN(std::string kind, ReadString(*object, "kind", path, true));
  if (kind == "http") {
    event.kind = ApiKind::kRest;
  } else if (kind == "httpApi") {
    event.kind = ApiKind::kHttpApi;
  } else {
    return Bad(Sub(path, "kind"), "expected \"http\" or \"httpApi\"");
  }
  CUTOVER_ASSIGN_OR_RETURN(event.method, ReadString(*object, "method", path, true));
  if (std::find(kMethods.begin(), kMethods.end(), event.method) == kMethods.end()) {
    return Bad(Sub(path, "method"), "unknown HTTP method");
  }
  CUTOVER_ASSIGN_OR_RETURN(event.path, ReadString(*object, "path", path, true));
  bool catch_all =
      event.kind == ApiKind::kHttpApi && event.method == "ANY" && event.path == "$default";
  if (!catch_all && (event.path.empty() || event.path[0] != '/')) {
    return Bad(Sub(path, "path"), "must start with '/'");
  }
  CUTOVER_ASSIGN_OR_RETURN(event.where, ReadLocation(*object, "where", path));
  return event;
}

Result<FunctionSpec> ReadFunction(const json::value& value, const std::string& path,
                                  const std::set<std::string>& function_keys) {
  CUTOVER_ASSIGN_OR_RETURN(const json::object* object, AsObject(value, path));
  FunctionSpec function;
  CUTOVER_ASSIGN_OR_RETURN(function.key, ReadString(*object, "key", path, true));
  CUTOVER_ASSIGN_OR_RETURN(function.deployed_name,
                           ReadString(*object, "deployed_name", path, true));
  if (!IsValidLambdaName(function.key)) return Bad(Sub(path, "key"), "not a valid function key");
  if (!IsValidLambdaName(function.deployed_name)) {
    return Bad(Sub(path, "deployed_name"), "not a valid Lambda function name");
  }
  CUTOVER_ASSIGN_OR_RETURN(function.handler, ReadString(*object, "handler", path, true));
  if (!IsSafeRelativePath(function.handler)) {
    return Bad(Sub(path, "handler"), "must be a relative path inside the service directory");
  }
  CUTOVER_ASSIGN_OR_RETURN(function.runtime, ReadString(*object, "runtime", path, true));
  CUTOVER_ASSIGN_OR_RETURN(std::string kind, ReadString(*object, "kind", path, true));
  auto named = std::find_if(std::begin(kKindNames), std::end(kKindNames),
                            [&kind](const auto& entry) { return entry.second == kind; });
  if (named == std::end(kKindNames)) return Bad(Sub(path, "kind"), "unknown runtime kind");
  function.kind = named->first;
  CUTOVER_ASSIGN_OR_RETURN(function.php_version, ReadString(*object, "php_version", path, false));
  // The kind must be what the runtime name means, so a spec cannot point a runtime at another one.
  Result<ResolvedRuntime> resolved = ResolveRuntime(function.runtime, {});
  if (!resolved.ok() || resolved->kind != function.kind ||
      resolved->php_version != function.php_version) {
    return Bad(Sub(path, "runtime"),
               fmt::format("runtime '{}' does not match kind '{}'", function.runtime, kind));
  }
  CUTOVER_ASSIGN_OR_RETURN(function.layers, ReadStrings(*object, "layers", path));
  CUTOVER_ASSIGN_OR_RETURN(int64_t timeout, ReadInt(*object, "timeout_seconds", path, 1, 900));
  CUTOVER_ASSIGN_OR_RETURN(int64_t memory, ReadInt(*object, "memory_mb", path, 128, 10240));
  function.timeout_seconds = static_cast<int>(timeout);
  function.memory_mb = static_cast<int>(memory);
  CUTOVER_ASSIGN_OR_RETURN(const json::value* environment,
                           Field(*object, "environment", path, false));
  if (environment != nullptr) {
    std::string environment_path = Sub(path, "environment");
    CUTOVER_ASSIGN_OR_RETURN(const json::object* variables,
                             AsObject(*environment, environment_path));
    for (const auto& [name, text] : *variables) {
      if (!IsValidEnvironmentName(name)) return Bad(environment_path, "invalid variable name");
      if (!text.is_string()) return Bad(Sub(environment_path, name), "expected a string");
      function.environment[std::string(name)] = std::string(text.get_string());
    }
  }
  if (object->if_contains("reserved_concurrency") != nullptr &&
      !object->at("reserved_concurrency").is_null()) {
    CUTOVER_ASSIGN_OR_RETURN(int64_t reserved,
                             ReadInt(*object, "reserved_concurrency", path, 0, 1'000'000));
    function.reserved_concurrency = static_cast<int>(reserved);
  }
  CUTOVER_ASSIGN_OR_RETURN(const json::value* events, Field(*object, "events", path, false));
  if (events != nullptr) {
    std::string events_path = Sub(path, "events");
    if (!events->is_array()) return Bad(events_path, "expected an array");
    for (size_t i = 0; i < events->get_array().size(); ++i) {
      CUTOVER_ASSIGN_OR_RETURN(HttpEvent event,
                               ReadEvent(events->get_array()[i], Index(events_path, i)));
      function.events.push_back(std::move(event));
    }
  }
  CUTOVER_ASSIGN_OR_RETURN(const json::value* deployment,
                           Field(*object, "deployment", path, false));
  if (deployment != nullptr) {
    std::string deployment_path = Sub(path, "deployment");
    CUTOVER_ASSIGN_OR_RETURN(const json::object* settings, AsObject(*deployment, deployment_path));
    CUTOVER_ASSIGN_OR_RETURN(DeploymentSettings parsed,
                             ReadDeployment(*settings, deployment_path, function_keys));
    function.deployment = std::move(parsed);
  }
  CUTOVER_ASSIGN_OR_RETURN(function.where, ReadLocation(*object, "where", path));
  CUTOVER_ASSIGN_OR_RETURN(function.handler_where, ReadLocation(*object, "handler_where", path));
  return function;
}

Result<ResourceSpec> ReadResource(const json::value& value, const std::string& path) {
  CUTOVER_ASSIGN_OR_RETURN(const json::object* object, AsObject(value, path));
  ResourceSpec resource;
  CUTOVER_ASSIGN_OR_RETURN(resource.logical_id, ReadString(*object, "logical_id", path, true));
  if (resource.logical_id.empty()) return Bad(Sub(path, "logical_id"), "must not be empty");
  CUTOVER_ASSIGN_OR_RETURN(resource.type, ReadString(*object, "type", path, true));
  CUTOVER_ASSIGN_OR_RETURN(const json::value* properties,
                           Field(*object, "properties", path, false));
  if (properties != nullptr) {
    CUTOVER_ASSIGN_OR_RETURN(const json::object* map,
                             AsObject(*properties, Sub(path, "properties")));
    resource.properties = *map;
  }
  CUTOVER_ASSIGN_OR_RETURN(resource.where, ReadLocation(*object, "where", path));
  return resource;
}

}  // namespace

std::string_view RuntimeKindName(RuntimeKind kind) {
  for (const auto& [value, name] : kKindNames) {
    if (value == kind) return name;
  }
  return "unknown";
}

boost::json::value ToJson(const ServiceSpec& spec) {
  json::array functions;
  for (const FunctionSpec& function : spec.functions) functions.push_back(FunctionToJson(function));
  json::array resources;
  for (const ResourceSpec& resource : spec.resources) {
    resources.push_back(json::object{{"logical_id", resource.logical_id},
                                     {"type", resource.type},
                                     {"properties", resource.properties},
                                     {"where", LocationToJson(resource.where)}});
  }
  return json::object{
      {"service", spec.service},
      {"stage", spec.stage},
      {"region", spec.region},
      {"provider_name", spec.provider_name},
      {"api_name", spec.api_name},
      {"plugins", StringsToJson(spec.plugins)},
      {"package_patterns", StringsToJson(spec.package_patterns)},
      {"functions", std::move(functions)},
      {"resources", std::move(resources)},
      {"notices", StringsToJson(spec.notices)},
  };
}

Result<ServiceSpec> ServiceSpecFromJson(const boost::json::value& value) {
  const std::string root;
  CUTOVER_ASSIGN_OR_RETURN(const json::object* object, AsObject(value, "(root)"));
  ServiceSpec spec;
  CUTOVER_ASSIGN_OR_RETURN(spec.service, ReadString(*object, "service", root, true));
  if (!IsValidServiceName(spec.service)) return Bad("service", "not a valid service name");
  CUTOVER_ASSIGN_OR_RETURN(spec.stage, ReadString(*object, "stage", root, true));
  if (!IsValidStage(spec.stage)) return Bad("stage", "not a valid stage");
  CUTOVER_ASSIGN_OR_RETURN(spec.region, ReadString(*object, "region", root, true));
  if (spec.region.empty()) return Bad("region", "must not be empty");
  CUTOVER_ASSIGN_OR_RETURN(spec.provider_name, ReadString(*object, "provider_name", root, true));
  CUTOVER_ASSIGN_OR_RETURN(spec.api_name, ReadString(*object, "api_name", root, true));
  CUTOVER_ASSIGN_OR_RETURN(spec.plugins, ReadStrings(*object, "plugins", root));
  CUTOVER_ASSIGN_OR_RETURN(spec.package_patterns, ReadStrings(*object, "package_patterns", root));
  CUTOVER_ASSIGN_OR_RETURN(spec.notices, ReadStrings(*object, "notices", root));

  CUTOVER_ASSIGN_OR_RETURN(const json::value* functions, Field(*object, "functions", root, false));
  if (functions != nullptr) {
    if (!functions->is_array()) return Bad("functions", "expected an array");
    const json::array& array = functions->get_array();
    // Hooks name other functions, so collect the keys first.
    std::set<std::string> keys;
    for (const json::value& function : array) {
      const json::value* key =
          function.is_object() ? function.get_object().if_contains("key") : nullptr;
      if (key != nullptr && key->is_string()) keys.emplace(key->get_string());
    }
    std::set<std::string> names;
    for (size_t i = 0; i < array.size(); ++i) {
      std::string path = Index("functions", i);
      CUTOVER_ASSIGN_OR_RETURN(FunctionSpec function, ReadFunction(array[i], path, keys));
      if (FindFunction(spec, function.key) != nullptr) {
        return Bad(path, fmt::format("function key '{}' appears twice", function.key));
      }
      if (!names.insert(function.deployed_name).second) {
        return Bad(path, fmt::format("function name '{}' appears twice", function.deployed_name));
      }
      spec.functions.push_back(std::move(function));
    }
  }
  CUTOVER_ASSIGN_OR_RETURN(const json::value* resources, Field(*object, "resources", root, false));
  if (resources != nullptr) {
    if (!resources->is_array()) return Bad("resources", "expected an array");
    for (size_t i = 0; i < resources->get_array().size(); ++i) {
      CUTOVER_ASSIGN_OR_RETURN(ResourceSpec resource,
                               ReadResource(resources->get_array()[i], Index("resources", i)));
      spec.resources.push_back(std::move(resource));
    }
  }
  return spec;
}

const FunctionSpec* FindFunction(const ServiceSpec& spec, std::string_view key) {
  for (const FunctionSpec& function : spec.functions) {
    if (function.key == key) return &function;
  }
  return nullptr;
}

}  // namespace cutover::config
