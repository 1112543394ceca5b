#include "cli/deployment_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <sstream>

#include "cli/json_fields.h"

namespace cutover::cli {
namespace {

namespace json = boost::json;

constexpr int kBarWidth = 30;

// What a missing field reads as, by reference like json_fields.h's readers.
const json::object kNoObject;
const json::array kNoArray;

std::string Number(const json::value* v) {
  if (v == nullptr || !v->is_number()) return "-";
  return fmt::format("{:g}", v->to_number<double>());
}

// CloudWatch's ComparisonOperator as the sign a reader expects after the datapoints.
std::string ComparisonSign(std::string_view comparison) {
  if (comparison == "GreaterThanThreshold") return ">";
  if (comparison == "GreaterThanOrEqualToThreshold") return ">=";
  if (comparison == "LessThanThreshold") return "<";
  if (comparison == "LessThanOrEqualToThreshold") return "<=";
  return std::string(comparison);
}

std::string StateColored(const Style& style, std::string_view state) {
  if (state == "OK") return style.Green(state);
  if (state == "ALARM") return style.Red(state);
  return style.Yellow(state);
}

std::string StatusColored(const Style& style, std::string_view status) {
  if (status == "Succeeded") return style.Green(status);
  if (status == "Failed" || status == "Stopped") return style.Red(status);
  return style.Yellow(status);
}

const json::object* LastEventOf(const std::vector<json::object>& events,
                                std::initializer_list<std::string_view> types) {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    const std::string type = GetString(*it, {"type"});
    if (std::find(types.begin(), types.end(), type) != types.end()) return &*it;
  }
  return nullptr;
}

// The alarms an event judged: TrafficShifted, DeploymentSucceeded and AlarmsIgnoredAtStart carry
// them in `alarms`, a stop in `evidence` (which is an object when a hook or a user decided).
const json::array& EventAlarms(const json::object& data) {
  const json::array& alarms = GetArray(data, {"alarms"});
  return alarms.empty() ? GetArray(data, {"evidence"}) : alarms;
}

// The alarms that stopped a deployment: those in ALARM that were not being ignored.
std::vector<const json::object*> FiringAlarms(const json::object& data) {
  std::vector<const json::object*> out;
  for (const json::value& v : EventAlarms(data)) {
    const json::object& alarm = AsObject(v);
    if (GetString(alarm, {"state"}) == "ALARM" && !GetBool(alarm, "ignored")) out.push_back(&alarm);
  }
  return out;
}

// "alarms OK", or the alarms that are not OK with their state.
std::string AlarmSummary(const json::array& alarms) {
  std::vector<std::string> not_ok;
  for (const json::value& v : alarms) {
    const json::object& alarm = AsObject(v);
    const std::string state = GetString(alarm, {"state"});
    if (state != "OK") not_ok.push_back(fmt::format("{} {}", GetString(alarm, {"name"}), state));
  }
  if (not_ok.empty()) return alarms.empty() ? "" : "alarms OK";
  return fmt::format("alarms: {}", fmt::join(not_ok, ", "));
}

// "1m 00s" per step, or the steps' weights and holds when they differ.
std::string PlanText(const json::object& plan) {
  const json::array& steps = GetArray(plan, {"steps"});
  const std::string type = GetString(plan, {"type"});
  if (steps.empty()) return type.empty() ? "all at once" : type;
  std::vector<std::string> parts;
  for (const json::value& v : steps) {
    const json::object& step = AsObject(v);
    parts.push_back(fmt::format("{} for {}", FormatPercent(GetDouble(step, {"weight"})),
                                FormatDuration(GetInt(step, {"hold_ms"}))));
  }
  if (parts.size() > 4) {
    parts.erase(parts.begin() + 2, parts.end() - 1);
    parts.insert(parts.end() - 1, "…");
  }
  std::string text = fmt::format("{}, {} step{}: {}", type, steps.size(),
                                 steps.size() == 1 ? "" : "s", fmt::join(parts, ", "));
  if (int64_t hold = GetInt(plan, {"final_hold_ms"}); hold > 0) {
    text += fmt::format(", then 100% for {}", FormatDuration(hold));
  }
  return text;
}

// "2 → 3" from lambdaTarget (whose versions are strings).
std::string VersionsText(const json::object& target) {
  return fmt::format("{} → {}", GetString(target, {"currentVersion"}, "?"),
                     GetString(target, {"targetVersion"}, "?"));
}

// The hook of a lifecycle event of D (DeploymentJson puts it there), or an empty object.
const json::object& LifecycleHook(const json::object& deployment, std::string_view phase) {
  for (const json::value& v : GetArray(deployment, {"lifecycleEvents"})) {
    const json::object& event = AsObject(v);
    if (GetString(event, {"lifecycleEventName"}) == phase) return GetObject(event, {"hook"});
  }
  return kNoObject;
}

std::string HookEvidence(const json::object& evidence) {
  const std::string hook = GetString(evidence, {"hook"});
  if (hook.empty()) return "";
  return fmt::format("hook {} {} (execution {})", hook,
                     GetBool(evidence, "timedOut") ? "did not report in time" : "reported Failed",
                     GetString(evidence, {"executionId"}, "?"));
}

// The lines a Table prints (it prints to a stream).
std::vector<std::string> TableLines(const Table& table, const Style& style,
                                    std::string_view indent) {
  std::ostringstream text;
  table.Print(text, style, indent);
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text.str());
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string Rate(const std::optional<double>& value) {
  if (!value) return "-";
  if (*value != 0 && std::fabs(*value) < 0.1) return fmt::format("{:.2f}", *value);
  return fmt::format("{:.1f}", *value);
}

}  // namespace

bool DeploymentEnded(const json::object& deployment) {
  const std::string status = GetString(deployment, {"status"});
  return status == "Succeeded" || status == "Failed" || status == "Stopped";
}

int WaitExitCode(const std::vector<json::object>& deployments) {
  for (const json::object& d : deployments) {
    // A deployment that Succeeded has no rollback; checking both keeps a daemon that marks a
    // rolled-back deployment differently from passing as a success.
    if (GetString(d, {"status"}) != "Succeeded") return 1;
    if (!GetString(GetObject(d, {"rollbackInfo"}), {"rollbackDeploymentId"}).empty()) return 1;
  }
  return 0;
}

std::string FormatDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return fmt::format("{} ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
  const int64_t seconds = ms / 1000;
  if (seconds < 3600) return fmt::format("{}m {:02}s", seconds / 60, seconds % 60);
  return fmt::format("{}h {:02}m", seconds / 3600, seconds % 3600 / 60);
}

std::string ShortConfigName(std::string_view config_name) {
  constexpr std::string_view kPrefix = "CodeDeployDefault.Lambda";
  if (config_name.starts_with(kPrefix) && config_name.size() > kPrefix.size()) {
    config_name.remove_prefix(kPrefix.size());
  }
  return std::string(config_name);
}

std::string WeightsText(std::string_view alias, const json::object& weights) {
  if (weights.empty()) return fmt::format("{} → ?", alias);
  const int64_t current = GetInt(weights, {"currentVersion"});
  const int64_t target = GetInt(weights, {"targetVersion"});
  const double weight = GetDouble(weights, {"targetWeight"});
  if (weight >= 1.0) return FormatAliasTarget(alias, target, 0, 0);
  if (weight <= 0.0) return FormatAliasTarget(alias, current, 0, 0);
  return FormatAliasTarget(alias, current, target, weight);
}

std::string DeploymentAliasText(const json::object& deployment) {
  const json::object& target = GetObject(deployment, {"lambdaTarget"});
  const double weight = GetDouble(target, {"targetVersionWeight"});
  json::object weights{{"currentVersion", GetString(target, {"currentVersion"})},
                       {"currentWeight", 1.0 - weight},
                       {"targetVersion", GetString(target, {"targetVersion"})},
                       {"targetWeight", weight}};
  return WeightsText(GetString(target, {"functionAlias"}), weights);
}

std::string AlarmText(const json::object& alarm) {
  std::vector<std::string> values;
  for (const json::value& v : GetArray(alarm, {"datapoints"})) {
    values.push_back(Number(AsObject(v).if_contains("value")));
  }
  std::string text =
      fmt::format("{} {}", GetString(alarm, {"name"}, "?"), GetString(alarm, {"state"}, "?"));
  if (!values.empty()) text += fmt::format(" [{}]", fmt::join(values, ", "));
  if (const json::value* threshold = alarm.if_contains("threshold");
      threshold != nullptr && threshold->is_number()) {
    text +=
        fmt::format(" {} {}", ComparisonSign(GetString(alarm, {"comparison"})), Number(threshold));
  }
  if (GetBool(alarm, "ignored")) text += " (ignored: in ALARM at the start)";
  return text;
}

std::string StepText(int64_t step, int64_t steps) {
  if (step >= steps) return "100%";
  return fmt::format("step {}/{}", step + 1, steps);
}

std::string EventLine(const json::object& event, std::string_view alias, const Style& style) {
  const std::string type = GetString(event, {"type"}, "?");
  const json::object& data = GetObject(event, {"data"});
  std::string detail;
  if (type == "DeploymentCreated" || type == "DeploymentStarted") {
    detail = fmt::format("{} → {}", GetString(data, {"currentVersion"}, "?"),
                         GetString(data, {"targetVersion"}, "?"));
    if (const std::string config = GetString(data, {"deploymentConfigName"}); !config.empty()) {
      detail += " with " + ShortConfigName(config);
    }
  } else if (type == "LifecycleEvent") {
    detail = fmt::format("{} {}", GetString(data, {"name"}), GetString(data, {"status"}));
  } else if (type == "HookStarted") {
    detail =
        fmt::format("{} hook {} invoked, must report by {}", GetString(data, {"phase"}),
                    GetString(data, {"function"}), FormatTimeOfDay(GetInt(data, {"deadline"})));
  } else if (type == "HookReported") {
    detail = fmt::format("{} hook {} reported {} after {}", GetString(data, {"phase"}),
                         GetString(data, {"function"}), GetString(data, {"status"}),
                         FormatDuration(GetInt(data, {"afterMs"})));
  } else if (type == "TrafficShifted") {
    detail = fmt::format("{}: {}", StepText(GetInt(data, {"step"}), GetInt(data, {"steps"})),
                         WeightsText(alias, GetObject(data, {"weights"})));
    if (GetBool(data, "promoted")) detail += " (promoted)";
    if (std::string alarms = AlarmSummary(GetArray(data, {"alarms"})); !alarms.empty()) {
      detail += "; " + alarms;
    }
    if (int64_t next = GetInt(data, {"nextShiftTime"}); next > 0) {
      detail += "; next shift " + FormatTimeOfDay(next);
    }
  } else if (type == "AlarmsIgnoredAtStart") {
    std::vector<std::string> names;
    for (const json::value& v : GetArray(data, {"alarms"})) {
      if (GetBool(AsObject(v), "ignored")) names.push_back(GetString(AsObject(v), {"name"}));
    }
    detail =
        fmt::format("already in ALARM, ignored until they leave it: {}", fmt::join(names, ", "));
  } else if (type == "AlarmWatched") {
    detail = fmt::format("alarm {} left ALARM and is watched again", GetString(data, {"name"}));
  } else if (type == "PromoteRequested") {
    detail = fmt::format("at {}", WeightsText(alias, GetObject(data, {"weights"})));
  } else if (type == "DeploymentStopped" || type == "DeploymentFailed") {
    std::string message = GetString(data, {"message"});
    if (message.ends_with('.')) message.pop_back();  // alarm reasons end in one
    detail = fmt::format("{}: {}; {}", GetString(data, {"errorCode"}), message,
                         GetBool(data, "rollback") ? "rolling back" : "weights left as they are");
  } else if (type == "RolledBack") {
    detail = fmt::format("{} (the target had {}); rollback deployment {}",
                         WeightsText(alias, GetObject(data, {"weights"})),
                         FormatPercent(GetDouble(data, {"targetWeightAtStop"})),
                         GetString(data, {"rollbackDeploymentId"}));
  } else if (type == "RollbackCreated") {
    detail = fmt::format("rollback of {}: {}", GetString(data, {"triggeringDeploymentId"}),
                         WeightsText(alias, GetObject(data, {"weights"})));
  } else if (type == "RollbackSucceeded") {
    detail = WeightsText(alias, GetObject(data, {"weights"}));
  } else if (type == "DeploymentSucceeded") {
    detail = fmt::format("{} after {}", WeightsText(alias, GetObject(data, {"weights"})),
                         FormatDuration(GetInt(data, {"durationMs"})));
  } else if (!data.empty()) {
    detail = json::serialize(data);
    if (detail.size() > 160) detail = detail.substr(0, 157) + "...";
  }
  std::string label = type;
  if (type == "DeploymentStopped" || type == "DeploymentFailed" || type == "RolledBack") {
    label = style.Red(type);
  } else if (type == "DeploymentSucceeded" || type == "RollbackSucceeded") {
    label = style.Green(type);
  } else if (type == "TrafficShifted") {
    label = style.Cyan(type);
  }
  std::string line = fmt::format("{} {}", FormatTimeOfDay(GetInt(event, {"time"})), label);
  // Fields missing from the event leave blanks at the edges.
  const size_t first = detail.find_first_not_of(' ');
  if (first != std::string::npos) {
    line += " " + detail.substr(first, detail.find_last_not_of(' ') + 1 - first);
  }
  return line;
}

std::vector<std::string> EventEvidenceLines(const json::object& event, std::string_view alias) {
  const std::string type = GetString(event, {"type"});
  const json::object& data = GetObject(event, {"data"});
  std::vector<std::string> lines;
  const bool decision = type == "TrafficShifted" || type == "DeploymentSucceeded" ||
                        type == "AlarmsIgnoredAtStart" || type == "DeploymentStopped" ||
                        type == "DeploymentFailed";
  if (!decision) return lines;
  const bool stop = type == "DeploymentStopped" || type == "DeploymentFailed";
  for (const json::value& v : EventAlarms(data)) {
    const json::object& alarm = AsObject(v);
    lines.push_back("    alarm " + AlarmText(alarm));
    // The reason says which datapoints crossed; it matters for the alarm that decided.
    if (stop && GetString(alarm, {"state"}) == "ALARM") {
      if (std::string reason = GetString(alarm, {"reason"}); !reason.empty()) {
        lines.push_back("      " + reason);
      }
      if (int64_t changed = GetInt(alarm, {"stateChangeTime"}); changed > 0) {
        lines.push_back("      in ALARM since " + FormatTimeOfDay(changed, true));
      }
    }
  }
  if (stop) {
    const json::object& evidence = GetObject(data, {"evidence"});
    if (std::string hook = HookEvidence(evidence); !hook.empty()) lines.push_back("    " + hook);
    if (const json::object& at_stop = GetObject(evidence, {"weightsAtStop"}); !at_stop.empty()) {
      lines.push_back("    weights at the stop: " + WeightsText(alias, at_stop));
    }
  }
  return lines;
}

Table DeploymentTable(const std::vector<json::object>& deployments) {
  Table table({"DEPLOYMENT", "FUNCTION", "VERSIONS", "CONFIG", "STATUS", "CREATED", "WEIGHT"});
  for (const json::object& d : deployments) {
    const json::object& target = GetObject(d, {"lambdaTarget"});
    const std::string status = GetString(d, {"status"});
    std::string status_text = status;
    if (GetString(d, {"creator"}) == "codeDeployRollback") {
      status_text += " (rollback)";
    } else if (!GetString(GetObject(d, {"rollbackInfo"}), {"rollbackDeploymentId"}).empty()) {
      status_text += ", rolled back";
    }
    Table::Color color = status == "Succeeded"                       ? Table::Color::kGreen
                         : status == "Failed" || status == "Stopped" ? Table::Color::kRed
                                                                     : Table::Color::kYellow;
    std::string weight = FormatPercent(GetDouble(target, {"targetVersionWeight"}));
    if (!DeploymentEnded(d) && GetString(d, {"phase"}) == "AllowTraffic") {
      weight += " (" +
                StepText(GetInt(d, {"step"}),
                         static_cast<int64_t>(GetArray(GetObject(d, {"plan"}), {"steps"}).size())) +
                ")";
    }
    table.AddRow({GetString(d, {"deploymentId"}),
                  fmt::format("{}:{}", GetString(target, {"functionName"}),
                              GetString(target, {"functionAlias"})),
                  VersionsText(target), ShortConfigName(GetString(d, {"deploymentConfigName"})),
                  Table::Cell(status_text, color), FormatDateTime(GetInt(d, {"createTime"})),
                  weight});
  }
  return table;
}

std::vector<std::string> DeploymentDetailLines(const json::object& d, const Style& style) {
  const json::object& target = GetObject(d, {"lambdaTarget"});
  std::vector<std::string> lines;
  lines.push_back(fmt::format("Deployment {}  {}", style.Bold(GetString(d, {"deploymentId"})),
                              StatusColored(style, GetString(d, {"status"}))));
  auto row = [&lines](std::string_view name, const std::string& value) {
    if (!value.empty()) lines.push_back(fmt::format("  {:<10} {}", name, value));
  };
  row("function",
      fmt::format("{}, alias {} (service {}, stage {})", GetString(target, {"functionName"}),
                  GetString(target, {"functionAlias"}), GetString(d, {"service"}),
                  GetString(d, {"stage"})));
  row("versions", fmt::format("{}, now {}", VersionsText(target), DeploymentAliasText(d)));
  row("config", fmt::format("{} ({})", GetString(d, {"deploymentConfigName"}),
                            PlanText(GetObject(d, {"plan"}))));
  if (!DeploymentEnded(d)) {
    std::string phase = GetString(d, {"phase"});
    if (phase == "AllowTraffic") {
      phase +=
          ", " + StepText(GetInt(d, {"step"}),
                          static_cast<int64_t>(GetArray(GetObject(d, {"plan"}), {"steps"}).size()));
    }
    if (GetBool(d, "promoteRequested")) phase += ", promote requested";
    row("phase", phase);
  }
  std::string times = FormatDateTime(GetInt(d, {"createTime"})) + " UTC";
  if (int64_t complete = GetInt(d, {"completeTime"}); complete > 0) {
    times += fmt::format(", ended {} after {}", FormatTimeOfDay(complete),
                         FormatDuration(complete - GetInt(d, {"createTime"})));
  }
  row("created", times);
  row("creator", GetString(d, {"creator"}));
  std::vector<std::string> alarms;
  for (const json::value& v : GetArray(d, {"alarms"})) {
    if (v.is_string()) alarms.emplace_back(v.get_string());
  }
  row("alarms", alarms.empty() ? "none" : fmt::format("{}", fmt::join(alarms, ", ")));
  std::vector<std::string> lifecycle;
  for (const json::value& v : GetArray(d, {"lifecycleEvents"})) {
    const json::object& event = AsObject(v);
    lifecycle.push_back(fmt::format("{} {}", GetString(event, {"lifecycleEventName"}),
                                    GetString(event, {"status"})));
  }
  row("lifecycle", fmt::format("{}", fmt::join(lifecycle, ", ")));
  const json::object& error = GetObject(d, {"errorInformation"});
  if (!error.empty()) {
    row("error", fmt::format("{}: {}", GetString(error, {"code"}), GetString(error, {"message"})));
  }
  const json::object& rollback = GetObject(d, {"rollbackInfo"});
  if (std::string by = GetString(rollback, {"rollbackDeploymentId"}); !by.empty()) {
    row("rollback", fmt::format("rolled back by {}", by));
  }
  if (std::string of = GetString(rollback, {"rollbackTriggeringDeploymentId"}); !of.empty()) {
    row("rollback", fmt::format("rolls back {}: {}", of, GetString(rollback, {"rollbackMessage"})));
  }
  return lines;
}

std::vector<std::string> OutcomeLines(const json::object& d,
                                      const std::vector<json::object>& events, const Style& style,
                                      double scale) {
  std::vector<std::string> lines;
  if (!DeploymentEnded(d)) return lines;
  const std::string status = GetString(d, {"status"});
  const std::string alias = GetString(GetObject(d, {"lambdaTarget"}), {"functionAlias"});
  if (status == "Succeeded") {
    lines.push_back(fmt::format(
        "{} in {}: {}",
        style.Green(GetString(d, {"creator"}) == "codeDeployRollback" ? "Rollback succeeded"
                                                                      : "Succeeded"),
        FormatDuration(GetInt(d, {"completeTime"}) - GetInt(d, {"createTime"})),
        DeploymentAliasText(d)));
    return lines;
  }
  const json::object& error = GetObject(d, {"errorInformation"});
  lines.push_back(fmt::format("{} ({}): {}", style.Red(status), GetString(error, {"code"}, "?"),
                              GetString(error, {"message"})));
  const json::object* stop = LastEventOf(events, {"DeploymentStopped", "DeploymentFailed"});
  const json::object* rolled_back = LastEventOf(events, {"RolledBack"});
  const json::object& stop_data = stop != nullptr ? GetObject(*stop, {"data"}) : kNoObject;
  std::vector<const json::object*> firing = FiringAlarms(stop_data);
  for (const json::object* alarm : firing) {
    lines.push_back(fmt::format("  alarm {}", AlarmText(*alarm)));
    if (int64_t changed = GetInt(*alarm, {"stateChangeTime"}); changed > 0) {
      lines.push_back(fmt::format("  in ALARM since {}", FormatTimeOfDay(changed, true)));
    }
  }
  if (std::string hook = HookEvidence(GetObject(stop_data, {"evidence"})); !hook.empty()) {
    lines.push_back("  " + hook);
  }
  if (rolled_back != nullptr) {
    const json::object& data = GetObject(*rolled_back, {"data"});
    const int64_t flipped = GetInt(*rolled_back, {"time"});
    std::string line =
        fmt::format("  rolled back at {}: {} (the target had {})", FormatTimeOfDay(flipped, true),
                    WeightsText(alias, GetObject(data, {"weights"})),
                    FormatPercent(GetDouble(data, {"targetWeightAtStop"})));
    lines.push_back(line);
    if (!firing.empty()) {
      const int64_t changed = GetInt(*firing.front(), {"stateChangeTime"});
      if (changed > 0 && flipped >= changed) {
        const int64_t latency = flipped - changed;
        std::string text = fmt::format("alarm to alias flip: {}", FormatDuration(latency));
        if (scale > 1.0) {
          text += fmt::format(" on the daemon's clock ({} at --time-scale {:g})",
                              FormatDuration(std::llround(static_cast<double>(latency) / scale)),
                              scale);
        }
        lines.push_back("  " + style.Bold(text));
      }
    }
  } else if (stop != nullptr && !GetBool(stop_data, "rollback")) {
    lines.push_back(fmt::format("  not rolled back: {} stays; the next deployment starts from it",
                                WeightsText(alias, GetObject(stop_data, {"weights"}))));
  }
  return lines;
}

std::vector<std::string> LiveViewLines(const json::object& d,
                                       const std::vector<json::object>& events,
                                       const LiveStats& stats, int64_t daemon_now_ms, double scale,
                                       const Style& style) {
  const json::object& target = GetObject(d, {"lambdaTarget"});
  const std::string current = GetString(target, {"currentVersion"}, "?");
  const std::string next = GetString(target, {"targetVersion"}, "?");
  const double weight = std::clamp(GetDouble(target, {"targetVersionWeight"}), 0.0, 1.0);
  std::vector<std::string> lines;
  const std::string status = GetString(d, {"status"});
  lines.push_back(fmt::format(
      "{}  {}:{}  {} → {}  {}  {}", style.Bold(GetString(d, {"deploymentId"})),
      GetString(target, {"functionName"}), GetString(target, {"functionAlias"}), current, next,
      ShortConfigName(GetString(d, {"deploymentConfigName"})), StatusColored(style, status)));
  if (DeploymentEnded(d)) {
    for (std::string& line : OutcomeLines(d, events, style, scale)) {
      lines.push_back("  " + std::move(line));
    }
    return lines;
  }
  if (scale <= 0) scale = 1.0;
  // A wait on the daemon's clock, as the real time it will take.
  auto in = [&](int64_t at_ms) {
    const int64_t real = std::llround(static_cast<double>(at_ms - daemon_now_ms) / scale);
    return real > 0 ? "in " + FormatDuration(real) : std::string("due");
  };
  const std::string phase = GetString(d, {"phase"});
  const json::object& plan = GetObject(d, {"plan"});
  const json::array& steps = GetArray(plan, {"steps"});
  const int64_t step = GetInt(d, {"step"});
  const int target_cells = static_cast<int>(std::lround(weight * kBarWidth));
  std::string bar;
  for (int i = 0; i < kBarWidth - target_cells; ++i) bar += "░";
  std::string filled;
  for (int i = 0; i < target_cells; ++i) filled += "█";
  bar = style.Dim(bar) + style.Green(filled);
  const std::string split = fmt::format("{} {} {} {} {}", current, FormatPercent(1.0 - weight), bar,
                                        FormatPercent(weight), next);
  if (phase == "BeforeAllowTraffic" || phase == "AfterAllowTraffic") {
    const json::object& hook = LifecycleHook(d, phase);
    std::string text = fmt::format("  {}  {}", split, phase);
    if (!GetString(hook, {"function_name"}).empty()) {
      text += fmt::format(": waiting for hook {} (times out {})",
                          GetString(hook, {"function_name"}), in(GetInt(hook, {"deadline_ms"})));
    }
    lines.push_back(text);
  } else if (phase == "AllowTraffic") {
    const auto count = static_cast<int64_t>(steps.size());
    std::string when;
    if (GetBool(d, "promoteRequested")) {
      when = "promoting";
    } else if (step < count) {
      when = "next step " +
             in(GetInt(d, {"stepStartedTime"}) + GetInt(AsObject(steps[step]), {"hold_ms"}));
    } else if (int64_t hold = GetInt(plan, {"final_hold_ms"}); hold > 0) {
      when = "holding 100%, done " + in(GetInt(d, {"stepStartedTime"}) + hold);
    }
    lines.push_back(fmt::format("  {:<9} {}   {}", StepText(step, count), split, when));
  } else {
    lines.push_back(fmt::format("  {}  {}", split, phase.empty() ? status : phase));
  }

  Table versions({"VERSION", "WEIGHT", "REQ/S", "ERRORS/S", "P99"});
  auto version_row = [&](const std::string& version, double share, const char* role) {
    auto it = stats.versions.find(version);
    const VersionStats none;
    const VersionStats& s = it != stats.versions.end() ? it->second : none;
    versions.AddRow({fmt::format("{} ({})", version, role), FormatPercent(share),
                     Rate(s.requests_per_second),
                     Table::Cell(Rate(s.errors_per_second), s.errors_per_second.value_or(0) > 0
                                                                ? Table::Color::kRed
                                                                : Table::Color::kNone),
                     s.p99_ms ? fmt::format("{:.0f} ms", *s.p99_ms) : "-"});
  };
  version_row(current, 1.0 - weight, "current");
  version_row(next, weight, "target");
  for (std::string& line : TableLines(versions, style, "  ")) lines.push_back(std::move(line));
  if (stats.api_5xx_per_second) {
    lines.push_back(fmt::format("  API 5XX/s {}", Rate(stats.api_5xx_per_second)));
  }

  // Each alarm as the daemon has it now, else as the last decision saw it.
  const json::object* last = LastEventOf(events, {"TrafficShifted", "AlarmsIgnoredAtStart"});
  const json::array& seen =
      last != nullptr ? GetArray(GetObject(*last, {"data"}), {"alarms"}) : kNoArray;
  for (const json::value& v : GetArray(d, {"alarms"})) {
    if (!v.is_string()) continue;
    const std::string name(v.get_string());
    json::object alarm{{"name", name}, {"state", "?"}};
    if (auto it = stats.alarms.find(name); it != stats.alarms.end()) {
      alarm = it->second;
    } else {
      for (const json::value& s : seen) {
        if (GetString(AsObject(s), {"name"}) == name) alarm = AsObject(s);
      }
    }
    const std::string state = GetString(alarm, {"state"}, "?");
    std::string text = AlarmText(alarm);
    // Colour only the state, which follows the name.
    const std::string head = name + " " + state;
    if (text.starts_with(head))
      text = name + " " + StateColored(style, state) + text.substr(head.size());
    lines.push_back("  alarm " + text);
  }
  return lines;
}

}  // namespace cutover::cli
