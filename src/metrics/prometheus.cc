#include "metrics/prometheus.h"

#include <fmt/format.h>

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

}  // namespace

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

std::string PrometheusText(const PlatformMetrics& metrics, const std::vector<Gauge>& gauges,
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
