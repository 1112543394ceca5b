// deploymentSettings (serverless-plugin-canary-deployments) plus cutover's `steps` extension.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "config/spec_parser.h"

namespace cutover::config {
namespace {

// clang-format off
const KeyTable kFunctionSettingsKeys = {
    .handled = {
        "type", "alias", "preTrafficHook", "postTrafficHook", "alarms", "triggerConfigurations",
        "steps", "hookTimeout", "ignoreAlarmsAtStart"},
    .ignored = {
        "codeDeployRole", "codeDeployRolePermissionsBoundary"},
};

const KeyTable kDefaultSettingsKeys = {
    .handled = {
        "type", "alias", "preTrafficHook", "postTrafficHook", "alarms", "triggerConfigurations",
        "steps", "stages", "hookTimeout", "ignoreAlarmsAtStart"},
    .ignored = {
        "codeDeployRole", "codeDeployRolePermissionsBoundary"},
};

const KeyTable kStepKeys = {.handled = {"weight", "bake"}, .ignored = {}};
const KeyTable kAlarmKeys = {.handled = {"name"}, .ignored = {}};

// The plugin's short names; it turns each into CodeDeployDefault.Lambda<name>.
const std::vector<std::string_view> kPredefinedTypes = {
    "Canary10Percent5Minutes", "Canary10Percent10Minutes", "Canary10Percent15Minutes",
    "Canary10Percent30Minutes", "Linear10PercentEvery1Minute", "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes", "Linear10PercentEvery10Minutes", "AllAtOnce"};
// clang-format on

constexpr std::string_view kFullTypePrefix = "CodeDeployDefault.Lambda";

bool IsPredefinedType(std::string_view type) {
  if (type.substr(0, kFullTypePrefix.size()) == kFullTypePrefix) {
    type.remove_prefix(kFullTypePrefix.size());
  }
  return std::find(kPredefinedTypes.begin(), kPredefinedTypes.end(), type) !=
         kPredefinedTypes.end();
}

bool NamesDeploymentConfig(std::string_view type, const std::vector<ResourceSpec>& resources) {
  for (const ResourceSpec& resource : resources) {
    if (resource.type != "AWS::CodeDeploy::DeploymentConfig") continue;
    if (resource.logical_id == type) return true;
    const boost::json::value* name = resource.properties.if_contains("DeploymentConfigName");
    if (name != nullptr && name->is_string() && name->get_string() == type) return true;
  }
  return false;
}

// Where each parsed value came from, for the checks that need the merged view.
struct SettingsNodes {
  const ConfigNode* type = nullptr;
  const ConfigNode* pre_traffic_hook = nullptr;
  const ConfigNode* post_traffic_hook = nullptr;
  std::vector<const ConfigNode*> alarms;  // one per DeploymentSettings::alarms entry
  std::vector<bool> alarm_is_logical_id;
};

Status ParseAlarms(ParseContext& context, const ConfigNode& node, DeploymentSettings& settings,
                   SettingsNodes& nodes) {
  if (node.IsNull()) return Status::Ok();
  CUTOVER_RETURN_IF_ERROR(context.ExpectList(node, "alarms"));
  for (const NodePtr& item : node.items) {
    if (item->IsMap()) {
      CUTOVER_RETURN_IF_ERROR(context.CheckKeys(
          *item, kAlarmKeys, "in an alarm of deploymentSettings", "deploymentSettings.alarms"));
      const MapEntry* name = item->Find("name");
      if (name == nullptr) return context.Error(*item, "an alarm given as a mapping needs 'name'");
      CUTOVER_ASSIGN_OR_RETURN(std::string value, context.NonEmptyString(*name->value, "name"));
      settings.alarms.push_back(std::move(value));
      nodes.alarms.push_back(name->value.get());
      nodes.alarm_is_logical_id.push_back(false);
    } else {
      CUTOVER_ASSIGN_OR_RETURN(std::string value,
                               context.NonEmptyString(*item, "each entry of alarms"));
      settings.alarms.push_back(std::move(value));
      nodes.alarms.push_back(item.get());
      nodes.alarm_is_logical_id.push_back(true);
    }
  }
  return Status::Ok();
}

Status ParseSteps(ParseContext& context, const ConfigNode& node, DeploymentSettings& settings) {
  if (node.IsNull()) return Status::Ok();
  CUTOVER_RETURN_IF_ERROR(context.ExpectList(node, "steps"));
  double previous = 0;
  for (const NodePtr& item : node.items) {
    CUTOVER_RETURN_IF_ERROR(context.ExpectMap(*item, "each entry of steps"));
    CUTOVER_RETURN_IF_ERROR(
        context.CheckKeys(*item, kStepKeys, "in a step of deploymentSettings", ""));
    const MapEntry* weight = item->Find("weight");
    if (weight == nullptr) return context.Error(*item, "each step needs a 'weight' (percent)");
    CUTOVER_ASSIGN_OR_RETURN(double percent, context.Number(*weight->value, "weight"));
    if (percent <= 0 || percent > 100) {
      return context.Error(*weight->value,
                           fmt::format("step weight must be in (0, 100], got {}", percent));
    }
    if (percent <= previous) {
      return context.Error(*weight->value, fmt::format("step weights must increase: {} follows {}",
                                                       percent, previous));
    }
    previous = percent;
    TrafficStep step;
    step.weight_percent = percent;
    if (const MapEntry* bake = item->Find("bake")) {
      std::optional<int64_t> seconds;
      if (bake->value->IsScalar()) seconds = ParseDurationSeconds(bake->value->scalar);
      if (!seconds.has_value()) {
        return context.Error(*bake->value,
                             fmt::format("bake must be a duration like 30s, 2m, 1h or a number of "
                                         "seconds, got {}",
                                         DescribeNode(*bake->value)));
      }
      step.bake_seconds = *seconds;
    }
    settings.steps.push_back(step);
  }
  return Status::Ok();
}

// Reads whichever keys are present, checking their types. Required keys and references to functions
// and resources are checked by the caller on the merged result.
Status ParseEntries(ParseContext& context, const std::vector<const MapEntry*>& entries,
                    DeploymentSettings& settings, SettingsNodes& nodes) {
  for (const MapEntry* entry : entries) {
    const std::string& key = entry->key;
    const ConfigNode& value = *entry->value;
    if (key == "type") {
      CUTOVER_ASSIGN_OR_RETURN(settings.type, context.NonEmptyString(value, "type"));
      nodes.type = &value;
    } else if (key == "alias") {
      CUTOVER_ASSIGN_OR_RETURN(settings.alias, context.NonEmptyString(value, "alias"));
      if (!IsValidAliasName(settings.alias)) {
        return context.Error(value, fmt::format("alias '{}' is not a valid Lambda alias name "
                                                "(letters, digits, '-' and '_', not only digits)",
                                                settings.alias));
      }
    } else if (key == "preTrafficHook") {
      CUTOVER_ASSIGN_OR_RETURN(settings.pre_traffic_hook,
                               context.NonEmptyString(value, "preTrafficHook"));
      nodes.pre_traffic_hook = &value;
    } else if (key == "postTrafficHook") {
      CUTOVER_ASSIGN_OR_RETURN(settings.post_traffic_hook,
                               context.NonEmptyString(value, "postTrafficHook"));
      nodes.post_traffic_hook = &value;
    } else if (key == "alarms") {
      CUTOVER_RETURN_IF_ERROR(ParseAlarms(context, value, settings, nodes));
    } else if (key == "triggerConfigurations") {
      settings.trigger_configurations = NodeToJson(value);
    } else if (key == "steps") {
      CUTOVER_RETURN_IF_ERROR(ParseSteps(context, value, settings));
    } else if (key == "hookTimeout") {
      std::optional<int64_t> seconds;
      if (value.IsScalar()) seconds = ParseDurationSeconds(value.scalar);
      // CodeDeploy bounds a Lambda deployment at 48 h of shifting plus 1 h per hook.
      if (!seconds.has_value() || *seconds < 1 || *seconds > 48 * 3600) {
        return context.Error(value, fmt::format("hookTimeout must be a duration from 1s to 48h "
                                                "like 30s, 10m or 1h, got {}",
                                                DescribeNode(value)));
      }
      settings.hook_timeout_seconds = *seconds;
    } else if (key == "ignoreAlarmsAtStart") {
      CUTOVER_ASSIGN_OR_RETURN(settings.ignore_alarms_at_start,
                               context.Bool(value, "ignoreAlarmsAtStart"));
    } else if (key == "stages") {
      if (value.IsScalar()) {
        settings.stages.push_back(value.scalar);
      } else {
        CUTOVER_ASSIGN_OR_RETURN(settings.stages, context.StringList(value, "stages"));
      }
    }
  }
  return Status::Ok();
}

Status CheckHook(ParseContext& context, const ConfigNode* node, const std::string& hook,
                 std::string_view which, std::string_view function_key,
                 const ServiceContext& service) {
  if (hook.empty()) return Status::Ok();
  if (hook == function_key) {
    return context.Error(*node, fmt::format("function '{}' cannot be its own {}", hook, which));
  }
  if (std::find(service.function_keys.begin(), service.function_keys.end(), hook) ==
      service.function_keys.end()) {
    return context.Error(*node, fmt::format("{} '{}' is not a function of this service{}", which,
                                            hook, DidYouMean(hook, service.function_keys)));
  }
  return Status::Ok();
}

}  // namespace

std::optional<int64_t> ParseDurationSeconds(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits_start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    size_t digits = i - digits_start;
    if (digits == 0 || digits > 9) return std::nullopt;
    int64_t number = std::stoll(std::string(text.substr(digits_start, digits)));
    if (i == text.size()) {
      if (digits_start != 0) return std::nullopt;  // "1m30" is ambiguous
      return number;
    }
    switch (text[i]) {
      case 's':
        total += number;
        break;
      case 'm':
        total += number * 60;
        break;
      case 'h':
        total += number * 3600;
        break;
      default:
        return std::nullopt;
    }
    ++i;
  }
  return total;
}

Status CheckDeploymentDefaults(ParseContext& context, const ConfigNode& defaults) {
  if (defaults.IsNull()) return Status::Ok();
  CUTOVER_RETURN_IF_ERROR(context.ExpectMap(defaults, "custom.deploymentSettings"));
  CUTOVER_RETURN_IF_ERROR(context.CheckKeys(
      defaults, kDefaultSettingsKeys, "in custom.deploymentSettings", "custom.deploymentSettings"));
  std::vector<const MapEntry*> entries;
  for (const MapEntry& entry : defaults.entries) entries.push_back(&entry);
  DeploymentSettings ignored;
  SettingsNodes nodes;
  return ParseEntries(context, entries, ignored, nodes);
}

Result<DeploymentSettings> ParseDeploymentSettings(ParseContext& context,
                                                   const ConfigNode& settings, Mark key_mark,
                                                   std::string_view function_key,
                                                   const ServiceContext& service) {
  std::string what = fmt::format("deploymentSettings of function '{}'", function_key);
  std::vector<const MapEntry*> merged;
  if (service.deployment_defaults != nullptr && service.deployment_defaults->IsMap()) {
    for (const MapEntry& entry : service.deployment_defaults->entries) merged.push_back(&entry);
  }
  if (!settings.IsNull()) {
    CUTOVER_RETURN_IF_ERROR(context.ExpectMap(settings, what));
    if (const MapEntry* stages = settings.Find("stages")) {
      return context.Error(stages->key_mark,
                           "'stages' is read from custom.deploymentSettings only");
    }
    CUTOVER_RETURN_IF_ERROR(
        context.CheckKeys(settings, kFunctionSettingsKeys, fmt::format("in {}", what),
                          fmt::format("functions.{}.deploymentSettings", function_key)));
    for (const MapEntry& entry : settings.entries) {
      auto same_key = [&entry](const MapEntry* other) { return other->key == entry.key; };
      merged.erase(std::remove_if(merged.begin(), merged.end(), same_key), merged.end());
      merged.push_back(&entry);
    }
  }

  DeploymentSettings result;
  result.where = context.Locate(key_mark);
  SettingsNodes nodes;
  CUTOVER_RETURN_IF_ERROR(ParseEntries(context, merged, result, nodes));
  // With steps, `type` may be left out: cutover follows the steps, and a type, when given, is what
  // AWS would use for the same file.
  if (result.type.empty() && result.steps.empty()) {
    return context.Error(key_mark, fmt::format("{} has no 'type' (set it there or in "
                                               "custom.deploymentSettings, or give steps)",
                                               what));
  }
  if (result.alias.empty()) {
    return context.Error(key_mark, fmt::format("{} has no 'alias' (set it there or in "
                                               "custom.deploymentSettings)",
                                               what));
  }
  if (!IsPredefinedType(result.type) && result.steps.empty() &&
      !NamesDeploymentConfig(result.type, *service.resources)) {
    return context.Error(
        *nodes.type,
        fmt::format("unknown deployment type '{}'{} (use a predefined one such as "
                    "Linear10PercentEvery1Minute, the name of an AWS::CodeDeploy::DeploymentConfig "
                    "resource, or give steps)",
                    result.type, DidYouMean(result.type, kPredefinedTypes)));
  }
  CUTOVER_RETURN_IF_ERROR(CheckHook(context, nodes.pre_traffic_hook, result.pre_traffic_hook,
                                    "preTrafficHook", function_key, service));
  CUTOVER_RETURN_IF_ERROR(CheckHook(context, nodes.post_traffic_hook, result.post_traffic_hook,
                                    "postTrafficHook", function_key, service));
  std::vector<std::string_view> alarm_ids;
  for (const ResourceSpec& resource : *service.resources) {
    if (resource.type == "AWS::CloudWatch::Alarm") alarm_ids.push_back(resource.logical_id);
  }
  for (size_t i = 0; i < result.alarms.size(); ++i) {
    if (!nodes.alarm_is_logical_id[i]) continue;
    const std::string& alarm = result.alarms[i];
    if (std::find(alarm_ids.begin(), alarm_ids.end(), alarm) != alarm_ids.end()) continue;
    return context.Error(*nodes.alarms[i],
                         fmt::format("alarm '{}' is not an AWS::CloudWatch::Alarm in "
                                     "resources.Resources{} (write {{name: {}}} for an alarm "
                                     "defined elsewhere)",
                                     alarm, DidYouMean(alarm, alarm_ids), alarm));
  }
  return result;
}

}  // namespace cutover::config
