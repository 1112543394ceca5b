// The OpenMetrics text exposition served at /metrics on the admin port: per route and executed
// version, requests by status class, invocation errors, throttles and the latency sum, plus
// whatever gauges the caller adds (alarm states).
//
// Why not prometheus-cpp (Debian's prometheus-cpp-dev): its registry would be a second copy of the
// counters PlatformMetrics already keeps, updated on the request path with its own atomics; the
// exposition is a few lines of text over our own counters, written on demand.
//
// Pure: a function of its inputs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "metrics/platform_metrics.h"

namespace cutover::metrics {

struct Gauge {
  std::string family;  // "cutover_alarm_state"
  std::string help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// The metrics pipeline's own counters: what it lost or refused, so that a gap in a chart or an alarm
// that never fires can be told apart from a quiet function.
struct PipelineCounters {
  uint64_t dropped_samples = 0;  // request samples lost to a full recording ring (Recorder)
  uint64_t emf_accepted = 0;     // EMF lines that became metric data (EmfInbox)
  uint64_t emf_malformed = 0;    // EMF lines refused: invalid, or a timestamp out of range
  uint64_t emf_dropped = 0;      // EMF lines dropped because the inbox was full
};

inline constexpr char kOpenMetricsContentType[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

std::string PrometheusText(const PlatformMetrics& metrics, const std::vector<Gauge>& gauges,
                           const PipelineCounters& pipeline);

// A label value with \, " and newline escaped.
std::string EscapeLabelValue(std::string_view value);

}  // namespace cutover::metrics
