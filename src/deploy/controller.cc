#include "deploy/controller.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "common/ids.h"

namespace cutover::deploy {

namespace json = boost::json;

namespace {

// A transition goes through at most this many changes in one tick (Created → Start → hooks →
// first step …); the rest waits for the next tick.
constexpr int kMaxChangesPerTick = 16;

json::object Weights(const Deployment& d) {
  return json::object{
      {"currentVersion", d.current_version},
      {"currentWeight", 1.0 - d.target_weight},
      {"targetVersion", d.target_version},
      {"targetWeight", d.target_weight},
  };
}

bool ValidDeploymentId(std::string_view id) {
  if (id.size() != 11 || !id.starts_with("d-")) return false;
  return std::all_of(id.begin() + 2, id.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

}  // namespace

struct DeploymentController::Change {
  explicit Change(Deployment d) : deployment(std::move(d)) {}

  Deployment deployment;  // as it will be stored
  std::vector<std::pair<std::string, json::object>> events;
  std::optional<store::AliasRecord> alias;  // the alias after the change, when it moves
  std::optional<Deployment> rollback;       // a rollback deployment created by the change
  std::vector<std::pair<std::string, json::object>> rollback_events;
  std::optional<double> prewarm_weight;  // warm the target for this share after the commit

  void Event(std::string type, json::object data) {
    events.emplace_back(std::move(type), std::move(data));
  }
};

std::string_view HookReportErrorName(HookReportError error) {
  switch (error) {
    case HookReportError::kNone:
      return "";
    case HookReportError::kDeploymentIdRequired:
      return "DeploymentIdRequiredException";
    case HookReportError::kInvalidDeploymentId:
      return "InvalidDeploymentIdException";
    case HookReportError::kDeploymentDoesNotExist:
      return "DeploymentDoesNotExistException";
    case HookReportError::kInvalidExecutionId:
      return "InvalidLifecycleEventHookExecutionIdException";
    case HookReportError::kInvalidStatus:
      return "InvalidLifecycleEventHookExecutionStatusException";
    case HookReportError::kAlreadyCompleted:
      return "LifecycleEventAlreadyCompletedException";
    case HookReportError::kStore:
      return "ServiceUnavailableException";
  }
  return "";
}

DeploymentController::DeploymentController(store::StateStore& store, Publisher& publisher,
                                           const Clock& clock, ControllerPorts ports,
                                           uint64_t random_seed)
    : store_(store),
      publisher_(publisher),
      clock_(clock),
      ports_(std::move(ports)),
      random_(random_seed != 0 ? Random(random_seed) : Random::FromEntropy()) {}

// ---- Reading

Result<Deployment> DeploymentController::Get(const std::string& id) const {
  std::optional<store::DeploymentRecord> record;
  CUTOVER_RETURN_IF_ERROR(store_.Read([&](store::StoreTxn& txn) -> Status {
    CUTOVER_ASSIGN_OR_RETURN(record, txn.GetDeployment(id));
    return Status::Ok();
  }));
  if (!record) return NotFound(fmt::format("no deployment {}", id));
  return DecodeDeployment(*record);
}

Result<std::vector<Deployment>> DeploymentController::List(const std::string& function_name,
                                                           size_t limit) const {
  std::vector<store::DeploymentRecord> records;
  CUTOVER_RETURN_IF_ERROR(store_.Read([&](store::StoreTxn& txn) -> Status {
    CUTOVER_ASSIGN_OR_RETURN(records, txn.ListDeployments(function_name, limit));
    return Status::Ok();
  }));
  std::vector<Deployment> out;
  for (const auto& record : records) {
    auto decoded = DecodeDeployment(record);
    if (decoded.ok()) out.push_back(std::move(*decoded));
  }
  return out;
}

Result<std::vector<store::DeploymentEventRecord>> DeploymentController::Events(
    const std::string& id, uint64_t after_seq) const {
  std::vector<store::DeploymentEventRecord> events;
  CUTOVER_RETURN_IF_ERROR(store_.Read([&](store::StoreTxn& txn) -> Status {
    CUTOVER_ASSIGN_OR_RETURN(events, txn.ListDeploymentEvents(id, after_seq));
    return Status::Ok();
  }));
  return events;
}

// ---- The tick

void DeploymentController::Tick() {
  std::vector<store::DeploymentRecord> active;
  Status st = store_.Read([&](store::StoreTxn& txn) -> Status {
    CUTOVER_ASSIGN_OR_RETURN(active, txn.ListActiveDeployments());
    return Status::Ok();
  });
  if (!st.ok()) {
    spdlog::error("deployments: cannot read the active deployments: {}", st.ToString());
    return;
  }
  for (const auto& record : active) {
    auto d = DecodeDeployment(record);
    if (!d.ok()) {
      if (broken_.insert(record.id).second) {
        spdlog::error("deployment {}: {}; it is left as it is", record.id, d.status().ToString());
      }
      continue;
    }
    Advance(std::move(*d));
  }
}

void DeploymentController::Advance(Deployment d) {
  for (int i = 0; i < kMaxChangesPerTick; ++i) {
    std::optional<Change> change = Next(d, ToEpochMillis(clock_.Now()));
    if (!change) break;
    Deployment next = change->deployment;
    Status st = Apply(std::move(*change));
    if (!st.ok()) {
      // Nothing was written or published; the next tick tries again from the stored state.
      spdlog::error("deployment {}: a transition failed and will be retried: {}", d.id,
                    st.ToString());
      return;
    }
    auto stored = Get(d.id);
    if (!stored.ok()) return;
    d = std::move(*stored);
    if (!d.active()) break;
  }
  RunSideEffects(d);
}

std::vector<const alarms::AlarmView*> DeploymentController::FiringAlarms(
    const Deployment& d) const {
  std::vector<const alarms::AlarmView*> out;
  if (!ports_.alarm) return out;
  for (const std::string& name : d.alarms) {
    if (std::find(d.alarms_ignored.begin(), d.alarms_ignored.end(), name) !=
        d.alarms_ignored.end()) {
      continue;
    }
    const alarms::AlarmView* view = ports_.alarm(name);
    if (view != nullptr && view->state == alarms::AlarmState::kAlarm) out.push_back(view);
  }
  return out;
}

json::array DeploymentController::AlarmEvidence(const Deployment& d) const {
  json::array out;
  for (const std::string& name : d.alarms) {
    const alarms::AlarmView* view = ports_.alarm ? ports_.alarm(name) : nullptr;
    if (view == nullptr) {
      if (warned_alarms_.insert(name).second) {
        spdlog::warn("deployment {}: alarm {} does not exist; it can never stop the deployment",
                     d.id, name);
      }
      out.push_back(json::object{{"name", name}, {"state", "UNKNOWN"}});
      continue;
    }
    json::array datapoints;
    for (const alarms::Datapoint& p : view->last_range) {
      datapoints.push_back(json::object{
          {"timestamp", ToEpochMillis(p.timestamp)},
          {"value", p.value ? json::value(*p.value) : json::value(nullptr)}});
    }
    json::object entry{
        {"name", name},
        {"state", alarms::AlarmStateName(view->state)},
        {"reason", view->reason},
        {"stateChangeTime", view->updated_ms},
        {"evaluatedTime", view->evaluated_ms},
        {"threshold", view->spec.threshold},
        {"comparison", alarms::ComparisonName(view->spec.comparison)},
        {"datapoints", std::move(datapoints)},
    };
    if (!view->reason_data.empty()) {
      boost::system::error_code ec;
      json::value data = json::parse(view->reason_data, ec);
      if (!ec) entry["reasonData"] = std::move(data);
    }
    if (std::find(d.alarms_ignored.begin(), d.alarms_ignored.end(), name) !=
        d.alarms_ignored.end()) {
      entry["ignored"] = true;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

DeploymentController::Change DeploymentController::Rollback(const Deployment& d, int64_t now_ms,
                                                            const std::string& status,
                                                            const std::string& error_code,
                                                            const std::string& message,
                                                            json::value evidence,
                                                            bool roll_back) {
  Change c{d};
  Deployment& n = c.deployment;
  const double weight_at_stop = n.target_weight;
  n.status = status;
  n.error_code = error_code;
  n.error_message = message;
  n.completed_ms = now_ms;
  c.Event(status == "Failed" ? "DeploymentFailed" : "DeploymentStopped",
          json::object{{"errorCode", error_code},
                       {"message", message},
                       {"phase", PhaseName(n.phase)},
                       {"weights", Weights(n)},
                       {"evidence", std::move(evidence)},
                       {"rollback", roll_back}});
  if (!roll_back) return c;

  Deployment r;
  r.id = NewDeploymentId(random_);
  r.function_name = n.function_name;
  r.alias = n.alias;
  r.status = "Succeeded";
  r.created_ms = now_ms;
  r.updated_ms = now_ms;
  r.completed_ms = now_ms;
  r.service = n.service;
  r.stage = n.stage;
  r.current_version = n.target_version;
  r.target_version = n.current_version;
  r.plan.config_name = "CodeDeployDefault.LambdaAllAtOnce";
  r.plan.type = "AllAtOnce";
  r.phase = Phase::kEnd;
  r.target_weight = 1.0;
  r.creator = "codeDeployRollback";
  r.rollback_triggering_deployment_id = n.id;
  r.rollback_message = fmt::format("Rollback of {}: {}", n.id, message);
  r.triggers = n.triggers;
  n.rollback_deployment_id = r.id;
  n.rollback_message = r.rollback_message;
  n.target_weight = 0;
  c.alias = store::AliasRecord{n.function_name, n.alias, n.current_version, 0, 0.0, now_ms};
  c.Event("RolledBack", json::object{{"rollbackDeploymentId", r.id},
                                     {"targetWeightAtStop", weight_at_stop},
                                     {"weights", Weights(n)}});
  c.rollback_events.emplace_back(
      "RollbackCreated", json::object{{"triggeringDeploymentId", n.id},
                                      {"message", r.rollback_message},
                                      {"weights", Weights(r)}});
  c.rollback_events.emplace_back("RollbackSucceeded", json::object{{"weights", Weights(r)}});
  c.rollback = std::move(r);
  return c;
}

std::optional<DeploymentController::Change> DeploymentController::Next(const Deployment& d,
                                                                        int64_t now_ms) {
  // The weights that put `weight` of the alias on the target.
  auto shift = [&](Change& c, double weight, json::object extra) {
    Deployment& n = c.deployment;
    n.target_weight = weight;
    c.alias = weight >= 1.0 ? store::AliasRecord{n.function_name, n.alias, n.target_version, 0,
                                                 0.0, now_ms}
                            : store::AliasRecord{n.function_name, n.alias, n.current_version,
                                                 n.target_version, weight, now_ms};
    json::object data{{"step", n.step},
                      {"steps", n.plan.steps.size()},
                      {"weights", Weights(n)},
                      {"alarms", AlarmEvidence(n)}};
    if (n.step < n.plan.steps.size()) {
      data["nextShiftTime"] = n.step_started_ms + n.plan.steps[n.step].hold_ms;
      // Warm for the share the next step will give, a whole step ahead of it.
      c.prewarm_weight =
          n.step + 1 < n.plan.steps.size() ? n.plan.steps[n.step + 1].weight : 1.0;
    }
    for (auto& [k, v] : extra) data[k] = v;
    c.Event("TrafficShifted", std::move(data));
  };

  if (d.status == "Created") {
    Change c{d};
    Deployment& n = c.deployment;
    n.status = "InProgress";
    c.Event("DeploymentStarted", json::object{{"currentVersion", n.current_version},
                                              {"targetVersion", n.target_version},
                                              {"deploymentConfigName", n.plan.config_name},
                                              {"plan", ToJson(n.plan)}});
    c.Event("LifecycleEvent", json::object{{"name", "Start"}, {"status", "Succeeded"}});
    n.phase = Phase::kBeforeAllowTraffic;
    auto firing = FiringAlarms(n);
    if (!firing.empty()) {
      if (n.ignore_alarms_at_start) {
        for (const auto* view : firing) n.alarms_ignored.push_back(view->spec.alarm_name);
        c.Event("AlarmsIgnoredAtStart", json::object{{"alarms", AlarmEvidence(n)}});
      } else {
        Change stopped = Rollback(
            n, now_ms, "Stopped", "ALARM_ACTIVE",
            fmt::format("alarm {} was already in ALARM when the deployment started (set "
                        "ignoreAlarmsAtStart to deploy a fix for a live error)",
                        firing.front()->spec.alarm_name),
            AlarmEvidence(n), true);
        stopped.events.insert(stopped.events.begin(), c.events.begin(), c.events.end());
        return stopped;
      }
    }
    // Warm the target for the first step's share before the pre-traffic hook runs.
    c.prewarm_weight = n.plan.steps.empty() ? 1.0 : n.plan.steps.front().weight;
    return c;
  }
  if (!d.active()) return std::nullopt;

  // A redeploy may have removed the function, or its deploymentSettings (and with them the alias):
  // there is nothing left to shift, and the alias record is no longer the platform's to move.
  const FunctionState* function = publisher_.FindFunction(d.function_name);
  if (function == nullptr || !function->alias || function->alias->name != d.alias) {
    Change gone{d};
    gone.deployment.status = "Failed";
    gone.deployment.error_code = "INVALID_LAMBDA_CONFIGURATION";
    gone.deployment.error_message =
        fmt::format("{}:{} is no longer deployed with deploymentSettings", d.function_name, d.alias);
    gone.deployment.completed_ms = now_ms;
    gone.Event("DeploymentFailed", json::object{{"errorCode", gone.deployment.error_code},
                                                {"message", gone.deployment.error_message},
                                                {"phase", PhaseName(d.phase)},
                                                {"weights", Weights(d)},
                                                {"rollback", false}});
    return gone;
  }

  Change c{d};
  Deployment& n = c.deployment;
  bool changed = false;
  // An alarm ignored at the start is watched again once it has left ALARM.
  for (auto it = n.alarms_ignored.begin(); it != n.alarms_ignored.end();) {
    const alarms::AlarmView* view = ports_.alarm ? ports_.alarm(*it) : nullptr;
    if (view == nullptr || view->state != alarms::AlarmState::kAlarm) {
      c.Event("AlarmWatched", json::object{{"name", *it}});
      it = n.alarms_ignored.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (auto firing = FiringAlarms(n); !firing.empty()) {
    const alarms::AlarmView* view = firing.front();
    Change stopped = Rollback(
        n, now_ms, "Stopped", "ALARM_ACTIVE",
        fmt::format("alarm {} went into ALARM: {}", view->spec.alarm_name, view->reason),
        AlarmEvidence(n), true);
    stopped.events.insert(stopped.events.begin(), c.events.begin(), c.events.end());
    return stopped;
  }

  // A hook phase: start the hook, wait for its report, fail on Failed or on its deadline.
  // Returns true when the phase may end.
  enum class HookStep { kDone, kWait, kFailed };
  auto run_hook = [&](HookRun& hook) -> HookStep {
    if (hook.function_name.empty()) return HookStep::kDone;
    const std::string phase(PhaseName(n.phase));
    if (hook.status == "Pending" || hook.status.empty()) {
      hook.execution_id = NewRequestId(random_);
      hook.status = "InProgress";
      hook.started_ms = now_ms;
      hook.deadline_ms = now_ms + n.hook_timeout_ms;
      c.Event("HookStarted", json::object{{"phase", phase},
                                          {"function", hook.function_name},
                                          {"executionId", hook.execution_id},
                                          {"deadline", hook.deadline_ms}});
      changed = true;
      return HookStep::kWait;
    }
    if (hook.status == "Succeeded") return HookStep::kDone;
    if (hook.status == "Failed" || now_ms >= hook.deadline_ms) {
      const bool timed_out = hook.status != "Failed";
      std::string message =
          timed_out ? fmt::format("the {} hook {} did not report its status within {} s", phase,
                                  hook.function_name, n.hook_timeout_ms / 1000)
                    : fmt::format("the {} hook {} reported Failed", phase, hook.function_name);
      Change failed = Rollback(n, now_ms, "Failed", "HOOK_EXECUTION_FAILURE", message,
                               json::object{{"hook", hook.function_name},
                                            {"executionId", hook.execution_id},
                                            {"timedOut", timed_out}},
                               true);
      failed.events.insert(failed.events.begin(), c.events.begin(), c.events.end());
      c = std::move(failed);
      return HookStep::kFailed;
    }
    return HookStep::kWait;
  };

  switch (n.phase) {
    case Phase::kStart:  // a record stored between the two (older daemons); move on
      n.phase = Phase::kBeforeAllowTraffic;
      return c;
    case Phase::kBeforeAllowTraffic: {
      // A fleet: every node must be able to run the target before the hook tests it and before
      // any node is sent traffic for it.
      if (ports_.version_ready && n.pre_hook.status != "InProgress" &&
          n.pre_hook.status != "Succeeded") {
        if (auto waiting = ports_.version_ready(n.function_name, n.target_version)) {
          auto [since, first] = waiting_for_nodes_.try_emplace(n.id, now_ms);
          if (now_ms - since->second >= kNodesReadyTimeoutMs) {
            waiting_for_nodes_.erase(since);
            Change failed = Rollback(
                n, now_ms, "Failed", "TIMEOUT",
                fmt::format("not every node loaded version {} within {} s: {}", n.target_version,
                            kNodesReadyTimeoutMs / 1000, *waiting),
                json::object{{"waiting", *waiting}}, true);
            failed.events.insert(failed.events.begin(), c.events.begin(), c.events.end());
            return failed;
          }
          if (first) {
            c.Event("WaitingForNodes",
                    json::object{{"targetVersion", n.target_version}, {"waiting", *waiting}});
            return c;
          }
          return changed ? std::optional<Change>(std::move(c)) : std::nullopt;
        }
        if (waiting_for_nodes_.erase(n.id) > 0) {
          c.Event("NodesReady", json::object{{"targetVersion", n.target_version}});
          changed = true;
        }
      }
      HookStep step = run_hook(n.pre_hook);
      if (step == HookStep::kFailed) return c;
      if (step == HookStep::kWait) return changed ? std::optional<Change>(std::move(c)) : std::nullopt;
      c.Event("LifecycleEvent",
              json::object{{"name", "BeforeAllowTraffic"},
                           {"status", n.pre_hook.function_name.empty() ? "Skipped" : "Succeeded"}});
      n.phase = Phase::kAllowTraffic;
      n.traffic_started_ms = now_ms;
      n.step = 0;
      n.step_started_ms = now_ms;
      shift(c, n.plan.steps.empty() ? 1.0 : n.plan.steps.front().weight, {});
      return c;
    }
    case Phase::kAllowTraffic: {
      const size_t steps = n.plan.steps.size();
      if (n.step < steps) {
        const bool due = now_ms >= n.step_started_ms + n.plan.steps[n.step].hold_ms;
        if (!due && !n.promote_requested) {
          return changed ? std::optional<Change>(std::move(c)) : std::nullopt;
        }
        n.step = n.promote_requested ? steps : n.step + 1;
        n.step_started_ms = now_ms;
        shift(c, n.step < steps ? n.plan.steps[n.step].weight : 1.0,
              json::object{{"promoted", n.promote_requested}});
        return c;
      }
      if (!n.promote_requested && now_ms < n.step_started_ms + n.plan.final_hold_ms) {
        return changed ? std::optional<Change>(std::move(c)) : std::nullopt;
      }
      c.Event("LifecycleEvent", json::object{{"name", "AllowTraffic"}, {"status", "Succeeded"}});
      n.phase = Phase::kAfterAllowTraffic;
      return c;
    }
    case Phase::kAfterAllowTraffic: {
      HookStep step = run_hook(n.post_hook);
      if (step == HookStep::kFailed) return c;
      if (step == HookStep::kWait) return changed ? std::optional<Change>(std::move(c)) : std::nullopt;
      c.Event("LifecycleEvent",
              json::object{{"name", "AfterAllowTraffic"},
                           {"status", n.post_hook.function_name.empty() ? "Skipped" : "Succeeded"}});
      c.Event("LifecycleEvent", json::object{{"name", "End"}, {"status", "Succeeded"}});
      n.phase = Phase::kEnd;
      n.status = "Succeeded";
      n.completed_ms = now_ms;
      c.Event("DeploymentSucceeded",
              json::object{{"weights", Weights(n)},
                           {"durationMs", now_ms - n.created_ms},
                           {"alarms", AlarmEvidence(n)}});
      return c;
    }
    case Phase::kEnd:
      break;
  }
  return changed ? std::optional<Change>(std::move(c)) : std::nullopt;
}

Status DeploymentController::Apply(Change change) {
  const int64_t now_ms = ToEpochMillis(clock_.Now());
  auto records = [now_ms](Deployment& d,
                          std::vector<std::pair<std::string, json::object>>& events) {
    std::vector<store::DeploymentEventRecord> out;
    for (auto& [type, data] : events) {
      out.push_back({d.id, ++d.last_event_seq, now_ms, type, json::serialize(data)});
    }
    d.updated_ms = now_ms;
    return out;
  };
  Deployment& d = change.deployment;
  auto events = records(d, change.events);
  std::vector<store::DeploymentEventRecord> rollback_events;
  if (change.rollback) rollback_events = records(*change.rollback, change.rollback_events);

  CUTOVER_RETURN_IF_ERROR(publisher_.CommitAlias(change.alias, [&](store::StoreTxn& txn) -> Status {
    CUTOVER_RETURN_IF_ERROR(txn.PutDeployment(EncodeDeployment(d)));
    for (const auto& e : events) CUTOVER_RETURN_IF_ERROR(txn.AppendDeploymentEvent(e));
    if (change.rollback) {
      // Ids are random; a collision must not overwrite another deployment (the retry draws anew).
      CUTOVER_ASSIGN_OR_RETURN(auto existing, txn.GetDeployment(change.rollback->id));
      if (existing) return Internal("deployment id " + change.rollback->id + " is taken");
      CUTOVER_RETURN_IF_ERROR(txn.PutDeployment(EncodeDeployment(*change.rollback)));
      for (const auto& e : rollback_events) CUTOVER_RETURN_IF_ERROR(txn.AppendDeploymentEvent(e));
    }
    return Status::Ok();
  }));

  // Committed and published: tell the world.
  for (const auto& e : events) {
    spdlog::info("deployment {} {}: {} {}", d.id, d.status, e.type, e.data);
  }
  if (ports_.on_events) {
    ports_.on_events(d, events);
    if (change.rollback) ports_.on_events(*change.rollback, rollback_events);
  }
  if (change.prewarm_weight && ports_.prewarm && d.active()) {
    const int running = ports_.instances ? ports_.instances(d.function_name, d.current_version) : 0;
    const int count = std::max(1, static_cast<int>(std::ceil(running * *change.prewarm_weight)));
    ports_.prewarm(d.function_name, d.target_version, count);
  }
  return Status::Ok();
}

void DeploymentController::RunSideEffects(const Deployment& d) {
  if (!d.active() || !ports_.invoke_hook) return;
  const HookRun* hook = d.phase == Phase::kBeforeAllowTraffic  ? &d.pre_hook
                        : d.phase == Phase::kAfterAllowTraffic ? &d.post_hook
                                                               : nullptr;
  if (hook == nullptr || hook->status != "InProgress") return;
  if (!invoked_hooks_.insert(hook->execution_id).second) return;
  json::object payload{{"DeploymentId", d.id},
                       {"LifecycleEventHookExecutionId", hook->execution_id},
                       {"FunctionName", d.function_name},
                       {"Alias", d.alias},
                       {"CurrentVersion", std::to_string(d.current_version)},
                       {"TargetVersion", std::to_string(d.target_version)}};
  spdlog::info("deployment {}: invoking the {} hook {}", d.id, PhaseName(d.phase),
               hook->function_name);
  ports_.invoke_hook(hook->function_name, json::serialize(payload));
}

void NotifyTriggers(TriggerDispatcher& dispatcher, const Deployment& d,
                    std::string_view event_type) {
  std::string_view trigger;
  if (event_type == "DeploymentStarted") trigger = kDeploymentStart;
  if (event_type == "DeploymentSucceeded") trigger = kDeploymentSuccess;
  if (event_type == "DeploymentFailed") trigger = kDeploymentFailure;
  if (event_type == "DeploymentStopped") trigger = kDeploymentStop;
  if (event_type == "RollbackCreated") trigger = kDeploymentRollback;
  if (trigger.empty() || d.triggers.is_null()) return;
  auto configs = ParseTriggerConfigurations(d.triggers);
  if (!configs.ok()) return;  // checked at publish; a stored record cannot be worse
  DeploymentNotice notice;
  notice.event = std::string(trigger);
  notice.deployment_id = d.id;
  notice.application_name = d.service + "-" + d.stage;
  // The plugin names the group <stack>-<FunctionLogicalId>DeploymentGroup; the function's deployed
  // name is the closest thing to it here.
  notice.deployment_group_name = d.function_name + "-" + d.alias;
  notice.region = "us-east-1";
  notice.status = d.status;
  notice.error_code = d.error_code;
  notice.error_message = d.error_message;
  notice.create_ms = d.created_ms;
  notice.complete_ms = d.completed_ms;
  if (d.status == "Succeeded") notice.succeeded = 1;
  else if (d.status == "Failed") notice.failed = 1;
  else if (d.status == "Stopped") notice.skipped = 1;
  else notice.in_progress = 1;
  dispatcher.Notify(*configs, notice);
}

// ---- Commands

Result<Deployment> DeploymentController::Stop(const std::string& id, bool rollback) {
  CUTOVER_ASSIGN_OR_RETURN(Deployment d, Get(id));
  if (!d.active()) {
    return FailedPrecondition(fmt::format("deployment {} has already ended ({})", id, d.status));
  }
  const int64_t now_ms = ToEpochMillis(clock_.Now());
  CUTOVER_RETURN_IF_ERROR(
      Apply(Rollback(d, now_ms, "Stopped", "MANUAL_STOP",
                     rollback ? "stopped and rolled back by a user" : "stopped by a user",
                     json::object{{"weightsAtStop", Weights(d)}}, rollback)));
  return Get(id);
}

Result<Deployment> DeploymentController::Promote(const std::string& id) {
  CUTOVER_ASSIGN_OR_RETURN(Deployment d, Get(id));
  if (!d.active()) {
    return FailedPrecondition(fmt::format("deployment {} has already ended ({})", id, d.status));
  }
  if (!d.promote_requested) {
    Change c{d};
    c.deployment.promote_requested = true;
    c.Event("PromoteRequested", json::object{{"phase", PhaseName(d.phase)}, {"weights", Weights(d)}});
    CUTOVER_RETURN_IF_ERROR(Apply(std::move(c)));
  }
  CUTOVER_ASSIGN_OR_RETURN(d, Get(id));
  Advance(std::move(d));
  return Get(id);
}

HookReport DeploymentController::ReportHook(const std::string& deployment_id,
                                            const std::string& execution_id,
                                            const std::string& status) {
  auto fail = [](HookReportError error, std::string message) {
    return HookReport{error, std::move(message)};
  };
  if (deployment_id.empty()) {
    return fail(HookReportError::kDeploymentIdRequired, "deploymentId is required");
  }
  if (!ValidDeploymentId(deployment_id)) {
    return fail(HookReportError::kInvalidDeploymentId,
                fmt::format("{} is not a deployment id (d- and 9 letters or digits)",
                            deployment_id));
  }
  if (status != "Succeeded" && status != "Failed") {
    return fail(HookReportError::kInvalidStatus,
                fmt::format("status must be Succeeded or Failed, not '{}'", status));
  }
  auto got = Get(deployment_id);
  if (!got.ok()) {
    if (got.status().code() == StatusCode::kNotFound) {
      return fail(HookReportError::kDeploymentDoesNotExist,
                  fmt::format("deployment {} does not exist", deployment_id));
    }
    return fail(HookReportError::kStore, got.status().ToString());
  }
  Deployment d = std::move(*got);
  HookRun* hook = nullptr;
  Phase phase = Phase::kBeforeAllowTraffic;
  if (!execution_id.empty() && d.pre_hook.execution_id == execution_id) {
    hook = &d.pre_hook;
  } else if (!execution_id.empty() && d.post_hook.execution_id == execution_id) {
    hook = &d.post_hook;
    phase = Phase::kAfterAllowTraffic;
  }
  if (hook == nullptr) {
    return fail(HookReportError::kInvalidExecutionId,
                fmt::format("{} is not a lifecycle event hook execution of {}", execution_id,
                            deployment_id));
  }
  if (hook->status != "InProgress" || !d.active()) {
    return fail(HookReportError::kAlreadyCompleted,
                fmt::format("the {} hook of {} has already completed ({})", PhaseName(phase),
                            deployment_id, d.active() ? hook->status : d.status));
  }
  const int64_t now_ms = ToEpochMillis(clock_.Now());
  Change c{d};
  HookRun& h = phase == Phase::kBeforeAllowTraffic ? c.deployment.pre_hook : c.deployment.post_hook;
  h.status = status;
  h.reported_ms = now_ms;
  c.Event("HookReported", json::object{{"phase", PhaseName(phase)},
                                       {"function", h.function_name},
                                       {"executionId", execution_id},
                                       {"status", status},
                                       {"afterMs", now_ms - h.started_ms}});
  Status st = Apply(std::move(c));
  if (!st.ok()) return fail(HookReportError::kStore, st.ToString());
  // Act on it now rather than on the next tick.
  if (auto stored = Get(deployment_id); stored.ok()) Advance(std::move(*stored));
  return HookReport{};
}

}  // namespace cutover::deploy
