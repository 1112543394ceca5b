// DeploymentController: runs deployments the way CodeDeploy runs them for Lambda aliases.
//
// Each control tick it reads the active deployments from the store and advances each one as far as
// the time, its hooks and its alarms allow: Start → BeforeAllowTraffic (pre-traffic hook) →
// AllowTraffic (the plan's steps) → AfterAllowTraffic (post-traffic hook) → End. Every transition
// is one store transaction — the deployment record, its new events and the alias weights together
// (Publisher::CommitAlias) — and only after it commits is the route table published and anything
// announced. The controller keeps no state of its own that matters: a daemon killed at any instant
// restarts, reads the same records and continues, with the remaining wait of a step computed from
// the stored step start.
//
// Alarms are checked on every tick. One in ALARM stops the deployment (Stopped, ALARM_ACTIVE); a
// failed or silent hook fails it (Failed, HOOK_EXECUTION_FAILURE); a user may stop it. Each of
// those with rollback writes, in the same transaction, a rollback deployment (creator
// codeDeployRollback, Succeeded at once) and the alias at 100 % of the old version.
//
// Side effects that follow from the stored state are re-derived after a restart rather than
// remembered: a hook that is InProgress and was not invoked by this process is invoked (hooks are
// invoked asynchronously, at least once, as Lambda's asynchronous invocations are), and the target
// version is pre-warmed before each rise of its weight.
//
// Thread-safety: control loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <map>
#include <optional>
#include <vector>

#include "alarms/engine.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "deploy/deployment.h"
#include "deploy/publisher.h"
#include "deploy/triggers.h"
#include "store/state_store.h"

namespace cutover::deploy {

// What the controller asks of the rest of the daemon; each may be left empty in tests.
struct ControllerPorts {
  // Reads an alarm's current state (null: unknown alarm, treated as not in ALARM and logged once).
  std::function<const alarms::AlarmView*(const std::string& alarm_name)> alarm;
  // Invokes a hook function asynchronously (Lambda's Event invocation) with `payload`.
  std::function<void(const std::string& function_name, const std::string& payload)> invoke_hook;
  // Starts `count` instances of a version (at least), without waiting for them.
  std::function<void(const std::string& function_name, uint32_t version, int count)> prewarm;
  // How many instances a version runs now (busy or idle), to pre-warm in proportion.
  std::function<int(const std::string& function_name, uint32_t version)> instances;
  // In a fleet: nullopt when every node can run `version` (it has the package and answered a
  // pre-warm); otherwise which nodes are still waited for. No weight moves, and no hook runs,
  // before it says ready. Empty: one node, always ready.
  std::function<std::optional<std::string>(const std::string& function_name, uint32_t version)>
      version_ready;
  // After every committed transition: the deployment as stored and the events just appended.
  std::function<void(const Deployment&, const std::vector<store::DeploymentEventRecord>&)>
      on_events;
};

// CodeDeploy's PutLifecycleEventHookExecutionStatus errors, by their exception names.
enum class HookReportError {
  kNone,
  kDeploymentIdRequired,        // DeploymentIdRequiredException
  kInvalidDeploymentId,         // InvalidDeploymentIdException
  kDeploymentDoesNotExist,      // DeploymentDoesNotExistException
  kInvalidExecutionId,          // InvalidLifecycleEventHookExecutionIdException
  kInvalidStatus,               // InvalidLifecycleEventHookExecutionStatusException
  kAlreadyCompleted,            // LifecycleEventAlreadyCompletedException
  kStore,                       // the store failed (ServiceUnavailable)
};
std::string_view HookReportErrorName(HookReportError error);

struct HookReport {
  HookReportError error = HookReportError::kNone;
  std::string message;
};

// Sends the CodeDeploy trigger event that the deployment event `event_type` stands for, if any
// (DeploymentStarted → DeploymentStart, DeploymentSucceeded → DeploymentSuccess, DeploymentFailed
// → DeploymentFailure, DeploymentStopped → DeploymentStop, RollbackCreated → DeploymentRollback)
// to the deployment's triggers.
void NotifyTriggers(TriggerDispatcher& dispatcher, const Deployment& deployment,
                    std::string_view event_type);

class DeploymentController final {
 public:
  DeploymentController(store::StateStore& store, Publisher& publisher, const Clock& clock,
                       ControllerPorts ports, uint64_t random_seed = 0);

  // Advances every active deployment as far as it can go now.
  void Tick();

  Result<Deployment> Get(const std::string& id) const;
  // Newest first; of one function, or all when `function_name` is empty.
  Result<std::vector<Deployment>> List(const std::string& function_name, size_t limit) const;
  Result<std::vector<store::DeploymentEventRecord>> Events(const std::string& id,
                                                           uint64_t after_seq) const;

  // Stops an active deployment. With `rollback` the alias returns to 100 % of the version it
  // served before (CodeDeploy's "Stop and roll back"); without, the weights stay as they are and
  // the next deployment of the alias starts from its primary version. NotFound, or
  // FailedPrecondition when the deployment has ended.
  Result<Deployment> Stop(const std::string& id, bool rollback);
  // Skips the remaining waits of AllowTraffic: the next tick shifts to 100 % and runs the
  // post-traffic hook. A pending pre-traffic hook must still report first.
  Result<Deployment> Promote(const std::string& id);

  // PutLifecycleEventHookExecutionStatus: `status` is "Succeeded" or "Failed".
  HookReport ReportHook(const std::string& deployment_id, const std::string& execution_id,
                        const std::string& status);

 private:
  struct Change;
  // One transition of `d` at `now_ms`, or nullopt when it has to wait.
  std::optional<Change> Next(const Deployment& d, int64_t now_ms);
  Change Rollback(const Deployment& d, int64_t now_ms, const std::string& status,
                  const std::string& error_code, const std::string& message,
                  boost::json::value evidence, bool roll_back);
  Status Apply(Change change);
  void Advance(Deployment d);
  void RunSideEffects(const Deployment& d);
  // The alarms of `d` that are in ALARM now and not ignored.
  std::vector<const alarms::AlarmView*> FiringAlarms(const Deployment& d) const;
  boost::json::array AlarmEvidence(const Deployment& d) const;

  store::StateStore& store_;
  Publisher& publisher_;
  const Clock& clock_;
  ControllerPorts ports_;
  Random random_;
  std::set<std::string> invoked_hooks_;     // execution ids this process has invoked
  mutable std::set<std::string> warned_alarms_;  // unknown alarm names already logged
  std::set<std::string> broken_;            // deployments whose record does not decode (logged)
  // Deployments waiting for every node to load their target: since when (deployment clock).
  std::map<std::string, int64_t> waiting_for_nodes_;
};

// How long a deployment waits for every node of a fleet to load its target version before it
// fails with TIMEOUT, in the deployment's clock (scaled by --time-scale).
inline constexpr int64_t kNodesReadyTimeoutMs = 5 * 60 * 1000;

}  // namespace cutover::deploy
