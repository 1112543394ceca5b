// LintAlarm (declared in alarms/alarm_spec.h): warnings for alarms that can never get data from
// what cutover's platform emits. Kept apart from the parser: it knows metrics/platform_metrics.h's
// names and dimension sets, the parser knows CloudFormation's rules.
#include <fmt/core.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alarms/alarm_spec.h"

namespace cutover::alarms {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool IsDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What cutover's platform emits (metrics/platform_metrics.h): the exact dimension sets, sorted.
using DimensionSet = std::vector<std::string>;
const std::vector<DimensionSet> kApiGatewaySets = {
    {"ApiName"}, {"ApiName", "Stage"}, {"ApiName", "Method", "Resource", "Stage"},
    {"ApiId"},   {"ApiId", "Stage"},   {"ApiId", "Route", "Stage"}};
const std::vector<DimensionSet> kLambdaSets = {{"FunctionName"},
                                               {"FunctionName", "Resource"},
                                               {"ExecutedVersion", "FunctionName", "Resource"}};
// Sampled from the runtime, not from invocations: no ExecutedVersion, and an account-level series
// without dimensions (PlatformMetrics::RecordConcurrency).
const std::vector<DimensionSet> kConcurrencySets = {
    {}, {"FunctionName"}, {"FunctionName", "Resource"}};
// DataProcessed exists for HTTP APIs only.
const std::vector<DimensionSet> kHttpApiSets = {
    {"ApiId"}, {"ApiId", "Stage"}, {"ApiId", "Route", "Stage"}};

const std::vector<DimensionSet>& SetsOf(const metrics::MetricKey& key) {
  if (key.ns == "AWS/ApiGateway") {
    return key.name == "DataProcessed" ? kHttpApiSets : kApiGatewaySets;
  }
  return key.name == "ConcurrentExecutions" ? kConcurrencySets : kLambdaSets;
}

std::string_view RecordedUnit(std::string_view metric) {
  if (metric == "Latency" || metric == "IntegrationLatency" || metric == "Duration") {
    return "Milliseconds";
  }
  return metric == "DataProcessed" ? "Bytes" : "Count";
}

std::string FormatSet(const DimensionSet& set) { return "{" + Join(set) + "}"; }

std::string FormatSets(const std::vector<DimensionSet>& sets) {
  std::vector<std::string> parts;
  for (const DimensionSet& set : sets) parts.push_back(FormatSet(set));
  return Join(parts);
}

std::string Quoted(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  for (const std::string& v : values) quoted.push_back(fmt::format("'{}'", v));
  return Join(quoted);
}

bool In(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] -> {NAME, QUALIFIER}.
std::optional<std::pair<std::string, std::string>> ParseLambdaArn(std::string_view arn) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t colon = arn.find(':', start);
    parts.push_back(arn.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function") {
    return std::nullopt;
  }
  return std::make_pair(std::string(parts[6]), parts.size() > 7 ? std::string(parts[7]) : "");
}

class Linter {
 public:
  Linter(const AlarmSpec& spec, const LintContext& ctx) : spec_(spec), ctx_(ctx) {}

  std::vector<std::string> Run() {
    if (spec_.metric.has_value()) {
      LintMetric(*spec_.metric, spec_.unit, "");
    }
    for (size_t i = 0; i < spec_.metrics.size(); ++i) {
      const MetricDataQuery& query = spec_.metrics[i];
      if (!query.metric_stat.has_value()) continue;
      LintMetric(query.metric_stat->metric, query.metric_stat->unit,
                 fmt::format("Metrics[{}].MetricStat.Metric.", i));
    }
    return std::move(warnings_);
  }

 private:
  void Warn(std::string_view path, std::string message) {
    const config::SourceLocation& where = spec_.where;
    warnings_.push_back(fmt::format("{}:{}:{}: resources.Resources.{}.Properties.{}: {}",
                                    where.file, where.line, where.column, spec_.logical_id, path,
                                    message));
  }

  void LintMetric(const metrics::MetricKey& key, const std::optional<std::string>& unit,
                  const std::string& prefix) {
    const bool api_gateway = key.ns == "AWS/ApiGateway";
    const bool lambda = key.ns == "AWS/Lambda";
    if (!api_gateway && !lambda) return;  // custom metrics (EMF): whatever the function publishes
    const std::string dims_path = prefix + "Dimensions";
    const std::vector<std::string>& names =
        api_gateway ? ctx_.api_gateway_metrics : ctx_.lambda_metrics;
    if (!In(names, key.name)) {
      Warn(prefix + "MetricName",
           fmt::format("cutover does not emit {} metric '{}' (it emits {}): the alarm will stay in "
                       "INSUFFICIENT_DATA",
                       key.ns, key.name, Join(names)));
    }
    DimensionSet set;
    for (const auto& [name, value] : key.dims) {
      set.push_back(name);
      if (api_gateway) {
        LintApiGatewayDimension(dims_path, name, value);
      } else {
        LintLambdaDimension(dims_path, name, value);
      }
    }
    const std::vector<DimensionSet>& sets = SetsOf(key);
    if (std::find(sets.begin(), sets.end(), set) == sets.end()) {
      Warn(dims_path,
           fmt::format("no {} series has exactly the dimensions {} (a metric is one exact "
                       "set of dimensions; nothing is aggregated across them); cutover "
                       "emits {}",
                       key.ns, FormatSet(set), FormatSets(sets)));
    }
    if (unit.has_value()) {
      std::string_view recorded = RecordedUnit(key.name);
      if (In(names, key.name) && *unit != recorded) {
        Warn(prefix + "Unit", fmt::format("{} is recorded in {}, not {}: with a different Unit the "
                                          "alarm gets no data",
                                          key.name, recorded, *unit));
      }
    }
  }

  void LintApiGatewayDimension(const std::string& path, const std::string& name,
                               const std::string& value) {
    if (value.rfind("arn:", 0) == 0) {
      Warn(path, fmt::format("{} is an ARN ('{}'); API Gateway publishes {} as a plain name{}",
                             name, value, name,
                             name == "ApiName" && !ctx_.api_names.empty()
                                 ? fmt::format(": use ApiName: {}", ctx_.api_names.front())
                                 : ""));
      return;
    }
    if (name == "ApiName") {
      if (!In(ctx_.api_names, value)) {
        Warn(path,
             ctx_.api_names.empty()
                 ? fmt::format("ApiName '{}' is not emitted: this service has no REST API "
                               "(http events)",
                               value)
                 : fmt::format("ApiName '{}' is not an API cutover serves; it emits ApiName {} "
                               "(provider.apiName, or \"${{stage}}-${{service}}\")",
                               value, Quoted(ctx_.api_names)));
      }
    } else if (name == "ApiId") {
      if (!In(ctx_.api_ids, value)) {
        Warn(path, ctx_.api_ids.empty()
                       ? fmt::format("ApiId '{}' is not emitted: this service has no HTTP API "
                                     "(httpApi events); REST APIs use ApiName",
                                     value)
                       : fmt::format("ApiId '{}' is not emitted; cutover emits ApiId {}", value,
                                     Quoted(ctx_.api_ids)));
      }
    } else if (name == "Stage") {
      if (!ctx_.stages.empty() && !In(ctx_.stages, value)) {
        Warn(path, fmt::format("Stage '{}' is not emitted; cutover emits Stage {}", value,
                               Quoted(ctx_.stages)));
      }
    } else if (name != "Method" && name != "Resource" && name != "Route") {
      Warn(path, fmt::format("AWS/ApiGateway has no dimension '{}' (it has ApiName, Stage, Method, "
                             "Resource; ApiId, Stage, Route for HTTP APIs)",
                             name));
    }
  }

  void LintLambdaDimension(const std::string& path, const std::string& name,
                           const std::string& value) {
    if (value.rfind("arn:", 0) == 0) {
      auto arn = ParseLambdaArn(value);
      std::string fix;
      if (arn.has_value() && name == "Resource") {
        fix = arn->second.empty() ? fmt::format("use FunctionName: {} (or Resource: {}:<alias>)",
                                                arn->first, arn->first)
                                  : fmt::format(
                                        "use Resource: {}:{} (Lambda publishes Resource as "
                                        "'<function>:<alias or version>')",
                                        arn->first, arn->second);
      } else if (arn.has_value()) {
        fix = fmt::format("use {}: {}", name, arn->first);
      } else {
        fix = "use FunctionName: <function name> / Resource: <function name>:<alias>";
      }
      Warn(path, fmt::format("{} is an ARN ('{}'): Lambda's metrics never carry ARNs, so the alarm "
                             "gets no data and stays INSUFFICIENT_DATA; {}",
                             name, value, fix));
      return;
    }
    if (name == "FunctionName") {
      CheckFunction(path, value);
    } else if (name == "Resource") {
      size_t colon = value.find(':');
      if (colon == std::string::npos) {
        Warn(path,
             fmt::format("Resource '{}' is not '<function>:<alias or version>': Lambda publishes "
                         "Resource only for a qualified function (e.g. '{}:Live')",
                         value, value));
        return;
      }
      std::string function = value.substr(0, colon);
      std::string qualifier = value.substr(colon + 1);
      CheckFunction(path, function);
      if (!IsDigits(qualifier) && !ctx_.aliases.empty() && !In(ctx_.aliases, qualifier)) {
        Warn(path,
             fmt::format("Resource '{}': '{}' is neither a version number nor an alias cutover "
                         "serves ({})",
                         value, qualifier, Quoted(ctx_.aliases)));
      }
    } else if (name == "ExecutedVersion") {
      if (!IsDigits(value)) {
        Warn(path, fmt::format("ExecutedVersion is a version number ('7'), got '{}'", value));
      }
    } else {
      Warn(path,
           fmt::format("AWS/Lambda has no dimension '{}' (cutover emits FunctionName, Resource, "
                       "ExecutedVersion)",
                       name));
    }
  }

  void CheckFunction(const std::string& path, const std::string& function) {
    if (ctx_.function_names.empty() || In(ctx_.function_names, function)) return;
    Warn(path, fmt::format("function '{}' is not deployed by this service; its functions are {} "
                           "(deployed names are \"<service>-<stage>-<function>\")",
                           function, Quoted(ctx_.function_names)));
  }

  const AlarmSpec& spec_;
  const LintContext& ctx_;
  std::vector<std::string> warnings_;
};

}  // namespace

std::vector<std::string> LintAlarm(const AlarmSpec& spec, const LintContext& ctx) {
  return Linter(spec, ctx).Run();
}

}  // namespace cutover::alarms
