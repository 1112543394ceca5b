#include "metrics/emf.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <exception>
#include <optional>
#include <utility>

namespace cutover::metrics {
namespace {

namespace json = boost::json;

// CloudWatch's names: Namespace and metric and dimension names 1..255 characters, dimension values
// 1..1024.
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxDimensionValueLength = 1024;
// 9999-12-31T23:59:59.999Z: anything later is not a plausible epoch-milliseconds timestamp.
constexpr double kMaxTimestampMs = 253402300799999.0;

// CloudWatch's StandardUnit values.
constexpr std::array<std::string_view, 27> kUnits = {
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
};

Status Invalid(std::string message) { return InvalidArgument("EMF: " + std::move(message)); }

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A finite number, or nullopt (not a number, or not finite).
std::optional<double> FiniteNumber(const json::value& v) {
  if (!v.is_number()) return std::nullopt;
  boost::system::error_code ec;
  double d = v.to_number<double>(ec);
  if (ec || !std::isfinite(d)) return std::nullopt;
  return d;
}

// A name CloudWatch accepts: 1..255 characters.
Result<std::string_view> Name(const json::value* v, std::string_view where) {
  if (v == nullptr) return Invalid(fmt::format("{} is missing", where));
  if (!v->is_string()) return Invalid(fmt::format("{} is not a string", where));
  std::string_view s = v->get_string();
  if (s.empty() || s.size() > kMaxNameLength) {
    return Invalid(fmt::format("{} must have 1 to {} characters", where, kMaxNameLength));
  }
  return s;
}

Result<int64_t> Timestamp(const json::value& v) {
  std::optional<double> d = FiniteNumber(v);
  if (!d) return Invalid("_aws.Timestamp is not a finite number");
  if (*d < 0 || *d > kMaxTimestampMs) {
    return Invalid("_aws.Timestamp is not epoch milliseconds between 1970 and 9999");
  }
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<int64_t>(v.get_uint64());  // <= kMaxTimestampMs
  return static_cast<int64_t>(std::floor(*d));
}

// The dimension sets of one directive, each as (name, value) pairs sorted and unique by name.
Result<std::vector<Dimensions>> DimensionSets(const json::object& root, const json::value* v,
                                              std::string_view where) {
  if (v == nullptr) return Invalid(fmt::format("{}.Dimensions is missing", where));
  if (!v->is_array()) return Invalid(fmt::format("{}.Dimensions is not an array", where));
  const json::array& sets = v->get_array();
  std::vector<Dimensions> out;
  if (sets.empty()) {
    out.emplace_back();  // no dimension sets: the metrics once, without dimensions
    return out;
  }
  out.reserve(sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    const std::string set_where = fmt::format("{}.Dimensions[{}]", where, i);
    if (!sets[i].is_array()) return Invalid(fmt::format("{} is not an array", set_where));
    const json::array& names = sets[i].get_array();
    if (names.size() > kMaxEmfDimensionsPerSet) {
      return Invalid(fmt::format("{} has {} dimensions, more than {}", set_where, names.size(),
                                 kMaxEmfDimensionsPerSet));
    }
    Dimensions dims;
    dims.reserve(names.size());
    for (size_t j = 0; j < names.size(); ++j) {
      CUTOVER_ASSIGN_OR_RETURN(std::string_view name,
                               Name(&names[j], fmt::format("{}[{}]", set_where, j)));
      const json::value* member = root.if_contains(name);
      if (member == nullptr) {
        return Invalid(fmt::format("dimension '{}' ({}) has no member", name, set_where));
      }
      if (!member->is_string()) {
        return Invalid(fmt::format("dimension '{}' is not a string", name));
      }
      std::string_view value = member->get_string();
      if (value.empty() || value.size() > kMaxDimensionValueLength) {
        return Invalid(fmt::format("dimension '{}' must have 1 to {} characters", name,
                                   kMaxDimensionValueLength));
      }
      dims.emplace_back(std::string(name), std::string(value));
    }
    // A set is a set: a repeated name counts once (its value is the same member either way).
    std::sort(dims.begin(), dims.end());
    dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
    out.push_back(std::move(dims));
  }
  return out;
}

struct Metric {
  std::string_view name;
  std::string_view unit;
  std::vector<double> values;
};

Result<Metric> ParseMetric(const json::object& root, const json::value& v, std::string_view where) {
  if (!v.is_object()) return Invalid(fmt::format("{} is not an object", where));
  const json::object& def = v.get_object();
  Metric m;
  CUTOVER_ASSIGN_OR_RETURN(m.name, Name(def.if_contains("Name"), fmt::format("{}.Name", where)));
  m.unit = "None";
  if (const json::value* unit = def.if_contains("Unit")) {
    if (!unit->is_string()) return Invalid(fmt::format("{}.Unit is not a string", where));
    std::string_view u = unit->get_string();
    if (std::find(kUnits.begin(), kUnits.end(), u) == kUnits.end()) {
      return Invalid(fmt::format("{}.Unit '{}' is not a CloudWatch unit", where, u));
    }
    m.unit = u;
  }
  if (const json::value* res = def.if_contains("StorageResolution")) {
    std::optional<double> r = FiniteNumber(*res);
    if (!r || (*r != 1 && *r != 60)) {
      return Invalid(fmt::format("{}.StorageResolution must be 1 or 60", where));
    }
  }
  const json::value* member = root.if_contains(m.name);
  if (member == nullptr) return Invalid(fmt::format("metric '{}' has no member", m.name));
  if (member->is_array()) {
    const json::array& values = member->get_array();
    if (values.empty() || values.size() > kMaxEmfValuesPerMetric) {
      return Invalid(
          fmt::format("metric '{}' must have 1 to {} values", m.name, kMaxEmfValuesPerMetric));
    }
    m.values.reserve(values.size());
    for (const json::value& x : values) {
      std::optional<double> d = FiniteNumber(x);
      if (!d)
        return Invalid(fmt::format("metric '{}' has a value that is not a finite number", m.name));
      m.values.push_back(*d);
    }
  } else {
    std::optional<double> d = FiniteNumber(*member);
    if (!d) {
      return Invalid(fmt::format("metric '{}' is not a finite number or an array of them", m.name));
    }
    m.values.push_back(*d);
  }
  return m;
}

Result<std::vector<EmfDatum>> Parse(std::string_view line, int64_t default_timestamp_ms) {
  json::monotonic_resource resource;
  boost::system::error_code ec;
  json::value doc = json::parse(line, ec, &resource);
  if (ec) return Invalid(fmt::format("not JSON: {}", ec.message()));
  if (!doc.is_object()) return Invalid("not a JSON object");
  const json::object& root = doc.get_object();
  const json::value* aws = root.if_contains("_aws");
  if (aws == nullptr) return Invalid("_aws is missing");
  if (!aws->is_object()) return Invalid("_aws is not an object");
  const json::object& meta = aws->get_object();

  int64_t timestamp_ms = default_timestamp_ms;
  if (const json::value* t = meta.if_contains("Timestamp")) {
    CUTOVER_ASSIGN_OR_RETURN(timestamp_ms, Timestamp(*t));
  }
  const json::value* directives = meta.if_contains("CloudWatchMetrics");
  if (directives == nullptr) return Invalid("_aws.CloudWatchMetrics is missing");
  if (!directives->is_array()) return Invalid("_aws.CloudWatchMetrics is not an array");

  std::vector<EmfDatum> out;
  const json::array& list = directives->get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("CloudWatchMetrics[{}]", i);
    if (!list[i].is_object()) return Invalid(fmt::format("{} is not an object", where));
    const json::object& directive = list[i].get_object();
    CUTOVER_ASSIGN_OR_RETURN(std::string_view ns, Name(directive.if_contains("Namespace"),
                                                       fmt::format("{}.Namespace", where)));
    if (ns.starts_with("AWS/")) {
      return Invalid(fmt::format("{}.Namespace '{}' is reserved for AWS", where, ns));
    }
    CUTOVER_ASSIGN_OR_RETURN(std::vector<Dimensions> sets,
                             DimensionSets(root, directive.if_contains("Dimensions"), where));
    const json::value* metrics = directive.if_contains("Metrics");
    if (metrics == nullptr) return Invalid(fmt::format("{}.Metrics is missing", where));
    if (!metrics->is_array()) return Invalid(fmt::format("{}.Metrics is not an array", where));
    const json::array& defs = metrics->get_array();
    if (defs.size() > kMaxEmfMetricsPerDirective) {
      return Invalid(fmt::format("{}.Metrics has {} metrics, more than {}", where, defs.size(),
                                 kMaxEmfMetricsPerDirective));
    }
    std::vector<Metric> parsed;
    parsed.reserve(defs.size());
    for (size_t j = 0; j < defs.size(); ++j) {
      CUTOVER_ASSIGN_OR_RETURN(Metric m,
                               ParseMetric(root, defs[j], fmt::format("{}.Metrics[{}]", where, j)));
      parsed.push_back(std::move(m));
    }
    if (out.size() + sets.size() * parsed.size() > kMaxEmfDatumsPerLine) {
      return Invalid(fmt::format("the line defines more than {} metrics", kMaxEmfDatumsPerLine));
    }
    for (const Dimensions& dims : sets) {
      for (const Metric& m : parsed) {
        EmfDatum d;
        d.key = MakeKey(std::string(ns), std::string(m.name), dims);
        d.timestamp_ms = timestamp_ms;
        d.values = m.values;
        d.unit = std::string(m.unit);
        out.push_back(std::move(d));
      }
    }
  }
  return out;
}

}  // namespace

bool LooksLikeEmf(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && IsBlank(line[i])) ++i;
  if (i == line.size() || line[i] != '{') return false;
  return line.find("_aws", i + 1) != std::string_view::npos;
}

Result<std::vector<EmfDatum>> ParseEmfLine(std::string_view line, int64_t default_timestamp_ms) {
  if (!LooksLikeEmf(line)) return Invalid("not a JSON object with _aws");
  // Boost.JSON reports errors through the error_code; what may still throw is allocation (or a
  // library bug): caught here so a log line can never take the daemon down.
  try {
    return Parse(line, default_timestamp_ms);
  } catch (const std::exception& e) {
    return Invalid(fmt::format("cannot parse: {}", e.what()));
  }
}

}  // namespace cutover::metrics
