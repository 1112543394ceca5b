// How deployments and their events read for people: pure functions from the admin API's JSON — a
// deployment D (CodeDeploy-shaped: deploymentId, status, lambdaTarget, plan, step, ...) and its
// events E ({seq, time, type, data}) — to lines of text. `cutover deployments`, `deploy --wait` and
// the live view all print through here, so a deployment reads the same everywhere.
//
// Times are the daemon's clock (epoch ms), which `serve --time-scale N` runs N times fast; they
// print as UTC like the other commands. Missing or mistyped fields read as empty (json_fields.h).
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/output.h"

namespace cutover::cli {

// Succeeded, Failed or Stopped.
bool DeploymentEnded(const boost::json::object& deployment);

// `deploy --wait`'s exit code: 0 when every deployment Succeeded, else 1 (one failed, was stopped
// or rolled back, or had not ended). 0 for none.
int WaitExitCode(const std::vector<boost::json::object>& deployments);

// 450 -> "450 ms", 3200 -> "3.2 s", 245000 -> "4m 05s", 3720000 -> "1h 02m".
std::string FormatDuration(int64_t ms);

// "CodeDeployDefault.LambdaLinear10PercentEvery1Minute" -> "Linear10PercentEvery1Minute".
std::string ShortConfigName(std::string_view config_name);

// The alias as an event's `weights` ({currentVersion, currentWeight, targetVersion, targetWeight})
// put it: "Live → 2 (70%) + 3 (30%)", or "Live → 3" at 0 or 100 %; "Live → ?" without weights.
std::string WeightsText(std::string_view alias, const boost::json::object& weights);

// The alias where D leaves it: "Live → 2 (70%) + 3 (30%)" from lambdaTarget.
std::string DeploymentAliasText(const boost::json::object& deployment);

// One alarm of an event's evidence: "ApiGateway5XXErrorAlarm ALARM [0, 3, 7] > 1" (datapoints
// oldest first, "-" for a period without data).
std::string AlarmText(const boost::json::object& alarm);

// "step 3/9" while the deployment holds a step below 100 %, "100%" past the last one.
std::string StepText(int64_t step, int64_t steps);

// One line for an event, without the deployment id: "12:00:03 TrafficShifted step 3/9, Live → 2
// (70%) + 3 (30%); alarms OK; next shift 12:01:03". `alias` names the alias in weights.
std::string EventLine(const boost::json::object& event, std::string_view alias, const Style& style);

// The evidence behind a decision, indented, for `cutover deployments ID`: each alarm's state and
// datapoints against its threshold, a hook's outcome. Empty for events that decide nothing.
std::vector<std::string> EventEvidenceLines(const boost::json::object& event,
                                            std::string_view alias);

// The list of `cutover deployments`: id, function:alias, versions, config, status, created,
// weight.
Table DeploymentTable(const std::vector<boost::json::object>& deployments);

// The head of `cutover deployments ID`: status, target, versions, config, times, lifecycle,
// error and rollback.
std::vector<std::string> DeploymentDetailLines(const boost::json::object& deployment,
                                               const Style& style);

// How a deployment that ended ended, from D and its events: "Succeeded in 9m 02s: Live → 3", or
// for a rollback the alarm that fired with its datapoints against the threshold, when it went into
// ALARM, and the time from then to the RolledBack event (the alias flip). `scale` is the daemon's
// --time-scale when known (> 1 adds the real time). Empty while the deployment runs.
std::vector<std::string> OutcomeLines(const boost::json::object& deployment,
                                      const std::vector<boost::json::object>& events,
                                      const Style& style, double scale = 1.0);

// Per-version traffic for the live view, over the last few seconds; nullopt = unknown (no data or
// the query failed), shown as "-".
struct VersionStats {
  std::optional<double> requests_per_second;
  std::optional<double> errors_per_second;  // Lambda Errors: the function failed
  std::optional<double> p99_ms;             // Lambda Duration p99
};
struct LiveStats {
  std::map<std::string, VersionStats> versions;  // by version ("2")
  std::optional<double> api_5xx_per_second;      // API Gateway 5XXError of the service's API
  // The deployment's alarms as `GET /v1/alarms` has them now, by name; an alarm missing here is
  // shown as the last event saw it.
  std::map<std::string, boost::json::object> alarms;
};

// The live view of one deployment, redrawn in place by `deploy --wait` on a terminal: the
// header, the step with a bar of current vs target weight and the time to the next step, each
// version's req/s, errors and p99, each alarm's state; the outcome once it ended.
// `daemon_now_ms` is the daemon's clock now and `scale` how fast it runs (for the countdown).
std::vector<std::string> LiveViewLines(const boost::json::object& deployment,
                                       const std::vector<boost::json::object>& events,
                                       const LiveStats& stats, int64_t daemon_now_ms, double scale,
                                       const Style& style);

}  // namespace cutover::cli
