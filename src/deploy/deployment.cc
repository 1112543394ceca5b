#include "deploy/deployment.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>

namespace cutover::deploy {
namespace {

namespace json = boost::json;

constexpr Phase kPhases[] = {Phase::kStart, Phase::kBeforeAllowTraffic, Phase::kAllowTraffic,
                             Phase::kAfterAllowTraffic, Phase::kEnd};

json::object HookJson(const HookRun& hook) {
  return json::object{{"function_name", hook.function_name}, {"execution_id", hook.execution_id},
                      {"status", hook.status},               {"started_ms", hook.started_ms},
                      {"deadline_ms", hook.deadline_ms},     {"reported_ms", hook.reported_ms}};
}

// Lenient readers: a field missing from an older record reads as its default.
std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}
int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return 0;
}
double Real(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<double>() : 0.0;
}
bool Bool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}
std::vector<std::string> Strings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const json::value& item : v->get_array()) {
    if (item.is_string()) out.emplace_back(item.get_string());
  }
  return out;
}
json::array StringArray(const std::vector<std::string>& values) {
  json::array out;
  for (const std::string& v : values) out.emplace_back(v);
  return out;
}
HookRun HookFrom(const json::object& o, std::string_view key) {
  HookRun hook;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_object()) return hook;
  const json::object& h = v->get_object();
  hook.function_name = Str(h, "function_name");
  hook.execution_id = Str(h, "execution_id");
  hook.status = Str(h, "status");
  hook.started_ms = Int(h, "started_ms");
  hook.deadline_ms = Int(h, "deadline_ms");
  hook.reported_ms = Int(h, "reported_ms");
  return hook;
}

// CodeDeploy's LifecycleEventStatus of a phase, from where the deployment is.
std::string LifecycleStatus(const Deployment& d, Phase phase) {
  const bool ended = !d.active();
  if (phase == d.phase) {
    if (d.status == "Succeeded") return "Succeeded";
    if (ended) return d.status == "Failed" ? "Failed" : "Skipped";
    return "InProgress";
  }
  if (static_cast<int>(phase) < static_cast<int>(d.phase)) {
    const HookRun* hook = phase == Phase::kBeforeAllowTraffic  ? &d.pre_hook
                          : phase == Phase::kAfterAllowTraffic ? &d.post_hook
                                                               : nullptr;
    if (hook != nullptr && hook->function_name.empty()) return "Skipped";
    return "Succeeded";
  }
  return ended ? "Skipped" : "Pending";
}

}  // namespace

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kStart:
      return "Start";
    case Phase::kBeforeAllowTraffic:
      return "BeforeAllowTraffic";
    case Phase::kAllowTraffic:
      return "AllowTraffic";
    case Phase::kAfterAllowTraffic:
      return "AfterAllowTraffic";
    case Phase::kEnd:
      return "End";
  }
  return "Start";
}

bool ShiftsGradually(const config::ServiceSpec& spec, const config::FunctionSpec& function) {
  if (!function.deployment) return false;
  const auto& stages = function.deployment->stages;
  return stages.empty() || std::find(stages.begin(), stages.end(), spec.stage) != stages.end();
}

Result<Deployment> PlanDeployment(const config::ServiceSpec& spec,
                                  const config::FunctionSpec& function,
                                  const store::AliasRecord& alias, uint32_t target,
                                  const std::map<std::string, std::string>& alarm_names,
                                  int64_t now_ms, std::string id) {
  if (!function.deployment) {
    return InvalidArgument(fmt::format("function {} has no deploymentSettings", function.key));
  }
  const config::DeploymentSettings& settings = *function.deployment;
  CUTOVER_ASSIGN_OR_RETURN(TrafficPlan plan, ResolveTrafficPlan(settings, spec.resources));
  Deployment d;
  d.id = std::move(id);
  d.function_name = function.deployed_name;
  d.alias = alias.name;
  d.status = "Created";
  d.created_ms = now_ms;
  d.updated_ms = now_ms;
  d.service = spec.service;
  d.stage = spec.stage;
  d.current_version = alias.primary_version;
  d.target_version = target;
  d.plan = std::move(plan);
  for (const std::string& alarm : settings.alarms) {
    auto it = alarm_names.find(alarm);
    d.alarms.push_back(it != alarm_names.end() ? it->second : alarm);
  }
  d.ignore_alarms_at_start = settings.ignore_alarms_at_start;
  d.hook_timeout_ms = settings.hook_timeout_seconds * 1000;
  auto hook_function = [&](const std::string& key) {
    const config::FunctionSpec* hook = config::FindFunction(spec, key);
    return hook != nullptr ? hook->deployed_name : std::string();
  };
  if (!settings.pre_traffic_hook.empty()) {
    d.pre_hook.function_name = hook_function(settings.pre_traffic_hook);
    d.pre_hook.status = "Pending";
  }
  if (!settings.post_traffic_hook.empty()) {
    d.post_hook.function_name = hook_function(settings.post_traffic_hook);
    d.post_hook.status = "Pending";
  }
  d.triggers = settings.trigger_configurations;
  return d;
}

store::DeploymentRecord EncodeDeployment(const Deployment& d) {
  json::object data{
      {"service", d.service},
      {"stage", d.stage},
      {"current_version", d.current_version},
      {"target_version", d.target_version},
      {"plan", ToJson(d.plan)},
      {"alarms", StringArray(d.alarms)},
      {"ignore_alarms_at_start", d.ignore_alarms_at_start},
      {"alarms_ignored", StringArray(d.alarms_ignored)},
      {"hook_timeout_ms", d.hook_timeout_ms},
      {"pre_hook", HookJson(d.pre_hook)},
      {"post_hook", HookJson(d.post_hook)},
      {"triggers", d.triggers},
      {"phase", PhaseName(d.phase)},
      {"step", d.step},
      {"traffic_started_ms", d.traffic_started_ms},
      {"step_started_ms", d.step_started_ms},
      {"target_weight", d.target_weight},
      {"promote_requested", d.promote_requested},
      {"completed_ms", d.completed_ms},
      {"creator", d.creator},
      {"error_code", d.error_code},
      {"error_message", d.error_message},
      {"rollback_deployment_id", d.rollback_deployment_id},
      {"rollback_triggering_deployment_id", d.rollback_triggering_deployment_id},
      {"rollback_message", d.rollback_message},
      {"last_event_seq", d.last_event_seq},
  };
  return store::DeploymentRecord{d.id,         d.function_name, d.alias,
                                 d.status,     d.created_ms,    d.updated_ms,
                                 json::serialize(data)};
}

Result<Deployment> DecodeDeployment(const store::DeploymentRecord& record) {
  boost::system::error_code ec;
  json::value parsed = json::parse(record.data, ec);
  if (ec || !parsed.is_object()) {
    return InvalidArgument(fmt::format("deployment {}: its data is not a JSON object", record.id));
  }
  const json::object& o = parsed.get_object();
  Deployment d;
  d.id = record.id;
  d.function_name = record.function_name;
  d.alias = record.alias;
  d.status = record.status;
  d.created_ms = record.created_ms;
  d.updated_ms = record.updated_ms;
  d.service = Str(o, "service");
  d.stage = Str(o, "stage");
  d.current_version = static_cast<uint32_t>(Int(o, "current_version"));
  d.target_version = static_cast<uint32_t>(Int(o, "target_version"));
  const json::value* plan = o.if_contains("plan");
  if (plan == nullptr) return InvalidArgument(fmt::format("deployment {} has no plan", record.id));
  auto decoded_plan = TrafficPlanFromJson(*plan);
  if (!decoded_plan.ok()) {
    return InvalidArgument(
        fmt::format("deployment {}: {}", record.id, decoded_plan.status().message()));
  }
  d.plan = std::move(*decoded_plan);
  d.alarms = Strings(o, "alarms");
  d.ignore_alarms_at_start = Bool(o, "ignore_alarms_at_start");
  d.alarms_ignored = Strings(o, "alarms_ignored");
  d.hook_timeout_ms = Int(o, "hook_timeout_ms");
  d.pre_hook = HookFrom(o, "pre_hook");
  d.post_hook = HookFrom(o, "post_hook");
  if (const json::value* triggers = o.if_contains("triggers")) d.triggers = *triggers;
  const std::string phase = Str(o, "phase");
  bool known_phase = false;
  for (Phase p : kPhases) {
    if (PhaseName(p) == phase) {
      d.phase = p;
      known_phase = true;
    }
  }
  if (!known_phase) {
    return InvalidArgument(fmt::format("deployment {}: unknown phase '{}'", record.id, phase));
  }
  d.step = static_cast<size_t>(Int(o, "step"));
  d.traffic_started_ms = Int(o, "traffic_started_ms");
  d.step_started_ms = Int(o, "step_started_ms");
  d.target_weight = Real(o, "target_weight");
  d.promote_requested = Bool(o, "promote_requested");
  d.completed_ms = Int(o, "completed_ms");
  d.creator = Str(o, "creator");
  d.error_code = Str(o, "error_code");
  d.error_message = Str(o, "error_message");
  d.rollback_deployment_id = Str(o, "rollback_deployment_id");
  d.rollback_triggering_deployment_id = Str(o, "rollback_triggering_deployment_id");
  d.rollback_message = Str(o, "rollback_message");
  d.last_event_seq = static_cast<uint64_t>(Int(o, "last_event_seq"));
  return d;
}

json::object DeploymentJson(const Deployment& d) {
  json::object target{{"functionName", d.function_name},
                      {"functionAlias", d.alias},
                      {"currentVersion", std::to_string(d.current_version)},
                      {"targetVersion", std::to_string(d.target_version)},
                      {"targetVersionWeight", d.target_weight}};
  json::array lifecycle;
  for (Phase p : kPhases) {
    json::object event{{"lifecycleEventName", PhaseName(p)}, {"status", LifecycleStatus(d, p)}};
    const HookRun* hook = p == Phase::kBeforeAllowTraffic  ? &d.pre_hook
                          : p == Phase::kAfterAllowTraffic ? &d.post_hook
                                                           : nullptr;
    if (hook != nullptr && !hook->function_name.empty()) {
      event["hook"] = HookJson(*hook);
    }
    lifecycle.push_back(std::move(event));
  }
  json::object out{
      {"deploymentId", d.id},
      {"status", d.status},
      {"creator", d.creator},
      {"service", d.service},
      {"stage", d.stage},
      {"createTime", d.created_ms},
      {"updateTime", d.updated_ms},
      {"completeTime", d.completed_ms == 0 ? json::value(nullptr) : json::value(d.completed_ms)},
      {"deploymentConfigName", d.plan.config_name},
      {"lambdaTarget", std::move(target)},
      {"lifecycleEvents", std::move(lifecycle)},
      {"phase", PhaseName(d.phase)},
      {"plan", ToJson(d.plan)},
      {"step", d.step},
      {"stepStartedTime", d.step_started_ms},
      {"trafficStartedTime", d.traffic_started_ms},
      {"alarms", StringArray(d.alarms)},
      {"promoteRequested", d.promote_requested},
  };
  if (!d.error_code.empty()) {
    out["errorInformation"] = json::object{{"code", d.error_code}, {"message", d.error_message}};
  }
  if (!d.rollback_deployment_id.empty() || !d.rollback_triggering_deployment_id.empty()) {
    json::object info{{"rollbackMessage", d.rollback_message}};
    if (!d.rollback_deployment_id.empty()) info["rollbackDeploymentId"] = d.rollback_deployment_id;
    if (!d.rollback_triggering_deployment_id.empty()) {
      info["rollbackTriggeringDeploymentId"] = d.rollback_triggering_deployment_id;
    }
    out["rollbackInfo"] = std::move(info);
  }
  return out;
}

}  // namespace cutover::deploy
