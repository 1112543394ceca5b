#include "alarms/promql.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>

#include "metrics/prometheus.h"

namespace cutover::alarms {
namespace json = boost::json;
namespace {

// A PromQL string literal: double-quoted, with \ and " escaped (newlines too, for safety).
std::string Quoted(std::string_view text) { return "\"" + metrics::EscapeLabelValue(text) + "\""; }

// The per-node change of a cumulative family over the period (see the top of promql.h).
std::string Delta(const std::string& selector, int64_t period_s) {
  return fmt::format("({0} - ({0} offset {1}s * 1 or {0} * 0))", selector, period_s);
}

std::string Labelled(const std::string& expr, std::string_view part) {
  return fmt::format("label_replace({}, \"part\", \"{}\", \"part\", \".*\")", expr, part);
}

}  // namespace

Status PromQlSupported(const metrics::MetricKey& key, const metrics::Statistic& statistic) {
  using metrics::StatisticKind;
  switch (statistic.kind) {
    case StatisticKind::kSampleCount:
    case StatisticKind::kSum:
    case StatisticKind::kAverage:
    case StatisticKind::kMinimum:
    case StatisticKind::kMaximum:
      return Status::Ok();
    case StatisticKind::kPercentile:
      if (metrics::IsLatencyMetric(key)) return Status::Ok();
      return InvalidArgument(fmt::format(
          "{} of {} {} cannot be read from Prometheus: only Duration (AWS/Lambda), Latency and "
          "IntegrationLatency (AWS/ApiGateway) and Latency (Cutover) are exported as histograms",
          metrics::ToString(statistic), key.ns, key.name));
    default:
      return InvalidArgument(fmt::format(
          "the statistic {} cannot be read from Prometheus, which holds counters, extremes and "
          "histogram buckets, not the samples themselves; use SampleCount, Sum, Average, Minimum, "
          "Maximum or a pNN of a latency metric",
          metrics::ToString(statistic)));
  }
}

std::string PromQlSelector(std::string_view family, const metrics::MetricKey& key) {
  std::string out = fmt::format("{}{{namespace={},metric={},dimensions={}", family, Quoted(key.ns),
                                Quoted(key.name), Quoted(metrics::DimensionSetLabel(key.dims)));
  for (const auto& [name, value] : key.dims) {
    out += fmt::format(",{}={}", metrics::PrometheusLabelName(name), Quoted(value));
  }
  out += '}';
  return out;
}

std::string PromQlForPeriod(const metrics::MetricKey& key, const metrics::Statistic& statistic,
                            int64_t period_s) {
  using metrics::StatisticKind;
  const std::string samples = fmt::format(
      "sum({})", Delta(PromQlSelector("cutover_cloudwatch_samples_total", key), period_s));
  const std::string sum =
      fmt::format("sum({})", Delta(PromQlSelector("cutover_cloudwatch_sum", key), period_s));
  std::string value;
  switch (statistic.kind) {
    case StatisticKind::kSampleCount:
      value = samples;
      break;
    case StatisticKind::kSum:
      value = sum;
      break;
    case StatisticKind::kAverage:
      value = fmt::format("{} / {}", sum, samples);
      break;
    case StatisticKind::kMaximum:
      value = fmt::format("max(max_over_time({}[{}s]))",
                          PromQlSelector("cutover_cloudwatch_maximum", key), period_s);
      break;
    case StatisticKind::kMinimum:
      value = fmt::format("min(min_over_time({}[{}s]))",
                          PromQlSelector("cutover_cloudwatch_minimum", key), period_s);
      break;
    case StatisticKind::kPercentile:
      value =
          fmt::format("histogram_quantile({}, sum by (le) {})", statistic.percentile / 100.0,
                      Delta(PromQlSelector("cutover_cloudwatch_latency_bucket", key), period_s));
      break;
    default:
      value = "vector(NaN)";  // unreachable: PromQlSupported refuses the rest
  }
  return Labelled(value, "value") + " or " + Labelled(samples, "samples");
}

Result<PeriodValue> ParsePeriodValue(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    return Unavailable(
        fmt::format("Prometheus answered something that is not JSON: {:.200}", body));
  }
  const json::object& root = doc.as_object();
  const json::value* status = root.if_contains("status");
  if (status == nullptr || !status->is_string() || status->as_string() != "success") {
    const json::value* error = root.if_contains("error");
    return Unavailable(fmt::format(
        "Prometheus refused the query: {}",
        error != nullptr && error->is_string() ? std::string(error->as_string()) : "no reason"));
  }
  const json::value* data = root.if_contains("data");
  const json::value* result =
      data != nullptr && data->is_object() ? data->as_object().if_contains("result") : nullptr;
  if (result == nullptr || !result->is_array()) {
    return Unavailable("Prometheus answered without data.result");
  }
  PeriodValue out;
  std::optional<double> samples;
  for (const json::value& item : result->as_array()) {
    if (!item.is_object()) continue;
    const json::value* metric = item.as_object().if_contains("metric");
    const json::value* pair = item.as_object().if_contains("value");
    if (metric == nullptr || !metric->is_object() || pair == nullptr || !pair->is_array() ||
        pair->as_array().size() != 2 || !pair->as_array()[1].is_string()) {
      continue;
    }
    const json::value* part = metric->as_object().if_contains("part");
    if (part == nullptr || !part->is_string()) continue;
    const std::string text(pair->as_array()[1].as_string());
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str()) continue;
    if (part->as_string() == "value") {
      if (std::isfinite(v)) out.value = v;
    } else if (part->as_string() == "samples") {
      samples = v;
    }
  }
  // Fewer than half a sample: none (the change of a counter is whole, but Prometheus subtracts
  // floats). No samples in the period is missing data, whatever the value query said.
  if (!samples || !(*samples >= 0.5)) return PeriodValue{};
  out.samples = static_cast<uint64_t>(std::llround(*samples));
  return out;
}

}  // namespace cutover::alarms
