// PlatformMetrics: what AWS would emit for each request, from the gateway's RequestSamples, with
// AWS's names, units and dimension sets (aws-semantics.md 4.1, 4.2; issue 4):
//
//   REST APIs (`http` events), AWS/ApiGateway, at the request's arrival:
//     Count (1), 4XXError and 5XXError (0 or 1, so Average is the rate), Latency,
//     IntegrationLatency (requests that invoked the function), each under {ApiName},
//     {ApiName, Stage} and {ApiName, Method, Resource, Stage}.
//   HTTP APIs (`httpApi`), AWS/ApiGateway: Count, 4xx, 5xx, Latency, IntegrationLatency under
//     {ApiId}, {ApiId, Stage} and {ApiId, Stage, Route} (Route = "GET /path").
//   Functions, AWS/Lambda, at the invocation's start: Invocations (not for throttled ones),
//     Errors (0 or 1), Throttles (0 or 1), Duration, under {FunctionName},
//     {FunctionName, Resource} (Resource = "name:alias", or "name:version" for a version), and
//     {FunctionName, Resource, ExecutedVersion} for alias invocations.
//
// It also keeps cumulative per-version counters for the Prometheus exposition (prometheus.h).
//
// Thread-safety: control loop only, like MetricsStore.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "metrics/recorder.h"
#include "metrics/series_store.h"

namespace cutover::metrics {

// Cumulative counts of one route and version, by status class.
struct RouteCounters {
  uint64_t requests_by_class[6] = {};  // index status/100 (0: no status)
  uint64_t invocation_errors = 0;
  uint64_t throttles = 0;
  double latency_sum_ms = 0;
};

class PlatformMetrics {
 public:
  explicit PlatformMetrics(MetricsStore& store) : store_(store) {}

  void Ingest(const RequestSample& sample);

  using CounterKey = std::pair<const RouteLabels*, uint32_t>;  // route, executed version
  const std::map<CounterKey, RouteCounters>& counters() const { return counters_; }
  uint64_t samples() const { return samples_; }

 private:
  // The series one (route, version) writes to, resolved once.
  struct Targets {
    std::vector<Series*> count, client_errors, server_errors, latency, integration;
    std::vector<Series*> invocations, errors, throttles, duration;
  };
  Targets& TargetsFor(const RouteLabels* route, uint32_t version);

  MetricsStore& store_;
  std::map<CounterKey, Targets> targets_;
  std::map<CounterKey, RouteCounters> counters_;
  uint64_t samples_ = 0;
};

}  // namespace cutover::metrics
