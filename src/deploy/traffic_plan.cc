#include "deploy/traffic_plan.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <string_view>

namespace cutover::deploy {
namespace {

namespace json = boost::json;

constexpr int64_t kMinuteMs = 60'000;
constexpr std::string_view kFullPrefix = "CodeDeployDefault.Lambda";

struct Predefined {
  std::string_view short_name;
  std::string_view type;
  int percent;
  int interval_minutes;
};

// aws-semantics.md 1.1 ([CD-cfg]).
constexpr Predefined kPredefined[] = {
    {"Canary10Percent5Minutes", "TimeBasedCanary", 10, 5},
    {"Canary10Percent10Minutes", "TimeBasedCanary", 10, 10},
    {"Canary10Percent15Minutes", "TimeBasedCanary", 10, 15},
    {"Canary10Percent30Minutes", "TimeBasedCanary", 10, 30},
    {"Linear10PercentEvery1Minute", "TimeBasedLinear", 10, 1},
    {"Linear10PercentEvery2Minutes", "TimeBasedLinear", 10, 2},
    {"Linear10PercentEvery3Minutes", "TimeBasedLinear", 10, 3},
    {"Linear10PercentEvery10Minutes", "TimeBasedLinear", 10, 10},
    {"AllAtOnce", "AllAtOnce", 100, 0},
};

std::string At(const config::SourceLocation& where) {
  return fmt::format("{}:{}:{}", where.file, where.line, where.column);
}

TrafficPlan Build(std::string name, std::string_view type, int percent, int interval_minutes) {
  TrafficPlan plan;
  plan.config_name = std::move(name);
  plan.type = std::string(type);
  const int64_t hold = interval_minutes * kMinuteMs;
  if (type == "TimeBasedCanary") {
    plan.steps.push_back({percent / 100.0, hold});
  } else if (type == "TimeBasedLinear") {
    for (int p = percent; p < 100; p += percent) plan.steps.push_back({p / 100.0, hold});
  }
  return plan;
}

const json::value* Member(const json::object& object, std::string_view key) {
  return object.if_contains(key);
}

// A whole number from a CloudFormation property, which YAML may have given as a string.
std::optional<int64_t> WholeNumber(const json::value* value) {
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64() && value->get_uint64() < (uint64_t{1} << 62)) {
    return static_cast<int64_t>(value->get_uint64());
  }
  if (value->is_double()) {
    double d = value->get_double();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return static_cast<int64_t>(d);
  }
  if (value->is_string()) {
    std::string_view s = value->get_string();
    if (s.empty() || s.size() > 12) return std::nullopt;
    int64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }
  return std::nullopt;
}

bool ValidCustomName(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("._+=,@-").find(c) != std::string_view::npos;
  });
}

Result<TrafficPlan> FromResource(const config::ResourceSpec& resource) {
  const std::string where = At(resource.where);
  auto bad = [&](std::string message) {
    return InvalidArgument(fmt::format("{}: resources.Resources.{}: {}", where,
                                       resource.logical_id, message));
  };
  const json::object& props = resource.properties;
  std::string name = resource.logical_id;
  if (const json::value* v = Member(props, "DeploymentConfigName")) {
    if (!v->is_string()) return bad("DeploymentConfigName must be a string");
    name = std::string(v->get_string());
    if (name.starts_with("CodeDeployDefault.")) {
      return bad(fmt::format("DeploymentConfigName '{}' may not start with CodeDeployDefault. "
                             "(reserved for the predefined configurations)",
                             name));
    }
    if (!ValidCustomName(name)) {
      return bad(fmt::format("DeploymentConfigName '{}' must be 1 to 100 of A-Z a-z 0-9 . _ + = , "
                             "@ -",
                             name));
    }
  }
  if (const json::value* v = Member(props, "ComputePlatform")) {
    if (!v->is_string() || v->get_string() != "Lambda") {
      return bad("ComputePlatform must be Lambda (cutover deploys Lambda functions)");
    }
  }
  const json::value* routing = Member(props, "TrafficRoutingConfig");
  if (routing == nullptr || !routing->is_object()) {
    return bad("a Lambda deployment configuration needs TrafficRoutingConfig");
  }
  const json::object& r = routing->get_object();
  const json::value* type = Member(r, "Type");
  if (type == nullptr || !type->is_string()) {
    return bad("TrafficRoutingConfig.Type must be TimeBasedCanary, TimeBasedLinear or AllAtOnce");
  }
  const std::string_view t = type->get_string();
  if (t == "AllAtOnce") return Build(name, t, 100, 0);
  if (t != "TimeBasedCanary" && t != "TimeBasedLinear") {
    return bad(fmt::format("TrafficRoutingConfig.Type '{}' is not TimeBasedCanary, TimeBasedLinear "
                           "or AllAtOnce",
                           t));
  }
  const bool canary = t == "TimeBasedCanary";
  const std::string block = canary ? "TimeBasedCanary" : "TimeBasedLinear";
  const std::string percent_key = canary ? "CanaryPercentage" : "LinearPercentage";
  const std::string interval_key = canary ? "CanaryInterval" : "LinearInterval";
  const json::value* settings = Member(r, block);
  if (settings == nullptr || !settings->is_object()) {
    return bad(fmt::format("TrafficRoutingConfig.Type {} needs TrafficRoutingConfig.{}", t, block));
  }
  const auto percent = WholeNumber(Member(settings->get_object(), percent_key));
  const auto interval = WholeNumber(Member(settings->get_object(), interval_key));
  if (!percent || *percent < 1 || *percent > kMaxPercentPerIncrement) {
    return bad(fmt::format("{}.{} must be a whole percentage from 1 to {}", block, percent_key,
                           kMaxPercentPerIncrement));
  }
  if (!interval || *interval < 1) {
    return bad(fmt::format("{}.{} must be a whole number of minutes, at least 1", block,
                           interval_key));
  }
  TrafficPlan plan = Build(name, t, static_cast<int>(*percent), static_cast<int>(
                                                                    std::min<int64_t>(*interval, 1'000'000)));
  // CodeDeploy: at most 2,880 minutes between the first and the last traffic shift.
  if (plan.ShiftingMs() > kMaxShiftingMinutes * kMinuteMs) {
    return bad(fmt::format("shifting would take {} minutes; CodeDeploy allows at most {} between "
                           "the first and the last shift",
                           plan.ShiftingMs() / kMinuteMs, kMaxShiftingMinutes));
  }
  return plan;
}

}  // namespace

int64_t TrafficPlan::ShiftingMs() const {
  int64_t total = 0;
  for (const PlanStep& step : steps) total += step.hold_ms;
  return total;
}

double TrafficPlan::WeightAt(int64_t elapsed_ms) const {
  int64_t start = 0;
  for (const PlanStep& step : steps) {
    if (elapsed_ms < start + step.hold_ms) return step.weight;
    start += step.hold_ms;
  }
  return 1.0;
}

Result<TrafficPlan> ResolveTrafficPlan(const config::DeploymentSettings& settings,
                                       const std::vector<config::ResourceSpec>& resources) {
  if (!settings.steps.empty()) {
    TrafficPlan plan;
    plan.config_name = "steps";
    plan.type = "Steps";
    for (const config::TrafficStep& step : settings.steps) {
      if (step.weight_percent >= 100) {
        plan.final_hold_ms = step.bake_seconds * 1000;
        break;  // the parser guarantees 100 is the last weight
      }
      plan.steps.push_back({step.weight_percent / 100.0, step.bake_seconds * 1000});
    }
    if (plan.ShiftingMs() > kMaxShiftingMinutes * kMinuteMs) {
      return InvalidArgument(fmt::format("{}: steps would take {} minutes; cutover allows at most "
                                         "{}, CodeDeploy's limit",
                                         At(settings.where), plan.ShiftingMs() / kMinuteMs,
                                         kMaxShiftingMinutes));
    }
    return plan;
  }
  std::string_view type = settings.type;
  std::string_view short_name = type;
  if (short_name.starts_with(kFullPrefix)) short_name.remove_prefix(kFullPrefix.size());
  for (const Predefined& p : kPredefined) {
    if (p.short_name == short_name) {
      return Build(fmt::format("{}{}", kFullPrefix, p.short_name), p.type, p.percent,
                   p.interval_minutes);
    }
  }
  for (const config::ResourceSpec& resource : resources) {
    if (resource.type != "AWS::CodeDeploy::DeploymentConfig") continue;
    const json::value* name = resource.properties.if_contains("DeploymentConfigName");
    const bool named = name != nullptr && name->is_string() && name->get_string() == type;
    if (resource.logical_id == type || named) return FromResource(resource);
  }
  return InvalidArgument(fmt::format(
      "{}: unknown deployment type '{}' (a predefined one such as Linear10PercentEvery1Minute, an "
      "AWS::CodeDeploy::DeploymentConfig resource, or steps)",
      At(settings.where), type));
}

json::object ToJson(const TrafficPlan& plan) {
  json::array steps;
  for (const PlanStep& step : plan.steps) {
    steps.push_back(json::object{{"weight", step.weight}, {"hold_ms", step.hold_ms}});
  }
  return json::object{{"config_name", plan.config_name},
                      {"type", plan.type},
                      {"steps", std::move(steps)},
                      {"final_hold_ms", plan.final_hold_ms}};
}

Result<TrafficPlan> TrafficPlanFromJson(const json::value& value) {
  const json::object* o = value.if_object();
  if (o == nullptr) return InvalidArgument("traffic plan: expected an object");
  TrafficPlan plan;
  const json::value* name = o->if_contains("config_name");
  const json::value* type = o->if_contains("type");
  const json::value* steps = o->if_contains("steps");
  if (name == nullptr || !name->is_string() || type == nullptr || !type->is_string() ||
      steps == nullptr || !steps->is_array()) {
    return InvalidArgument("traffic plan: needs config_name, type and steps");
  }
  plan.config_name = std::string(name->get_string());
  plan.type = std::string(type->get_string());
  for (const json::value& step : steps->get_array()) {
    const json::object* s = step.if_object();
    const json::value* weight = s ? s->if_contains("weight") : nullptr;
    const auto hold = s ? WholeNumber(s->if_contains("hold_ms")) : std::nullopt;
    if (weight == nullptr || !weight->is_number() || !hold) {
      return InvalidArgument("traffic plan: each step needs weight and hold_ms");
    }
    plan.steps.push_back({weight->to_number<double>(), *hold});
  }
  plan.final_hold_ms = WholeNumber(o->if_contains("final_hold_ms")).value_or(0);
  return plan;
}

}  // namespace cutover::deploy
