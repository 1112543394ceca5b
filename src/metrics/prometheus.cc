#include "metrics/prometheus.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>

namespace cutover::metrics {
namespace {

std::string Labels(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    out += EscapeLabelValue(labels[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<std::pair<std::string, std::string>> RouteLabelsOf(const RouteLabels& r,
                                                                uint32_t version) {
  return {{"function", r.function_name},
          {"version", std::to_string(version)},
          {"alias", r.alias},
          {"route", r.method + " " + r.resource},
          {"api", r.rest ? "rest" : "http"}};
}

using LabelList = std::vector<std::pair<std::string, std::string>>;

LabelList CloudWatchLabels(const MetricKey& key) {
  LabelList labels = {
      {"namespace", key.ns}, {"metric", key.name}, {"dimensions", DimensionSetLabel(key.dims)}};
  for (const auto& [name, value] : key.dims) labels.emplace_back(PrometheusLabelName(name), value);
  return labels;
}

// Shortest text that parses back to the same double; OpenMetrics spells infinities +Inf/-Inf.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void AppendCloudWatchSeries(const MetricsStore& store, int64_t now_s, std::string& out) {
  const auto& all = store.series();
  out += "# TYPE cutover_cloudwatch_samples counter\n";
  out += "# HELP cutover_cloudwatch_samples Samples of each CloudWatch-style metric since this node created it.\n";
  for (const auto& [key, series] : all) {
    out += fmt::format("cutover_cloudwatch_samples_total{} {}\n", Labels(CloudWatchLabels(key)),
                       series->total_count());
  }
  out += "# TYPE cutover_cloudwatch_sum gauge\n";
  out += "# HELP cutover_cloudwatch_sum The sum of those samples.\n";
  for (const auto& [key, series] : all) {
    out += fmt::format("cutover_cloudwatch_sum{} {}\n", Labels(CloudWatchLabels(key)),
                       Number(series->total_sum()));
  }
  Statistic maximum, minimum;
  maximum.kind = StatisticKind::kMaximum;
  minimum.kind = StatisticKind::kMinimum;
  const int64_t from = now_s - kExtremeWindowSeconds + 1;
  for (const auto& [family, statistic] :
       {std::pair{"maximum", &maximum}, std::pair{"minimum", &minimum}}) {
    out += fmt::format("# TYPE cutover_cloudwatch_{} gauge\n", family);
    out += fmt::format(
        "# HELP cutover_cloudwatch_{} The {} sample of the last {} seconds.\n", family,
        family == std::string_view("maximum") ? "largest" : "smallest", kExtremeWindowSeconds);
    for (const auto& [key, series] : all) {
      if (series->last_second() < from) continue;
      Datapoint dp = series->Compute(*statistic, from, now_s + 1);
      if (!dp.value) continue;
      out += fmt::format("cutover_cloudwatch_{}{} {}\n", family, Labels(CloudWatchLabels(key)),
                         Number(*dp.value));
    }
  }
  out += "# TYPE cutover_cloudwatch_latency histogram\n";
  out += "# HELP cutover_cloudwatch_latency The latency metrics' samples by bucket (milliseconds).\n";
  for (const auto& [key, series] : all) {
    const std::vector<uint64_t>& buckets = series->latency_buckets();
    if (buckets.empty()) continue;
    LabelList labels = CloudWatchLabels(key);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < buckets.size(); ++i) {
      cumulative += buckets[i];
      labels.emplace_back("le", i < std::size(kLatencyBucketBoundsMs)
                                    ? Number(kLatencyBucketBoundsMs[i])
                                    : std::string("+Inf"));
      out += fmt::format("cutover_cloudwatch_latency_bucket{} {}\n", Labels(labels), cumulative);
      labels.pop_back();
    }
    out += fmt::format("cutover_cloudwatch_latency_count{} {}\n", Labels(labels), cumulative);
    out += fmt::format("cutover_cloudwatch_latency_sum{} {}\n", Labels(labels),
                       Number(series->total_sum()));
  }
}

}  // namespace

std::string PrometheusLabelName(std::string_view dimension) {
  std::string out = "dim_";
  for (char c : dimension) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (ok) {
      out += c;
    } else if (c == '_') {
      out += "__";
    } else {
      out += fmt::format("_{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string DimensionSetLabel(const Dimensions& dims) {
  std::vector<std::string> names;
  for (const auto& [name, value] : dims) names.push_back(name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PrometheusText(const PlatformMetrics& metrics, const MetricsStore* store,
                           int64_t now_s, const std::vector<Gauge>& gauges,
                           const PipelineCounters& pipeline) {
  std::string out;
  const auto& counters = metrics.counters();
  out += "# TYPE cutover_requests counter\n";
  out += "# HELP cutover_requests Requests the gateway answered, by route, executed version and status class.\n";
  for (const auto& [key, c] : counters) {
    for (int cls = 1; cls <= 5; ++cls) {
      if (c.requests_by_class[cls] == 0) continue;
      auto labels = RouteLabelsOf(*key.first, key.second);
      labels.emplace_back("status_class", fmt::format("{}xx", cls));
      out += fmt::format("cutover_requests_total{} {}\n", Labels(labels), c.requests_by_class[cls]);
    }
  }
  out += "# TYPE cutover_invocation_errors counter\n";
  out += "# HELP cutover_invocation_errors Invocations that ended in a function error, timeout or crash.\n";
  for (const auto& [key, c] : counters) {
    out += fmt::format("cutover_invocation_errors_total{} {}\n",
                       Labels(RouteLabelsOf(*key.first, key.second)), c.invocation_errors);
  }
  out += "# TYPE cutover_throttles counter\n";
  out += "# HELP cutover_throttles Requests refused for lack of concurrency (429).\n";
  for (const auto& [key, c] : counters) {
    out += fmt::format("cutover_throttles_total{} {}\n",
                       Labels(RouteLabelsOf(*key.first, key.second)), c.throttles);
  }
  out += "# TYPE cutover_request_latency_milliseconds counter\n";
  out += "# HELP cutover_request_latency_milliseconds The sum of request latencies (with cutover_requests_total: the mean).\n";
  for (const auto& [key, c] : counters) {
    out += fmt::format("cutover_request_latency_milliseconds_total{} {}\n",
                       Labels(RouteLabelsOf(*key.first, key.second)), c.latency_sum_ms);
  }
  out += "# TYPE cutover_metric_samples_dropped counter\n";
  out += "# HELP cutover_metric_samples_dropped Request samples lost to a full recording ring.\n";
  out += fmt::format("cutover_metric_samples_dropped_total {}\n", pipeline.dropped_samples);
  out += "# TYPE cutover_emf_lines counter\n";
  out += "# HELP cutover_emf_lines Function log lines in Embedded Metric Format, by what became of them.\n";
  out += fmt::format("cutover_emf_lines_total{{result=\"accepted\"}} {}\n", pipeline.emf_accepted);
  out += fmt::format("cutover_emf_lines_total{{result=\"malformed\"}} {}\n", pipeline.emf_malformed);
  out += fmt::format("cutover_emf_lines_total{{result=\"dropped\"}} {}\n", pipeline.emf_dropped);
  if (store != nullptr) AppendCloudWatchSeries(*store, now_s, out);
  std::map<std::string, std::vector<const Gauge*>> families;
  for (const Gauge& g : gauges) families[g.family].push_back(&g);
  for (const auto& [family, list] : families) {
    out += fmt::format("# TYPE {} gauge\n", family);
    if (!list.front()->help.empty()) out += fmt::format("# HELP {} {}\n", family, list.front()->help);
    for (const Gauge* g : list) out += fmt::format("{}{} {}\n", family, Labels(g->labels), g->value);
  }
  out += "# EOF\n";
  return out;
}

}  // namespace cutover::metrics
