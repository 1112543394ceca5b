// LiveCharts: the data of a deployment page's charts, computed once a second per deployment and
// pushed over the event stream to every page that watches it (GET /v1/events?charts=ID).
//
// A page used to ask for it: 8 per-version metric queries every second and each watched alarm
// every 2 s, from every open page. Fifty pages on one deployment made 100 admin requests a second
// that each woke the control loop (docs/PERFORMANCE.md, dashboards). Now the daemon answers the
// same queries once per deployment and writes the result to each watching stream.
//
// Each post covers the periods from the one that held the previous post's time up to now (the
// whole window at a deployment's first post), so a page that fetched the window once and then
// merges every post by period start misses nothing however late it joined, whatever the clock's
// rate (--time-scale).
//
// Thread-safety: reads the MetricsStore and the AlarmEngine, which the control loop owns; call it
// there.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alarms/engine.h"
#include "api/metric_query.h"
#include "deploy/deployment.h"
#include "metrics/series_store.h"

namespace cutover::store {
class StateStore;
}

namespace cutover::api {

// The period (seconds) of a chart over `span_ms`: about 200 points, whole minutes past 14 minutes
// (what percentiles beyond 15 minutes need). web/api.js periodFor() is the same rule.
int64_t ChartPeriodSeconds(int64_t span_ms);

// A deployment's charts cover [created − 60 s, completed + 60 s), or up to now while it runs.
struct ChartWindow {
  int64_t start_ms = 0;
  int64_t end_ms = 0;  // now_ms while the deployment runs
  bool closed = false;  // completed + 60 s has passed: the charts will not change any more
  int64_t period_s = 1;
};
ChartWindow DeploymentChartWindow(const deploy::Deployment& d, int64_t now_ms);

// The per-version chart queries of `d` over [from_ms, window.end_ms): Requests Sum, 5XXError
// Average, Latency p50 and p99 (namespace Cutover, per executed version of the alias), for the
// current version then the target, with ids "<name>:<statistic>:<version>" ("Latency:p99:2").
std::vector<MetricQuery> DeploymentChartQueries(const deploy::Deployment& d,
                                                const ChartWindow& window, int64_t from_ms);

class LiveCharts final {
 public:
  LiveCharts(const metrics::MetricsStore& metrics, store::StateStore* store,
             const alarms::AlarmEngine* alarms)
      : metrics_(metrics), store_(store), alarms_(alarms) {}

  // The next post of `d`'s charts at now_ms, as one line of JSON:
  //   {"deploymentId", "now", "start", "end", "closed", "period", "from",
  //    "metrics": [answer...],                       each as POST /v1/metrics/data's, by id
  //    "alarms": [{"alarm": A, "series": answer|null}]}  A as GET /v1/alarms's; the series is the
  //                                                      alarm's metric at its statistic and period
  // nullopt once the window has closed and a post after its end has been made.
  std::optional<std::string> Next(const deploy::Deployment& d, int64_t now_ms);

  // Forgets the deployments not in `watched` (sorted), so a page opened again later starts over.
  void Retain(const std::vector<std::string>& watched);

 private:
  const metrics::MetricsStore& metrics_;
  store::StateStore* store_;
  const alarms::AlarmEngine* alarms_;
  std::map<std::string, int64_t> last_post_ms_;  // deployment id → the previous post's now_ms
};

}  // namespace cutover::api
