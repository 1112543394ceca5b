#include "api/metric_query.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <set>

#include "gateway/http_util.h"
#include "metrics/rollup.h"
#include "store/state_store.h"

namespace cutover::api {
namespace {

namespace json = boost::json;

constexpr int64_t kDefaultPeriodS = 60;
constexpr int64_t kDefaultMinutes = 15;
constexpr int64_t kMaxPeriodS = 86400;
constexpr int64_t kMemoryMs = 3 * 3600 * 1000;  // what MetricsStore holds at 1-minute detail

// The rules both forms share, once every field is known. `where` prefixes the messages ("" or
// "queries[2].").
Status CheckQuery(const MetricQuery& q, std::string_view where) {
  if (q.key.ns.empty() || q.key.name.empty()) {
    return InvalidArgument(fmt::format("{}namespace and {}name are required", where, where));
  }
  if (q.period_s <= 0 || q.period_s > kMaxPeriodS) {
    return InvalidArgument(fmt::format("{}period must be 1..86400 seconds", where));
  }
  if (q.start_ms >= q.end_ms) {
    return InvalidArgument(
        fmt::format("{}start and end are epoch milliseconds, start < end", where));
  }
  if ((q.end_ms - q.start_ms) / 1000 / q.period_s > kMaxDatapointsPerQuery) {
    return InvalidArgument(fmt::format("{}too many datapoints: widen the period", where));
  }
  return Status::Ok();
}

bool ParseInt(std::string_view text, int64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

// A JSON number that is an integer (12 or 12.0), into *out.
bool JsonInt(const json::value& v, int64_t* out) {
  if (v.is_int64()) {
    *out = v.get_int64();
    return true;
  }
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    *out = static_cast<int64_t>(v.get_uint64());
    return true;
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::trunc(d) == d && std::fabs(d) < 9.0e15) {
      *out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

Result<MetricQuery> QueryFromJson(const json::value& v, size_t index, int64_t now_ms) {
  const std::string where = fmt::format("queries[{}].", index);
  if (!v.is_object()) return InvalidArgument(fmt::format("queries[{}] must be an object", index));
  const json::object& o = v.get_object();
  static const std::set<std::string_view> kKeys = {"id",        "namespace", "name",
                                                    "dimensions", "statistic", "period",
                                                    "start",     "end",       "minutes"};
  for (const auto& kv : o) {
    if (!kKeys.contains(kv.key())) {
      return InvalidArgument(fmt::format("{}{}: unknown field (expected one of id, namespace, "
                                         "name, dimensions, statistic, period, start, end, "
                                         "minutes)",
                                         where, std::string_view(kv.key())));
    }
  }
  auto text = [&](const char* key, std::string* out) -> Status {
    const json::value* f = o.if_contains(key);
    if (f == nullptr) return Status::Ok();
    if (!f->is_string()) return InvalidArgument(fmt::format("{}{} must be a string", where, key));
    *out = std::string(f->get_string());
    return Status::Ok();
  };
  auto integer = [&](const char* key, std::optional<int64_t>* out) -> Status {
    const json::value* f = o.if_contains(key);
    if (f == nullptr || f->is_null()) return Status::Ok();
    int64_t n = 0;
    if (!JsonInt(*f, &n)) return InvalidArgument(fmt::format("{}{} must be an integer", where, key));
    *out = n;
    return Status::Ok();
  };

  MetricQuery q;
  std::string ns, name, statistic = "Average";
  CUTOVER_RETURN_IF_ERROR(text("id", &q.id));
  CUTOVER_RETURN_IF_ERROR(text("namespace", &ns));
  CUTOVER_RETURN_IF_ERROR(text("name", &name));
  CUTOVER_RETURN_IF_ERROR(text("statistic", &statistic));
  metrics::Dimensions dims;
  if (const json::value* d = o.if_contains("dimensions"); d != nullptr && !d->is_null()) {
    if (!d->is_object()) {
      return InvalidArgument(
          fmt::format("{}dimensions must be an object of names to string values", where));
    }
    for (const auto& kv : d->get_object()) {
      if (kv.key().empty() || !kv.value().is_string()) {
        return InvalidArgument(
            fmt::format("{}dimensions must be an object of names to string values", where));
      }
      dims.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
    }
  }
  auto parsed = metrics::ParseStatistic(statistic);
  if (!parsed.ok()) {
    return InvalidArgument(fmt::format("{}statistic: {}", where, parsed.status().message()));
  }
  q.statistic = std::move(*parsed);
  std::optional<int64_t> period, start, end, minutes;
  CUTOVER_RETURN_IF_ERROR(integer("period", &period));
  CUTOVER_RETURN_IF_ERROR(integer("start", &start));
  CUTOVER_RETURN_IF_ERROR(integer("end", &end));
  CUTOVER_RETURN_IF_ERROR(integer("minutes", &minutes));
  if (minutes && *minutes <= 0) {
    return InvalidArgument(fmt::format("{}minutes must be a positive integer", where));
  }
  q.period_s = period.value_or(kDefaultPeriodS);
  q.end_ms = end.value_or(now_ms);
  q.start_ms = start.value_or(q.end_ms - minutes.value_or(kDefaultMinutes) * 60 * 1000);
  q.key = metrics::MakeKey(std::move(ns), std::move(name), std::move(dims));
  CUTOVER_RETURN_IF_ERROR(CheckQuery(q, where));
  return q;
}

void AppendNumber(std::string* out, double v) {
  // Shortest text that reads back as the same double; JSON has no NaN or infinity.
  if (std::isfinite(v)) {
    fmt::format_to(std::back_inserter(*out), "{}", v);
  } else {
    out->append("null");
  }
}

}  // namespace

Result<MetricQuery> MetricQueryFromParams(const ParamLookup& param, int64_t now_ms) {
  MetricQuery q;
  std::string ns = param("namespace").value_or(""), name = param("name").value_or("");
  if (ns.empty() || name.empty()) return InvalidArgument("namespace and name are required");
  metrics::Dimensions dims;
  const std::string dim_text = param("dimensions").value_or("");
  for (size_t start = 0; start < dim_text.size();) {
    size_t end = dim_text.find(',', start);
    if (end == std::string::npos) end = dim_text.size();
    std::string_view pair = std::string_view(dim_text).substr(start, end - start);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return InvalidArgument(fmt::format("dimension '{}' is not Name=Value", pair));
    }
    dims.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    start = end + 1;
  }
  CUTOVER_ASSIGN_OR_RETURN(q.statistic,
                           metrics::ParseStatistic(param("statistic").value_or("Average")));
  auto number = [&](const char* key, int64_t fallback, int64_t* out) {
    auto text = param(key);
    if (!text || text->empty()) {
      *out = fallback;
      return true;
    }
    return ParseInt(*text, out);
  };
  if (!number("period", kDefaultPeriodS, &q.period_s)) {
    return InvalidArgument("period must be 1..86400 seconds");
  }
  int64_t minutes = kDefaultMinutes;
  if (!number("minutes", kDefaultMinutes, &minutes) || minutes <= 0) {
    return InvalidArgument("minutes must be a positive integer");
  }
  if (!number("end", now_ms, &q.end_ms) ||
      !number("start", q.end_ms - minutes * 60 * 1000, &q.start_ms)) {
    return InvalidArgument("start and end are epoch milliseconds, start < end");
  }
  q.key = metrics::MakeKey(std::move(ns), std::move(name), std::move(dims));
  CUTOVER_RETURN_IF_ERROR(CheckQuery(q, ""));
  return q;
}

Result<std::vector<MetricQuery>> MetricQueriesFromJson(std::string_view body, int64_t now_ms) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return InvalidArgument("request body is not valid JSON: " + ec.message());
  const json::value* list = v.is_object() ? v.get_object().if_contains("queries") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return InvalidArgument(R"(the body must be {"queries": [...]})");
  }
  const json::array& queries = list->get_array();
  if (queries.empty() || queries.size() > kMaxQueriesPerBatch) {
    return InvalidArgument(fmt::format("queries: between 1 and {} queries, not {}",
                                       kMaxQueriesPerBatch, queries.size()));
  }
  std::vector<MetricQuery> out;
  out.reserve(queries.size());
  std::set<std::string> ids;
  int64_t datapoints = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    CUTOVER_ASSIGN_OR_RETURN(MetricQuery q, QueryFromJson(queries[i], i, now_ms));
    if (q.id.empty()) q.id = fmt::format("q{}", i);
    if (!ids.insert(q.id).second) {
      return InvalidArgument(fmt::format("queries[{}].id: '{}' is used twice", i, q.id));
    }
    datapoints += (q.end_ms - q.start_ms) / 1000 / q.period_s + 1;
    if (datapoints > kMaxDatapointsPerBatch) {
      return InvalidArgument(fmt::format(
          "queries[{}]: the queries up to here ask for more than {} datapoints in all: widen "
          "their periods or split the request",
          i, kMaxDatapointsPerBatch));
    }
    out.push_back(std::move(q));
  }
  return out;
}

Result<std::vector<metrics::Datapoint>> AnswerMetricQuery(const MetricQuery& query,
                                                          const metrics::MetricsStore& memory,
                                                          store::StateStore* store,
                                                          int64_t now_ms) {
  auto points = memory.Query(query.key, query.statistic, query.start_ms, query.end_ms,
                             static_cast<int>(query.period_s));
  // Older than memory: whole-minute periods come from the 1-minute rollups in the store.
  const int64_t memory_start_ms = now_ms - kMemoryMs;
  if (store == nullptr || query.period_s % 60 != 0 || points.empty() ||
      points.front().timestamp_ms >= memory_start_ms) {
    return points;
  }
  const std::string encoded = metrics::EncodeMetricKey(query.key);
  const int64_t from_minute = points.front().timestamp_ms / 60000;
  const int64_t to_minute = std::min(query.end_ms, memory_start_ms) / 60000 + 1;
  std::vector<store::MetricRollupRecord> rows;
  CUTOVER_RETURN_IF_ERROR(store->Read([&](store::StoreTxn& txn) -> Status {
    CUTOVER_ASSIGN_OR_RETURN(rows, txn.ListMetricRollups(encoded, from_minute, to_minute));
    return Status::Ok();
  }));
  size_t next = 0;
  std::vector<metrics::Aggregate> minutes;
  for (auto& dp : points) {
    if (dp.timestamp_ms >= memory_start_ms) break;
    const int64_t end = dp.timestamp_ms + query.period_s * 1000;
    minutes.clear();
    while (next < rows.size() && rows[next].minute * 60000 < dp.timestamp_ms) ++next;
    for (; next < rows.size() && rows[next].minute * 60000 < end; ++next) {
      auto aggregate = metrics::DecodeAggregate(rows[next].data);
      if (aggregate.ok()) {
        minutes.push_back(std::move(*aggregate));
      } else {
        spdlog::warn("metric rollup {} minute {} unreadable: {}", query.key.ToString(),
                     rows[next].minute, aggregate.status().ToString());
      }
    }
    if (!minutes.empty()) {
      dp = metrics::ComputeFromRollups(query.statistic, minutes, dp.timestamp_ms);
    }
  }
  return points;
}

void AppendMetricAnswer(std::string* out, const MetricQuery& query, bool exists,
                        const std::vector<metrics::Datapoint>& points) {
  out->push_back('{');
  if (!query.id.empty()) {
    out->append("\"id\":");
    gateway::AppendJsonString(out, query.id);
    out->push_back(',');
  }
  out->append("\"metric\":");
  gateway::AppendJsonString(out, query.key.ToString());
  out->append(",\"statistic\":");
  gateway::AppendJsonString(out, metrics::ToString(query.statistic));
  fmt::format_to(std::back_inserter(*out), ",\"period\":{},\"exists\":{},\"datapoints\":[",
                 query.period_s, exists);
  out->reserve(out->size() + points.size() * 64);
  for (size_t i = 0; i < points.size(); ++i) {
    const metrics::Datapoint& dp = points[i];
    fmt::format_to(std::back_inserter(*out), "{}{{\"timestamp\":{},\"value\":", i ? "," : "",
                   dp.timestamp_ms);
    if (dp.value) {
      AppendNumber(out, *dp.value);
    } else {
      out->append("null");
    }
    fmt::format_to(std::back_inserter(*out), ",\"sample_count\":{}}}", dp.sample_count);
  }
  out->append("]}");
}

}  // namespace cutover::api
