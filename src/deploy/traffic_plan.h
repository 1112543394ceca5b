// TrafficPlan: how a deployment configuration moves an alias' traffic to the new version over time.
//
// The nine predefined CodeDeploy configurations (under their short and CodeDeployDefault.Lambda…
// names), `AWS::CodeDeploy::DeploymentConfig` resources (TimeBasedCanary / TimeBasedLinear /
// AllAtOnce, within CodeDeploy's limits) and cutover's `deploymentSettings.steps` extension all
// become the same thing: a list of steps, each a weight on the new version held for a time, after
// which the new version takes 100 %.
//
// Timing, a stated choice where AWS documents none (aws-semantics.md 1.1): AllowTraffic starts at
// the first step's weight. Linear P% every I minutes shifts P% at the start of each increment, so
// 10% every minute holds 10%, 20% … 90% for a minute each and reaches 100% after 9 minutes (not
// 10: the tenth increment would be the 100% itself). Canary P% I minutes holds P% for I minutes,
// then 100%. AllAtOnce goes to 100% at once. A `steps` list holds each weight for its bake; when
// its last weight is 100, that bake is how long 100% is held before AfterAllowTraffic.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/service_spec.h"

namespace cutover::deploy {

struct PlanStep {
  double weight = 0;     // the new version's share, in (0, 1)
  int64_t hold_ms = 0;   // how long it is held before the next step
};

struct TrafficPlan {
  // "CodeDeployDefault.LambdaLinear10PercentEvery1Minute", a custom config's name, or "steps".
  std::string config_name;
  std::string type;  // "TimeBasedLinear", "TimeBasedCanary", "AllAtOnce" or "Steps"
  std::vector<PlanStep> steps;  // every step below 100%, in order
  int64_t final_hold_ms = 0;    // 100% held this long before AfterAllowTraffic (steps only)

  // From the first step to 100%.
  int64_t ShiftingMs() const;
  // The new version's share `elapsed_ms` after AllowTraffic began (1.0 once shifting is over).
  double WeightAt(int64_t elapsed_ms) const;
};

// CodeDeploy's limits for custom Lambda configurations (aws-semantics.md 1.2).
inline constexpr int kMaxPercentPerIncrement = 99;
inline constexpr int64_t kMaxShiftingMinutes = 2880;

// The plan for `settings` (already merged with custom.deploymentSettings). `resources` are the
// service's, searched for an AWS::CodeDeploy::DeploymentConfig named by settings.type (its logical
// id or its DeploymentConfigName). InvalidArgument with "file:line:col: message" when the type is
// unknown or the resource breaks CodeDeploy's rules.
Result<TrafficPlan> ResolveTrafficPlan(const config::DeploymentSettings& settings,
                                       const std::vector<config::ResourceSpec>& resources);

boost::json::object ToJson(const TrafficPlan& plan);
Result<TrafficPlan> TrafficPlanFromJson(const boost::json::value& json);

}  // namespace cutover::deploy
