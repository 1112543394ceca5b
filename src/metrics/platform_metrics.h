// PlatformMetrics: what AWS would emit for each request, from the gateway's RequestSamples, with
// AWS's names, units and dimension sets (aws-semantics.md 4.1, 4.2; issue 4):
//
//   REST APIs (`http` events), AWS/ApiGateway, at the request's arrival:
//     Count (1), 4XXError and 5XXError (0 or 1, so Average is the rate), Latency,
//     IntegrationLatency (requests that invoked the function), each under {ApiName},
//     {ApiName, Stage} and {ApiName, Method, Resource, Stage}.
//   HTTP APIs (`httpApi`), AWS/ApiGateway: Count, 4xx, 5xx, Latency, IntegrationLatency,
//     DataProcessed (bytes: request body + response body; header bytes are not counted) under
//     {ApiId}, {ApiId, Stage} and {ApiId, Stage, Route} (Route = "GET /path").
//   Functions, AWS/Lambda, at the invocation's start: Invocations (not for throttled ones),
//     Errors (0 or 1), Throttles (0 or 1), Duration, under {FunctionName},
//     {FunctionName, Resource} (Resource = "name:alias", or "name:version" for a version), and
//     {FunctionName, Resource, ExecutedVersion} for alias invocations.
//
// ConcurrentExecutions (AWS/Lambda, Count, read with Maximum) does not come from samples: the
// control tick hands RecordConcurrency each version's peak number of executing invocations since
// the previous tick (runtime::RuntimeService::TakeConcurrency), which becomes one datapoint per
// tick at the tick's time, so a second's Maximum is the peak seen in it. Under:
//     {FunctionName, Resource = "name:version"}: executions of that version's code, whatever
//       invoked them (an alias, the version itself, the Invoke API). The runtime counts per
//       version, not per qualifier; this differs from Invocations' version Resource, which counts
//       version-qualified invocations only.
//     {FunctionName, Resource = "name:alias"}: the sum over the versions the alias routes to now
//       (primary and additional). A version also invoked directly counts here too, and one the
//       alias left keeps executing without counting here.
//     {FunctionName}: the sum over all of the function's versions; {} (no dimensions): the sum
//       over every function, Lambda's account-level metric.
// A sum of per-version peaks can exceed the true peak of the sum when versions peak at different
// moments of one 100 ms tick: an upper bound, exact whenever one version is busy. Like Lambda,
// which publishes nothing for a function that does not run, a series gets datapoints while its
// value is above 0 plus one 0 when it drops back; idle stretches have no data. SampleCount, Sum
// and Average count ticks, not invocations: use Maximum.
//
//   Cutover's own, namespace Cutover, at the request's arrival: what the gateway saw of each
//     version, which AWS has no metric for (API Gateway's metrics do not know the version, and a
//     handler's 500 is not a Lambda error): Requests (1), 4XXError and 5XXError (0 or 1, so
//     Average is the rate), Latency (ms), under {FunctionName, Resource, ExecutedVersion}
//     (Resource = "name:alias", or "name:version" for a version route). The dashboard charts
//     them, and an alarm may watch one version's 5XX rate.
//
// Invocations through the Lambda Invoke API (api/lambda_invoke) have no route and no gateway:
// IngestInvocation counts them in AWS/Lambda only — Invocations, Errors, Throttles and Duration,
// at the invocation's start, under the same series a gateway invocation of the same qualifier
// writes — {FunctionName}; {FunctionName, Resource} for a version or alias qualifier;
// {FunctionName, Resource, ExecutedVersion} for an alias — so an alarm on `Errors` sees a
// function's errors whoever invoked it. Unqualified and `$LATEST` calls count under
// {FunctionName} only, as Lambda's Resource names a version or an alias. They are not part of
// the per-route Prometheus counters (no route) nor of cutover's gateway view (namespace Cutover).
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
#include <utility>
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

// One version's peak concurrency over a tick (runtime::VersionConcurrency, which this module may
// not include).
struct VersionConcurrency {
  std::string function_name;  // deployed name
  uint32_t version = 0;
  int peak = 0;
};

// The versions an alias routes to now.
struct AliasVersions {
  std::string function_name;
  std::string alias;
  uint32_t primary_version = 0;
  uint32_t additional_version = 0;  // 0 = none
};

// One invocation through the Lambda Invoke API (see the top of this file).
struct InvocationSample {
  std::string function_name;      // deployed name
  std::string qualifier;          // "" or "$LATEST" (unqualified), "7" (a version), an alias
  bool alias = false;             // `qualifier` names an alias
  uint32_t executed_version = 0;  // the version that ran (or would have run)
  int64_t invoke_start_ms = 0;    // daemon clock, epoch ms: Lambda's timestamp
  double duration_ms = 0;         // the function's own duration (REPORT's Duration)
  InvokeKind invoke = InvokeKind::kNone;  // kNone: nothing ran and nothing is counted
};

class PlatformMetrics {
 public:
  explicit PlatformMetrics(MetricsStore& store) : store_(store) {}

  void Ingest(const RequestSample& sample);
  void IngestInvocation(const InvocationSample& sample);

  // ConcurrentExecutions at `time_ms` (daemon clock) from one tick's peaks (see the top of this
  // file). A version may appear more than once (a retired pool still draining beside a new one
  // of the same key): the entries add up.
  void RecordConcurrency(int64_t time_ms, const std::vector<VersionConcurrency>& versions,
                         const std::vector<AliasVersions>& aliases);

  // Drops the series nothing has written to for longer than the store keeps (MetricsStore::
  // EvictIdle) and forgets the pointers this object kept to series; they are looked up again on
  // their next sample. Control loop, about once a minute. Returns the series dropped.
  size_t EvictIdle(int64_t now_ms);

  using CounterKey = std::pair<const RouteLabels*, uint32_t>;  // route, executed version
  const std::map<CounterKey, RouteCounters>& counters() const { return counters_; }
  uint64_t samples() const { return samples_; }

 private:
  // The series one (route, version) writes to, resolved once.
  struct Targets {
    std::vector<Series*> count, client_errors, server_errors, latency, integration;
    std::vector<Series*> invocations, errors, throttles, duration;
    std::vector<Series*> data_processed;  // HTTP APIs only
    // Cutover's per-version gateway view (see the top of this file); null without a version.
    Series* version_requests = nullptr;
    Series* version_client_errors = nullptr;
    Series* version_server_errors = nullptr;
    Series* version_latency = nullptr;
  };
  Targets& TargetsFor(const RouteLabels* route, uint32_t version);

  // The AWS/Lambda series of one Invoke API (function, qualifier, executed version), resolved
  // once; alias is implied by the qualifier.
  struct LambdaTargets {
    std::vector<Series*> invocations, errors, throttles, duration;
  };
  using InvocationKey = std::tuple<std::string, std::string, uint32_t>;
  LambdaTargets& LambdaTargetsFor(const InvocationSample& sample);
  // The four AWS/Lambda series of each dimension set, appended to `t`.
  void AddLambdaSeries(const std::vector<Dimensions>& sets, std::vector<Series*>& invocations,
                       std::vector<Series*>& errors, std::vector<Series*>& throttles,
                       std::vector<Series*>& duration);

  // One ConcurrentExecutions series: its value this tick and whether it reported above 0 last
  // tick (then a 0 is still written, once). The series is created on its first datapoint.
  struct Concurrency {
    Series* series = nullptr;
    int value = 0;
    bool active = false;
  };
  // By (FunctionName, Resource): ("", "") is the account-level metric, (name, "") {FunctionName}.
  using ConcurrencyKey = std::pair<std::string, std::string>;
  // Adds `n` to the key's value this tick; creates no entry for 0, so idle versions cost nothing.
  void AddConcurrency(const std::string& function_name, const std::string& resource, int n);

  MetricsStore& store_;
  std::map<CounterKey, Targets> targets_;
  std::map<InvocationKey, LambdaTargets> invocation_targets_;
  std::map<ConcurrencyKey, Concurrency> concurrency_;
  std::map<CounterKey, RouteCounters> counters_;
  uint64_t samples_ = 0;
};

}  // namespace cutover::metrics
