#include "api/live_charts.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "api/alarm_json.h"

namespace cutover::api {
namespace {

constexpr int64_t kMarginMs = 60'000;  // the charts show a minute before and after a deployment

// The start of the period of `period_s` seconds that holds `ms` (periods align to the epoch, as
// MetricsStore::Query's do).
int64_t PeriodStartMs(int64_t ms, int64_t period_s) {
  const int64_t p = period_s * 1000;
  return (ms >= 0 ? ms / p : (ms - p + 1) / p) * p;
}

struct ChartMetric {
  const char* name;
  const char* statistic;
};
constexpr ChartMetric kChartMetrics[] = {
    {"Requests", "Sum"}, {"5XXError", "Average"}, {"Latency", "p50"}, {"Latency", "p99"}};

}  // namespace

int64_t ChartPeriodSeconds(int64_t span_ms) {
  const double seconds = std::max<double>(1.0, static_cast<double>(span_ms) / 1000.0);
  int64_t period = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds / 200.0)));
  if (seconds > 14 * 60) period = std::max<int64_t>(60, (period + 59) / 60 * 60);
  return period;
}

ChartWindow DeploymentChartWindow(const deploy::Deployment& d, int64_t now_ms) {
  ChartWindow w;
  w.start_ms = d.created_ms - kMarginMs;
  w.end_ms = now_ms;
  if (d.completed_ms != 0) {
    w.end_ms = std::min(now_ms, d.completed_ms + kMarginMs);
    w.closed = now_ms >= d.completed_ms + kMarginMs;
  }
  w.end_ms = std::max(w.end_ms, w.start_ms + 1);
  w.period_s = ChartPeriodSeconds(w.end_ms - w.start_ms);
  return w;
}

std::vector<MetricQuery> DeploymentChartQueries(const deploy::Deployment& d,
                                                const ChartWindow& window, int64_t from_ms) {
  std::vector<MetricQuery> out;
  const uint32_t versions[] = {d.current_version, d.target_version};
  for (const ChartMetric& m : kChartMetrics) {
    auto statistic = metrics::ParseStatistic(m.statistic);
    for (uint32_t version : versions) {
      MetricQuery q;
      q.id = fmt::format("{}:{}:{}", m.name, m.statistic, version);
      q.key = metrics::MakeKey("Cutover", m.name,
                               {{"FunctionName", d.function_name},
                                {"Resource", d.function_name + ":" + d.alias},
                                {"ExecutedVersion", std::to_string(version)}});
      q.statistic = *statistic;  // the names above parse
      q.period_s = window.period_s;
      q.start_ms = std::max(window.start_ms, from_ms);
      q.end_ms = std::max(window.end_ms, q.start_ms + 1);
      out.push_back(std::move(q));
    }
  }
  return out;
}

std::optional<std::string> LiveCharts::Next(const deploy::Deployment& d, int64_t now_ms) {
  const ChartWindow w = DeploymentChartWindow(d, now_ms);
  auto last = last_post_ms_.find(d.id);
  const bool first = last == last_post_ms_.end();
  if (!first && w.closed && last->second >= w.end_ms) return std::nullopt;
  const int64_t previous = first ? w.start_ms : std::min(last->second, w.end_ms);
  last_post_ms_[d.id] = now_ms;

  std::string out = fmt::format(
      R"({{"deploymentId":{},"now":{},"start":{},"end":{},"closed":{},"period":{},"from":{},)"
      R"("metrics":[)",
      boost::json::serialize(boost::json::value(d.id)), now_ms, w.start_ms, w.end_ms, w.closed,
      w.period_s, PeriodStartMs(previous, w.period_s));
  bool comma = false;
  for (const MetricQuery& q : DeploymentChartQueries(d, w, PeriodStartMs(previous, w.period_s))) {
    auto points = AnswerMetricQuery(q, metrics_, store_, now_ms);
    if (!points.ok()) continue;  // a bounded window of valid queries: not expected
    if (comma) out.push_back(',');
    comma = true;
    AppendMetricAnswer(&out, q, metrics_.Find(q.key) != nullptr, *points);
  }
  out.append(R"(],"alarms":[)");
  comma = false;
  for (const std::string& name : d.alarms) {
    const alarms::AlarmView* view = alarms_ == nullptr ? nullptr : alarms_->Find(name);
    if (view == nullptr) continue;
    if (comma) out.push_back(',');
    comma = true;
    out.append(R"({"alarm":)");
    out.append(boost::json::serialize(AlarmJson(*view)));
    out.append(R"(,"series":)");
    const alarms::AlarmSpec& spec = view->spec;
    if (spec.metric) {
      MetricQuery q;
      q.id = name;
      q.key = *spec.metric;
      q.statistic = spec.statistic;
      q.period_s = std::max(1, spec.period_seconds);
      q.start_ms = std::max(w.start_ms, PeriodStartMs(previous, q.period_s));
      q.end_ms = std::max(w.end_ms, q.start_ms + 1);
      auto points = AnswerMetricQuery(q, metrics_, store_, now_ms);
      if (points.ok()) {
        AppendMetricAnswer(&out, q, metrics_.Find(q.key) != nullptr, *points);
      } else {
        out.append("null");
      }
    } else {
      out.append("null");  // metric math: the alarm's own datapoints are its series
    }
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

void LiveCharts::Retain(const std::vector<std::string>& watched) {
  std::erase_if(last_post_ms_, [&](const auto& entry) {
    return !std::binary_search(watched.begin(), watched.end(), entry.first);
  });
}

}  // namespace cutover::api
