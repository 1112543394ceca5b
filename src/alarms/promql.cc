#include "alarms/promql.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "metrics/prometheus.h"

namespace cutover::alarms {
namespace json = boost::json;
namespace {

// A PromQL string literal: double-quoted, with \ and " escaped (newlines too, for safety).
std::string Quoted(std::string_view text) { return "\"" + metrics::EscapeLabelValue(text) + "\""; }

// The per-node change of a cumulative family F over the period (see the top of promql.h): F now
// minus F a period ago, or all of F where there was none a period ago or where the node's sample
// count went down since (the node restarted and its counters began again). `samples` is the
// selector of the key's cutover_cloudwatch_samples_total, the restart witness.
std::string Delta(const std::string& selector, const std::string& samples, int64_t period_s) {
  return fmt::format(
      "({0} - ({0} offset {1}s * 1 unless on(instance, job) ({2} < {2} offset {1}s) or {0} * 0))",
      selector, period_s, samples);
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
  const std::string witness = PromQlSelector("cutover_cloudwatch_samples_total", key);
  const std::string samples = fmt::format("sum({})", Delta(witness, witness, period_s));
  const std::string sum = fmt::format(
      "sum({})", Delta(PromQlSelector("cutover_cloudwatch_sum", key), witness, period_s));
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
      value = fmt::format(
          "histogram_quantile({}, sum by (le) {})", statistic.percentile / 100.0,
          Delta(PromQlSelector("cutover_cloudwatch_latency_bucket", key), witness, period_s));
      break;
    default:
      value = "vector(NaN)";  // unreachable: PromQlSupported refuses the rest
  }
  return Labelled(value, "value") + " or " + Labelled(samples, "samples");
}

namespace {

// Prometheus's refusal of the query itself (bad_data, execution) is InvalidArgument: this alarm's
// query, not the server, is at fault. Anything else that is not a success is Unavailable.
Status RefusalOf(const json::object& root) {
  const json::value* error = root.if_contains("error");
  const json::value* type = root.if_contains("errorType");
  const std::string text =
      error != nullptr && error->is_string() ? std::string(error->as_string()) : "no reason";
  if (type != nullptr && type->is_string() &&
      (type->as_string() == "bad_data" || type->as_string() == "execution")) {
    return InvalidArgument("Prometheus refused the query: " + text);
  }
  return Unavailable("Prometheus answered with an error: " + text);
}

std::optional<double> NumberOf(const json::value& text) {
  if (!text.is_string()) return std::nullopt;
  const std::string s(text.as_string());
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str()) return std::nullopt;
  return v;
}

}  // namespace

Result<std::vector<PeriodValue>> ParsePeriodValues(std::string_view body, int64_t first_end_s,
                                                   int64_t period_s, int count) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    return Unavailable(
        fmt::format("Prometheus answered something that is not JSON: {:.200}", body));
  }
  const json::object& root = doc.as_object();
  const json::value* status = root.if_contains("status");
  if (status == nullptr || !status->is_string() || status->as_string() != "success") {
    return RefusalOf(root);
  }
  const json::value* data = root.if_contains("data");
  const json::value* result =
      data != nullptr && data->is_object() ? data->as_object().if_contains("result") : nullptr;
  if (result == nullptr || !result->is_array()) {
    return Unavailable("Prometheus answered without data.result");
  }
  std::vector<std::optional<double>> values(count), samples(count);
  for (const json::value& item : result->as_array()) {
    if (!item.is_object()) continue;
    const json::value* metric = item.as_object().if_contains("metric");
    const json::value* points = item.as_object().if_contains("values");
    if (metric == nullptr || !metric->is_object() || points == nullptr || !points->is_array()) {
      continue;
    }
    const json::value* part = metric->as_object().if_contains("part");
    if (part == nullptr || !part->is_string()) continue;
    auto& into = part->as_string() == "value" ? values : samples;
    if (part->as_string() != "value" && part->as_string() != "samples") continue;
    for (const json::value& point : points->as_array()) {
      if (!point.is_array() || point.as_array().size() != 2) continue;
      const json::value& at = point.as_array()[0];
      if (!at.is_number()) continue;
      // Evaluation times are first_end_s + i * period_s, given back as float seconds.
      const double index = (at.to_number<double>() - static_cast<double>(first_end_s)) /
                           static_cast<double>(period_s);
      const int64_t i = std::llround(index);
      if (i < 0 || i >= count || std::abs(index - static_cast<double>(i)) > 1e-6) continue;
      into[static_cast<size_t>(i)] = NumberOf(point.as_array()[1]);
    }
  }
  std::vector<PeriodValue> out(count);
  for (int i = 0; i < count; ++i) {
    // Fewer than half a sample: none (counters change by whole numbers; Prometheus subtracts
    // floats). No samples in the period is missing data, whatever the value query said.
    if (!samples[i] || !(*samples[i] >= 0.5)) continue;
    out[i].samples = static_cast<uint64_t>(std::llround(*samples[i]));
    if (values[i] && std::isfinite(*values[i])) out[i].value = values[i];
  }
  return out;
}

}  // namespace cutover::alarms
