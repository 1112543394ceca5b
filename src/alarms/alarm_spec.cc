#include "alarms/alarm_spec.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <set>

namespace cutover::alarms {
namespace {

namespace json = boost::json;
using Names = std::vector<std::string_view>;

// clang-format off
const Names kProperties = {
    "AlarmName", "AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions",
    "InsufficientDataActions", "Namespace", "MetricName", "Dimensions", "Statistic",
    "ExtendedStatistic", "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
    "ThresholdMetricId", "ComparisonOperator", "TreatMissingData",
    "EvaluateLowSampleCountPercentile", "Unit", "Metrics", "Tags"};
const Names kQueryKeys = {"Id", "Expression", "MetricStat", "Label", "ReturnData", "Period",
                          "AccountId"};
const Names kMetricStatKeys = {"Metric", "Period", "Stat", "Unit"};
const Names kMetricKeys = {"Namespace", "MetricName", "Dimensions"};
const Names kDimensionKeys = {"Name", "Value"};
const Names kTagKeys = {"Key", "Value"};
const Names kSimpleStatistics = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"};
const Names kAnomalyOperators = {"LessThanLowerOrGreaterThanUpperThreshold",
                                 "LessThanLowerThreshold", "GreaterThanUpperThreshold"};
// CloudWatch's StandardUnit.
const Names kUnits = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None"};
// clang-format on

constexpr size_t kMaxActions = 5;
constexpr size_t kMaxDimensions = 30;
constexpr size_t kMaxQueries = 20;
constexpr size_t kMaxMetricStats = 10;
constexpr size_t kMaxExpressions = 10;

bool Contains(const Names& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

template <typename Strings>
std::string Join(const Strings& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// Optimal-string-alignment distance, for "did you mean". (config/ has one too, but it is internal
// to that module.)
int EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<int>> d(a.size() + 1, std::vector<int>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// " (did you mean 'Period'?)" or "".
std::string DidYouMean(std::string_view word, const Names& candidates) {
  std::string_view best;
  int best_distance = 3;
  for (std::string_view candidate : candidates) {
    int distance = EqualsIgnoreCase(word, candidate) ? 0 : EditDistance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

// {"Ref": "X"} or {"Fn::Sub": ...}: a CloudFormation function that only CloudFormation evaluates.
std::optional<std::string> IntrinsicName(const json::value& value) {
  if (!value.is_object() || value.as_object().size() != 1) return std::nullopt;
  std::string key(value.as_object().begin()->key());
  if (key == "Ref" || key == "Condition" || key.rfind("Fn::", 0) == 0) return key;
  return std::nullopt;
}

std::string FormatNumber(double value) { return fmt::format("{}", value); }

// "a list", "a mapping", "nothing", "'abc'", "12", "true", "CloudFormation's Fn::Sub".
std::string Describe(const json::value& value) {
  if (auto intrinsic = IntrinsicName(value)) return fmt::format("CloudFormation's {}", *intrinsic);
  switch (value.kind()) {
    case json::kind::null:
      return "nothing";
    case json::kind::bool_:
      return value.get_bool() ? "true" : "false";
    case json::kind::int64:
      return std::to_string(value.get_int64());
    case json::kind::uint64:
      return std::to_string(value.get_uint64());
    case json::kind::double_:
      return FormatNumber(value.get_double());
    case json::kind::string:
      return fmt::format("'{}'", std::string_view(value.get_string()));
    case json::kind::array:
      return "a list";
    case json::kind::object:
      return "a mapping";
  }
  return "?";
}

bool ParseDoubleText(std::string_view text, double* out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool IsValidPeriod(int64_t period) {
  return period == 1 || period == 10 || period == 20 || period == 30 ||
         (period > 0 && period % 60 == 0);
}

// Reads typed values out of the Properties JSON and formats errors and notes at the resource's
// position.
class Reader {
 public:
  explicit Reader(const config::ResourceSpec& resource) : resource_(resource) {}

  Status Error(std::string_view path, std::string_view message) const {
    return InvalidArgument(fmt::format("{}: {}", Prefix(path), message));
  }
  std::string Prefix(std::string_view path) const {
    const config::SourceLocation& where = resource_.where;
    return fmt::format("{}:{}:{}: resources.Resources.{}.Properties{}{}", where.file, where.line,
                       where.column, resource_.logical_id, path.empty() ? "" : ".", path);
  }

  // Checks that every key of `object` is in `known`. `path` names the object ("" for Properties).
  Status CheckKeys(const json::object& object, const Names& known, std::string_view path,
                   std::string_view what) const {
    for (const auto& entry : object) {
      std::string_view key = entry.key();
      if (Contains(known, key)) continue;
      std::string full = path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
      return Error(full, fmt::format("unknown property '{}'{}; {} has {}", key,
                                     DidYouMean(key, known), what, Join(known)));
    }
    return Status::Ok();
  }

  Result<std::string> String(const json::value& value, std::string_view path) const {
    switch (value.kind()) {
      case json::kind::string:
        return std::string(value.get_string());
      case json::kind::int64:
      case json::kind::uint64:
      case json::kind::double_:
      case json::kind::bool_:
        return Describe(value);  // YAML typed a plain scalar; the text is what the user wrote
      default:
        break;
    }
    if (auto intrinsic = IntrinsicName(value)) {
      return Error(path, fmt::format("CloudFormation's {} is not supported here: cutover resolves "
                                     "${{...}} variables but does not evaluate CloudFormation "
                                     "functions; write the value itself",
                                     *intrinsic));
    }
    return Error(path, fmt::format("must be a string, got {}", Describe(value)));
  }

  Result<std::string> BoundedString(const json::value& value, std::string_view path, size_t min,
                                    size_t max) const {
    CUTOVER_ASSIGN_OR_RETURN(std::string text, String(value, path));
    if (text.size() < min) return Error(path, "must not be empty");
    if (text.size() > max) {
      return Error(path, fmt::format("must be at most {} characters, got {}", max, text.size()));
    }
    return text;
  }

  // A JSON number or a numeric string (YAML and ${env:...} variables give strings).
  Result<double> Number(const json::value& value, std::string_view path) const {
    double out = 0;
    switch (value.kind()) {
      case json::kind::int64:
        return static_cast<double>(value.get_int64());
      case json::kind::uint64:
        return static_cast<double>(value.get_uint64());
      case json::kind::double_:
        if (std::isfinite(value.get_double())) return value.get_double();
        break;
      case json::kind::string:
        if (ParseDoubleText(value.get_string(), &out)) return out;
        break;
      default:
        break;
    }
    return Error(path, fmt::format("must be a number, got {}", Describe(value)));
  }

  Result<int64_t> Integer(const json::value& value, std::string_view path) const {
    CUTOVER_ASSIGN_OR_RETURN(double number, Number(value, path));
    if (number != std::floor(number)) {
      return Error(path, fmt::format("must be a whole number, got {}", Describe(value)));
    }
    if (std::fabs(number) > 2147483647.0) {
      return Error(path, fmt::format("is out of range: {}", Describe(value)));
    }
    return static_cast<int64_t>(number);
  }

  Result<bool> Bool(const json::value& value, std::string_view path) const {
    if (value.is_bool()) return value.get_bool();
    if (value.is_string()) {
      std::string_view text = value.get_string();
      if (EqualsIgnoreCase(text, "true")) return true;
      if (EqualsIgnoreCase(text, "false")) return false;
    }
    return Error(path, fmt::format("must be true or false, got {}", Describe(value)));
  }

  Result<const json::array*> List(const json::value& value, std::string_view path) const {
    if (value.is_array()) return &value.get_array();
    return Error(path, fmt::format("must be a list, got {}", Describe(value)));
  }

  Result<const json::object*> Object(const json::value& value, std::string_view path) const {
    if (value.is_object() && !IntrinsicName(value)) return &value.get_object();
    return Error(path, fmt::format("must be a mapping, got {}", Describe(value)));
  }

  Result<std::string> OneOf(const json::value& value, std::string_view path,
                            const Names& allowed) const {
    CUTOVER_ASSIGN_OR_RETURN(std::string text, String(value, path));
    if (Contains(allowed, text)) return text;
    return Error(path, fmt::format("must be one of {}, got '{}'{}", Join(allowed), text,
                                   DidYouMean(text, allowed)));
  }

  Result<int> Period(const json::value& value, std::string_view path) const {
    CUTOVER_ASSIGN_OR_RETURN(int64_t period, Integer(value, path));
    if (!IsValidPeriod(period)) {
      return Error(path,
                   fmt::format("must be 10, 20, 30 or a multiple of 60 seconds (or 1, cutover's "
                               "extension for fast demos), got {}",
                               period));
    }
    return static_cast<int>(period);
  }

  Result<std::string> Unit(const json::value& value, std::string_view path) const {
    return OneOf(value, path, kUnits);
  }

 private:
  const config::ResourceSpec& resource_;
};

const json::value* Find(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->value();
}

std::string Indexed(std::string_view path, size_t index) {
  return fmt::format("{}[{}]", path, index);
}

class AlarmParser {
 public:
  AlarmParser(const config::ResourceSpec& resource, const AlarmContext& ctx)
      : resource_(resource), ctx_(ctx), read_(resource), props_(resource.properties) {}

  Result<AlarmSpec> Run() {
    spec_.logical_id = resource_.logical_id;
    spec_.where = resource_.where;
    CUTOVER_RETURN_IF_ERROR(
        read_.CheckKeys(props_, kProperties, "", "AWS::CloudWatch::Alarm (as cutover reads it)"));
    CUTOVER_RETURN_IF_ERROR(ParseNaming());
    CUTOVER_RETURN_IF_ERROR(ParseActions());
    CUTOVER_RETURN_IF_ERROR(RejectAnomalyDetection());
    if (Find(props_, "Metrics") != nullptr) {
      CUTOVER_RETURN_IF_ERROR(ParseMetricMath());
    } else {
      CUTOVER_RETURN_IF_ERROR(ParseSingleMetric());
    }
    CUTOVER_RETURN_IF_ERROR(ParseEvaluation());
    CUTOVER_RETURN_IF_ERROR(ParseTags());
    return std::move(spec_);
  }

 private:
  Status ParseNaming() {
    if (const json::value* name = Find(props_, "AlarmName")) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.alarm_name, read_.BoundedString(*name, "AlarmName", 1, 255));
      if (!IsAscii(spec_.alarm_name)) {
        return read_.Error("AlarmName", "must contain only ASCII characters");
      }
    } else {
      spec_.alarm_name =
          fmt::format("{}-{}-{}", ctx_.service, ctx_.stage, resource_.logical_id).substr(0, 255);
    }
    if (const json::value* description = Find(props_, "AlarmDescription")) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.description,
                               read_.BoundedString(*description, "AlarmDescription", 0, 1024));
    }
    if (const json::value* enabled = Find(props_, "ActionsEnabled")) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.actions_enabled, read_.Bool(*enabled, "ActionsEnabled"));
    }
    return Status::Ok();
  }

  Status ParseActions() {
    CUTOVER_RETURN_IF_ERROR(ParseActionList("AlarmActions", &spec_.alarm_actions));
    CUTOVER_RETURN_IF_ERROR(ParseActionList("OKActions", &spec_.ok_actions));
    return ParseActionList("InsufficientDataActions", &spec_.insufficient_data_actions);
  }

  Status ParseActionList(std::string_view property, std::vector<AlarmAction>* out) {
    const json::value* value = Find(props_, property);
    if (value == nullptr || value->is_null()) return Status::Ok();
    CUTOVER_ASSIGN_OR_RETURN(const json::array* list, read_.List(*value, property));
    if (list->size() > kMaxActions) {
      return read_.Error(property, fmt::format("has {} actions; CloudWatch allows at most {}",
                                               list->size(), kMaxActions));
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const json::value& item = (*list)[i];
      std::string path = Indexed(property, i);
      if (auto intrinsic = IntrinsicName(item)) {
        AlarmAction action{json::serialize(item), false};
        spec_.notes.push_back(
            fmt::format("{}: {} is a CloudFormation reference ({}): kept, but "
                        "cutover only acts on http(s) URLs",
                        read_.Prefix(path), action.target, *intrinsic));
        out->push_back(std::move(action));
        continue;
      }
      CUTOVER_ASSIGN_OR_RETURN(std::string target, read_.BoundedString(item, path, 1, 1024));
      if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
        std::string_view rest = std::string_view(target).substr(target.find("//") + 2);
        if (rest.empty() || rest[0] == '/' || rest.find(' ') != std::string_view::npos) {
          return read_.Error(path, fmt::format("'{}' is not a valid URL", target));
        }
        out->push_back(AlarmAction{std::move(target), true});
      } else if (target.rfind("arn:", 0) == 0) {
        spec_.notes.push_back(
            fmt::format("{}: '{}' is an ARN: kept, but cutover has no SNS, Auto "
                        "Scaling or EC2 to act on it (it acts on http(s) URLs)",
                        read_.Prefix(path), target));
        out->push_back(AlarmAction{std::move(target), false});
      } else {
        return read_.Error(path, fmt::format("must be an http(s) URL (which cutover calls) or an "
                                             "ARN, got '{}'",
                                             target));
      }
    }
    return Status::Ok();
  }

  Status RejectAnomalyDetection() {
    constexpr std::string_view kWhy =
        "anomaly detection alarms are not supported (cutover evaluates static thresholds: "
        "ComparisonOperator GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold "
        "or LessThanOrEqualToThreshold with a Threshold)";
    if (Find(props_, "ThresholdMetricId") != nullptr) return read_.Error("ThresholdMetricId", kWhy);
    if (const json::value* op = Find(props_, "ComparisonOperator")) {
      if (op->is_string() && Contains(kAnomalyOperators, op->get_string())) {
        return read_.Error("ComparisonOperator", kWhy);
      }
    }
    return Status::Ok();
  }

  Status ParseSingleMetric() {
    const json::value* ns = Find(props_, "Namespace");
    const json::value* name = Find(props_, "MetricName");
    if (ns == nullptr) return read_.Error("Namespace", Required("Namespace"));
    if (name == nullptr) return read_.Error("MetricName", Required("MetricName"));
    CUTOVER_ASSIGN_OR_RETURN(metrics::MetricKey key, ParseMetric(props_, ""));
    spec_.metric = std::move(key);

    const json::value* statistic = Find(props_, "Statistic");
    const json::value* extended = Find(props_, "ExtendedStatistic");
    if (statistic != nullptr && extended != nullptr) {
      return read_.Error("ExtendedStatistic",
                         "give either Statistic or ExtendedStatistic, not both");
    }
    if (statistic == nullptr && extended == nullptr) {
      return read_.Error("Statistic",
                         "is required (or ExtendedStatistic, e.g. p99) for an alarm on "
                         "one metric");
    }
    if (statistic != nullptr) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.statistic_text,
                               read_.OneOf(*statistic, "Statistic", kSimpleStatistics));
      CUTOVER_ASSIGN_OR_RETURN(spec_.statistic, ParseStat(spec_.statistic_text, "Statistic"));
    } else {
      spec_.extended_statistic = true;
      CUTOVER_ASSIGN_OR_RETURN(spec_.statistic_text, read_.String(*extended, "ExtendedStatistic"));
      if (Contains(kSimpleStatistics, spec_.statistic_text)) {
        return read_.Error(
            "ExtendedStatistic",
            fmt::format("'{}' is a plain statistic: write it as Statistic", spec_.statistic_text));
      }
      CUTOVER_ASSIGN_OR_RETURN(spec_.statistic,
                               ParseStat(spec_.statistic_text, "ExtendedStatistic"));
    }

    const json::value* period = Find(props_, "Period");
    if (period == nullptr) return read_.Error("Period", Required("Period"));
    CUTOVER_ASSIGN_OR_RETURN(spec_.period_seconds, read_.Period(*period, "Period"));
    if (const json::value* unit = Find(props_, "Unit")) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.unit, read_.Unit(*unit, "Unit"));
    }
    return Status::Ok();
  }

  std::string Required(std::string_view property) const {
    return fmt::format("{} is required for an alarm on one metric (or give Metrics)", property);
  }

  Result<metrics::Statistic> ParseStat(const std::string& text, std::string_view path) const {
    Result<metrics::Statistic> stat = metrics::ParseStatistic(text);
    if (!stat.ok()) return read_.Error(path, stat.status().message());
    return stat;
  }

  // Namespace, MetricName, Dimensions of `object` (the Properties or a MetricStat's Metric). `path`
  // is
  // "" or "Metrics[i].MetricStat.Metric".
  Result<metrics::MetricKey> ParseMetric(const json::object& object, const std::string& path) {
    auto at = [&path](std::string_view key) {
      return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
    };
    const json::value* ns_value = Find(object, "Namespace");
    const json::value* name_value = Find(object, "MetricName");
    if (ns_value == nullptr) return read_.Error(at("Namespace"), "is required");
    if (name_value == nullptr) return read_.Error(at("MetricName"), "is required");
    CUTOVER_ASSIGN_OR_RETURN(std::string ns,
                             read_.BoundedString(*ns_value, at("Namespace"), 1, 255));
    if (ns[0] == ':') return read_.Error(at("Namespace"), "must not start with ':'");
    CUTOVER_ASSIGN_OR_RETURN(std::string name,
                             read_.BoundedString(*name_value, at("MetricName"), 1, 255));
    metrics::Dimensions dims;
    if (const json::value* dims_value = Find(object, "Dimensions");
        dims_value && !dims_value->is_null()) {
      std::string dims_path = at("Dimensions");
      CUTOVER_ASSIGN_OR_RETURN(const json::array* list, read_.List(*dims_value, dims_path));
      if (list->size() > kMaxDimensions) {
        return read_.Error(dims_path, fmt::format("has {} dimensions; CloudWatch allows at most {}",
                                                  list->size(), kMaxDimensions));
      }
      for (size_t i = 0; i < list->size(); ++i) {
        std::string item_path = Indexed(dims_path, i);
        CUTOVER_ASSIGN_OR_RETURN(const json::object* item, read_.Object((*list)[i], item_path));
        CUTOVER_RETURN_IF_ERROR(read_.CheckKeys(*item, kDimensionKeys, item_path, "a dimension"));
        const json::value* dim_name = Find(*item, "Name");
        const json::value* dim_value = Find(*item, "Value");
        if (dim_name == nullptr) return read_.Error(item_path + ".Name", "is required");
        if (dim_value == nullptr) return read_.Error(item_path + ".Value", "is required");
        CUTOVER_ASSIGN_OR_RETURN(std::string n,
                                 read_.BoundedString(*dim_name, item_path + ".Name", 1, 255));
        CUTOVER_ASSIGN_OR_RETURN(std::string v,
                                 read_.BoundedString(*dim_value, item_path + ".Value", 1, 1024));
        for (const auto& [other, unused] : dims) {
          if (other == n) {
            return read_.Error(item_path + ".Name",
                               fmt::format("dimension '{}' is given twice", n));
          }
        }
        dims.emplace_back(std::move(n), std::move(v));
      }
    }
    return metrics::MakeKey(std::move(ns), std::move(name), std::move(dims));
  }

  Status ParseMetricMath() {
    // PutMetricAlarm: "If you use the Metrics parameter, you cannot include the Namespace,
    // MetricName, Dimensions, Period, Unit, Statistic, or ExtendedStatistic parameters".
    for (std::string_view single : {"Namespace", "MetricName", "Dimensions", "Statistic",
                                    "ExtendedStatistic", "Period", "Unit"}) {
      if (Find(props_, single) != nullptr) {
        return read_.Error(single,
                           fmt::format("cannot be used together with Metrics (a metric-math "
                                       "alarm names its metrics, periods and statistics "
                                       "inside Metrics)"));
      }
    }
    CUTOVER_ASSIGN_OR_RETURN(const json::array* list, read_.List(props_.at("Metrics"), "Metrics"));
    if (list->empty()) return read_.Error("Metrics", "must not be empty");
    if (list->size() > kMaxQueries) {
      return read_.Error("Metrics", fmt::format("has {} items; CloudWatch allows at most {}",
                                                list->size(), kMaxQueries));
    }
    size_t metric_stats = 0;
    size_t expressions = 0;
    std::optional<size_t> first_stat;  // index of the MetricStat that set the period
    for (size_t i = 0; i < list->size(); ++i) {
      CUTOVER_ASSIGN_OR_RETURN(MetricDataQuery query, ParseQuery((*list)[i], i));
      for (const MetricDataQuery& other : spec_.metrics) {
        if (other.id == query.id) {
          return read_.Error(Indexed("Metrics", i) + ".Id",
                             fmt::format("Id '{}' is used by two items", query.id));
        }
      }
      if (query.metric_stat.has_value()) {
        if (++metric_stats > kMaxMetricStats) {
          return read_.Error(Indexed("Metrics", i),
                             fmt::format("more than {} items with MetricStat", kMaxMetricStats));
        }
        if (!first_stat.has_value()) {
          first_stat = i;
          spec_.period_seconds = query.metric_stat->period_seconds;
        } else if (query.metric_stat->period_seconds != spec_.period_seconds) {
          return read_.Error(
              Indexed("Metrics", i) + ".MetricStat.Period",
              fmt::format("all metrics of an alarm must use the same period: {} here, "
                          "{} in Metrics[{}]",
                          query.metric_stat->period_seconds, spec_.period_seconds, *first_stat));
        }
      } else if (++expressions > kMaxExpressions) {
        return read_.Error(Indexed("Metrics", i),
                           fmt::format("more than {} items with Expression", kMaxExpressions));
      }
      spec_.metrics.push_back(std::move(query));
    }
    if (!first_stat.has_value()) {
      return read_.Error("Metrics",
                         "needs at least one item with MetricStat (an expression of "
                         "constants has no period to evaluate)");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      // A query's own Period (Metrics[i].Period) must agree with the metrics' period.
      const json::object& item = (*list)[i].get_object();
      if (const json::value* period = Find(item, "Period")) {
        std::string path = Indexed("Metrics", i) + ".Period";
        CUTOVER_ASSIGN_OR_RETURN(int value, read_.Period(*period, path));
        if (value != spec_.period_seconds) {
          return read_.Error(path, fmt::format("must match the metrics' period ({}), got {}",
                                               spec_.period_seconds, value));
        }
      }
    }
    return ResolveExpressions();
  }

  Result<MetricDataQuery> ParseQuery(const json::value& value, size_t index) {
    const std::string path = Indexed("Metrics", index);
    CUTOVER_ASSIGN_OR_RETURN(const json::object* item, read_.Object(value, path));
    CUTOVER_RETURN_IF_ERROR(read_.CheckKeys(*item, kQueryKeys, path, "a MetricDataQuery"));
    MetricDataQuery query;
    const json::value* id = Find(*item, "Id");
    if (id == nullptr) return read_.Error(path + ".Id", "is required");
    CUTOVER_ASSIGN_OR_RETURN(query.id, read_.String(*id, path + ".Id"));
    if (!IsValidQueryId(query.id)) {
      return read_.Error(path + ".Id", fmt::format("'{}' is not a valid Id: it must start with a "
                                                   "lowercase letter and contain only letters, "
                                                   "digits and '_'",
                                                   query.id));
    }
    if (Find(*item, "AccountId") != nullptr) {
      return read_.Error(path + ".AccountId", "cross-account metrics are not supported");
    }
    const json::value* expression = Find(*item, "Expression");
    const json::value* metric_stat = Find(*item, "MetricStat");
    if ((expression == nullptr) == (metric_stat == nullptr)) {
      return read_.Error(path, "give exactly one of Expression and MetricStat");
    }
    if (expression != nullptr) {
      CUTOVER_ASSIGN_OR_RETURN(
          std::string text,
          read_.BoundedString(*expression, path + ".Expression", 1, Expression::kMaxLength));
      Result<Expression> parsed = Expression::Parse(text);
      if (!parsed.ok()) return read_.Error(path + ".Expression", parsed.status().message());
      query.expression = std::move(parsed).value();
    } else {
      CUTOVER_ASSIGN_OR_RETURN(query.metric_stat,
                               ParseMetricStat(*metric_stat, path + ".MetricStat"));
    }
    if (const json::value* label = Find(*item, "Label")) {
      CUTOVER_ASSIGN_OR_RETURN(query.label, read_.String(*label, path + ".Label"));
    }
    if (const json::value* return_data = Find(*item, "ReturnData")) {
      CUTOVER_ASSIGN_OR_RETURN(query.return_data, read_.Bool(*return_data, path + ".ReturnData"));
    }
    return query;
  }

  Result<MetricStat> ParseMetricStat(const json::value& value, const std::string& path) {
    CUTOVER_ASSIGN_OR_RETURN(const json::object* object, read_.Object(value, path));
    CUTOVER_RETURN_IF_ERROR(read_.CheckKeys(*object, kMetricStatKeys, path, "a MetricStat"));
    MetricStat out;
    const json::value* metric = Find(*object, "Metric");
    if (metric == nullptr) return read_.Error(path + ".Metric", "is required");
    CUTOVER_ASSIGN_OR_RETURN(const json::object* metric_object,
                             read_.Object(*metric, path + ".Metric"));
    CUTOVER_RETURN_IF_ERROR(
        read_.CheckKeys(*metric_object, kMetricKeys, path + ".Metric", "a Metric"));
    CUTOVER_ASSIGN_OR_RETURN(out.metric, ParseMetric(*metric_object, path + ".Metric"));
    const json::value* period = Find(*object, "Period");
    if (period == nullptr) return read_.Error(path + ".Period", "is required");
    CUTOVER_ASSIGN_OR_RETURN(out.period_seconds, read_.Period(*period, path + ".Period"));
    const json::value* stat = Find(*object, "Stat");
    if (stat == nullptr) return read_.Error(path + ".Stat", "is required");
    CUTOVER_ASSIGN_OR_RETURN(out.stat_text, read_.String(*stat, path + ".Stat"));
    CUTOVER_ASSIGN_OR_RETURN(out.stat, ParseStat(out.stat_text, path + ".Stat"));
    if (const json::value* unit = Find(*object, "Unit")) {
      CUTOVER_ASSIGN_OR_RETURN(out.unit, read_.Unit(*unit, path + ".Unit"));
    }
    return out;
  }

  // Exactly one ReturnData item; every id an expression reads exists and is not itself; no cycles.
  // Computes evaluation_order by a depth-first walk from the ReturnData item.
  Status ResolveExpressions() {
    std::vector<size_t> returning;
    for (size_t i = 0; i < spec_.metrics.size(); ++i) {
      if (spec_.metrics[i].return_data) returning.push_back(i);
    }
    if (returning.size() != 1) {
      std::vector<std::string> ids;
      for (size_t i : returning) ids.push_back(fmt::format("'{}'", spec_.metrics[i].id));
      return read_.Error(
          "Metrics",
          returning.empty()
              ? std::string("no item has ReturnData true; exactly one must (the value the alarm "
                            "watches)")
              : fmt::format(
                    "exactly one item must have ReturnData true, but {} do ({}); ReturnData "
                    "defaults to true, so set ReturnData: false on the others",
                    returning.size(), Join(ids)));
    }
    std::map<std::string, size_t, std::less<>> by_id;
    for (size_t i = 0; i < spec_.metrics.size(); ++i) by_id[spec_.metrics[i].id] = i;
    for (size_t i = 0; i < spec_.metrics.size(); ++i) {
      const MetricDataQuery& query = spec_.metrics[i];
      if (!query.expression.has_value()) continue;
      for (const std::string& id : query.expression->ids()) {
        std::string path = Indexed("Metrics", i) + ".Expression";
        if (id == query.id) {
          return read_.Error(path, fmt::format("'{}' refers to itself", id));
        }
        if (by_id.find(id) == by_id.end()) {
          std::vector<std::string> known;
          for (const auto& [known_id, unused] : by_id) known.push_back(known_id);
          return read_.Error(path,
                             fmt::format("unknown Id '{}' (the items are {})", id, Join(known)));
        }
      }
    }
    // 0 = unvisited, 1 = on the current path, 2 = done. At most 20 items, so recursion is shallow.
    std::vector<int> mark(spec_.metrics.size(), 0);
    std::function<Status(size_t)> visit = [&](size_t i) -> Status {
      if (mark[i] == 2) return Status::Ok();
      if (mark[i] == 1) {
        return read_.Error(Indexed("Metrics", i) + ".Expression",
                           fmt::format("expressions refer to each other in a cycle through '{}'",
                                       spec_.metrics[i].id));
      }
      mark[i] = 1;
      if (spec_.metrics[i].expression.has_value()) {
        for (const std::string& id : spec_.metrics[i].expression->ids()) {
          CUTOVER_RETURN_IF_ERROR(visit(by_id.find(id)->second));
        }
      }
      mark[i] = 2;
      spec_.evaluation_order.push_back(i);
      return Status::Ok();
    };
    // Every item is checked for cycles; only those the ReturnData item needs are evaluated.
    for (size_t i = 0; i < spec_.metrics.size(); ++i) CUTOVER_RETURN_IF_ERROR(visit(i));
    spec_.evaluation_order.clear();
    std::fill(mark.begin(), mark.end(), 0);
    return visit(returning.front());
  }

  Status ParseEvaluation() {
    const json::value* periods = Find(props_, "EvaluationPeriods");
    if (periods == nullptr) return read_.Error("EvaluationPeriods", "is required");
    CUTOVER_ASSIGN_OR_RETURN(int64_t n, read_.Integer(*periods, "EvaluationPeriods"));
    if (n < 1)
      return read_.Error("EvaluationPeriods", fmt::format("must be at least 1, got {}", n));
    // CloudWatch: Period x EvaluationPeriods <= 7 days, and <= 1 day when Period < 1 hour.
    const int64_t period = spec_.period_seconds;
    const int64_t limit = period < 3600 ? 86400 : 604800;
    if (period * n > limit) {
      return read_.Error(
          "EvaluationPeriods",
          fmt::format(
              "{} periods of {} s is {} s; CloudWatch allows at most {} s ({}) when Period is "
              "{} 3600 s",
              n, period, period * n, limit, limit == 86400 ? "one day" : "seven days",
              period < 3600 ? "under" : "at least"));
    }
    spec_.evaluation_periods = static_cast<int>(n);
    spec_.datapoints_to_alarm = spec_.evaluation_periods;
    if (const json::value* m_value = Find(props_, "DatapointsToAlarm")) {
      CUTOVER_ASSIGN_OR_RETURN(int64_t m, read_.Integer(*m_value, "DatapointsToAlarm"));
      if (m < 1 || m > n) {
        return read_.Error(
            "DatapointsToAlarm",
            fmt::format("must be between 1 and EvaluationPeriods ({}), got {}", n, m));
      }
      spec_.datapoints_to_alarm = static_cast<int>(m);
    }

    const json::value* op = Find(props_, "ComparisonOperator");
    if (op == nullptr) return read_.Error("ComparisonOperator", "is required");
    CUTOVER_ASSIGN_OR_RETURN(std::string op_text, read_.String(*op, "ComparisonOperator"));
    std::optional<Comparison> comparison = ParseComparison(op_text);
    if (!comparison.has_value()) {
      const Names names = {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold",
                           "LessThanThreshold", "LessThanOrEqualToThreshold"};
      return read_.Error("ComparisonOperator",
                         fmt::format("must be one of {}, got '{}'{}", Join(names), op_text,
                                     DidYouMean(op_text, names)));
    }
    spec_.comparison = *comparison;
    const json::value* threshold = Find(props_, "Threshold");
    if (threshold == nullptr) return read_.Error("Threshold", "is required");
    CUTOVER_ASSIGN_OR_RETURN(spec_.threshold, read_.Number(*threshold, "Threshold"));

    if (const json::value* treat = Find(props_, "TreatMissingData")) {
      const Names names = {"breaching", "notBreaching", "ignore", "missing"};
      CUTOVER_ASSIGN_OR_RETURN(std::string text, read_.OneOf(*treat, "TreatMissingData", names));
      spec_.treat_missing_data = *ParseTreatMissingData(text);
    }
    if (const json::value* low = Find(props_, "EvaluateLowSampleCountPercentile")) {
      CUTOVER_ASSIGN_OR_RETURN(
          std::string text,
          read_.OneOf(*low, "EvaluateLowSampleCountPercentile", {"evaluate", "ignore"}));
      spec_.evaluate_low_sample_count_percentile = text == "evaluate";
    }
    return Status::Ok();
  }

  Status ParseTags() {
    const json::value* tags = Find(props_, "Tags");
    if (tags == nullptr || tags->is_null()) return Status::Ok();
    CUTOVER_ASSIGN_OR_RETURN(const json::array* list, read_.List(*tags, "Tags"));
    for (size_t i = 0; i < list->size(); ++i) {
      std::string path = Indexed("Tags", i);
      CUTOVER_ASSIGN_OR_RETURN(const json::object* tag, read_.Object((*list)[i], path));
      CUTOVER_RETURN_IF_ERROR(read_.CheckKeys(*tag, kTagKeys, path, "a tag"));
      const json::value* key = Find(*tag, "Key");
      const json::value* value = Find(*tag, "Value");
      if (key == nullptr) return read_.Error(path + ".Key", "is required");
      if (value == nullptr) return read_.Error(path + ".Value", "is required");
      CUTOVER_ASSIGN_OR_RETURN(std::string k, read_.BoundedString(*key, path + ".Key", 1, 128));
      CUTOVER_ASSIGN_OR_RETURN(std::string v, read_.BoundedString(*value, path + ".Value", 0, 256));
      spec_.tags[std::move(k)] = std::move(v);
    }
    return Status::Ok();
  }

  const config::ResourceSpec& resource_;
  const AlarmContext& ctx_;
  Reader read_;
  const json::object& props_;
  AlarmSpec spec_;
};

}  // namespace

Result<AlarmSpec> ParseAlarmSpec(const config::ResourceSpec& resource, const AlarmContext& ctx) {
  CUTOVER_CHECK(resource.type == "AWS::CloudWatch::Alarm");
  return AlarmParser(resource, ctx).Run();
}

EvaluationParams MakeEvaluationParams(const AlarmSpec& spec) {
  EvaluationParams params;
  params.period_seconds = spec.period_seconds;
  params.evaluation_periods = spec.evaluation_periods;
  params.datapoints_to_alarm = spec.datapoints_to_alarm;
  params.threshold = spec.threshold;
  params.comparison = spec.comparison;
  params.treat_missing_data = spec.treat_missing_data;
  params.statistic = spec.statistic_text;
  params.unit = spec.unit.value_or("");
  if (spec.metric.has_value() && !spec.evaluate_low_sample_count_percentile &&
      metrics::IsPercentileLike(spec.statistic) && spec.statistic.percentile > 0 &&
      spec.statistic.percentile < 100) {
    params.ignore_low_sample_percentile = spec.statistic.percentile;
  }
  return params;
}

std::optional<double> EvaluateMetricsAt(const AlarmSpec& spec,
                                        const Expression::Values& metric_values) {
  CUTOVER_CHECK(!spec.metrics.empty() && !spec.evaluation_order.empty());
  Expression::Values values;
  std::optional<double> last;
  for (size_t index : spec.evaluation_order) {
    const MetricDataQuery& query = spec.metrics[index];
    if (query.expression.has_value()) {
      last = query.expression->Evaluate(values);
    } else {
      auto it = metric_values.find(query.id);
      last = it == metric_values.end() ? std::nullopt : it->second;
    }
    values[query.id] = last;
  }
  return last;  // evaluation_order ends with the ReturnData item
}

}  // namespace cutover::alarms
