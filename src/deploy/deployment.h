// Deployment: one deployment of a new version to an alias, as the controller reads and writes it.
//
// A store::DeploymentRecord carries the keys and the status; everything else travels in its `data`
// as the JSON this file encodes (EncodeDeployment / DecodeDeployment), so the store stays ignorant
// of deployment rules and a new field needs no schema migration.
//
// Statuses follow CodeDeploy: Created (published, not yet picked up), InProgress (Start …
// AfterAllowTraffic), then Succeeded, Failed (a hook failed or timed out) or Stopped (an alarm,
// or a user). A rollback is a new deployment (creator "codeDeployRollback") that moves the alias
// back in the same transaction that ends the one it rolls back, and is Succeeded at birth.
//
// Thread-safety: values.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/service_spec.h"
#include "deploy/traffic_plan.h"
#include "store/state_store.h"

namespace cutover::deploy {

// CodeDeploy's lifecycle events for Lambda, in order.
enum class Phase { kStart, kBeforeAllowTraffic, kAllowTraffic, kAfterAllowTraffic, kEnd };
std::string_view PhaseName(Phase phase);

// One run of a pre- or post-traffic hook.
struct HookRun {
  std::string function_name;  // the hook's deployed name; empty = no hook for this phase
  std::string execution_id;   // LifecycleEventHookExecutionId; set when the hook is started
  std::string status;         // "Pending", "InProgress", "Succeeded", "Failed"
  int64_t started_ms = 0;
  int64_t deadline_ms = 0;    // started_ms + the hook timeout
  int64_t reported_ms = 0;
};

struct Deployment {
  // The record's columns.
  std::string id;
  std::string function_name;
  std::string alias;
  std::string status = "Created";
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  // The rest, in `data`.
  std::string service;
  std::string stage;
  uint32_t current_version = 0;  // the version the alias serves when the deployment starts
  uint32_t target_version = 0;
  TrafficPlan plan;
  std::vector<std::string> alarms;  // AlarmNames checked on every tick
  bool ignore_alarms_at_start = false;
  // Alarms in ALARM when the deployment started, ignored (ignoreAlarmsAtStart) until they leave it.
  std::vector<std::string> alarms_ignored;
  int64_t hook_timeout_ms = 3'600'000;
  HookRun pre_hook;
  HookRun post_hook;
  boost::json::value triggers;  // deploymentSettings.triggerConfigurations as written

  Phase phase = Phase::kStart;
  size_t step = 0;                  // index into plan.steps; == size(): at 100 %
  int64_t traffic_started_ms = 0;   // AllowTraffic began
  int64_t step_started_ms = 0;      // the current step began
  double target_weight = 0;         // the new version's share of the alias right now
  bool promote_requested = false;
  int64_t completed_ms = 0;

  std::string creator = "user";     // "user" or "codeDeployRollback"
  std::string error_code;           // CodeDeploy's ErrorCode when it failed or stopped
  std::string error_message;
  std::string rollback_deployment_id;             // set on a deployment that was rolled back
  std::string rollback_triggering_deployment_id;  // set on a rollback deployment
  std::string rollback_message;
  uint64_t last_event_seq = 0;

  bool active() const { return store::IsActiveDeploymentStatus(status); }
};

// A new deployment (status Created) that will move `alias` from the version it serves to `target`,
// for `function` of `spec`. `alarm_names` maps the service's alarm logical ids to their AlarmNames
// (deploymentSettings.alarms may name either). When the alias is split (a deployment stopped
// without rollback), the deployment starts from its primary version. InvalidArgument with
// file:line:col when the deployment configuration does not resolve.
Result<Deployment> PlanDeployment(const config::ServiceSpec& spec,
                                  const config::FunctionSpec& function,
                                  const store::AliasRecord& alias, uint32_t target,
                                  const std::map<std::string, std::string>& alarm_names,
                                  int64_t now_ms, std::string id);

// True when `function`'s deployments shift gradually in this stage
// (custom.deploymentSettings.stages, when given, lists the stages that do).
bool ShiftsGradually(const config::ServiceSpec& spec, const config::FunctionSpec& function);

store::DeploymentRecord EncodeDeployment(const Deployment& deployment);
// InvalidArgument when `data` does not decode.
Result<Deployment> DecodeDeployment(const store::DeploymentRecord& record);

// CodeDeploy's shape for the API and the CLI: deploymentId, status, creator, timestamps,
// lambdaTarget {functionName, functionAlias, currentVersion, targetVersion, targetVersionWeight},
// lifecycleEvents, errorInformation, rollbackInfo, plus cutover's plan and step.
boost::json::object DeploymentJson(const Deployment& deployment);

}  // namespace cutover::deploy
