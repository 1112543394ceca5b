#include "metrics/platform_metrics.h"

#include <initializer_list>
#include <string>

namespace cutover::metrics {
namespace {

constexpr char kApiGateway[] = "AWS/ApiGateway";
constexpr char kLambda[] = "AWS/Lambda";
constexpr char kCutover[] = "Cutover";

// An invocation in AWS/Lambda, at its start: a throttled call is a Throttle and nothing else.
// `t` is a Targets or a LambdaTargets, whose Lambda series have the same names.
template <typename T>
void AddInvocation(const T& t, int64_t at, InvokeKind kind, double duration_ms) {
  const bool throttled = kind == InvokeKind::kThrottled;
  if (!throttled) {
    for (Series* x : t.invocations) x->Add(at, 1);
    for (Series* x : t.errors) x->Add(at, kind == InvokeKind::kError ? 1 : 0);
    for (Series* x : t.duration) x->Add(at, duration_ms);
  }
  for (Series* x : t.throttles) x->Add(at, throttled ? 1 : 0);
}

}  // namespace

PlatformMetrics::Targets& PlatformMetrics::TargetsFor(const RouteLabels* route, uint32_t version) {
  auto [it, inserted] = targets_.try_emplace(CounterKey{route, version});
  Targets& t = it->second;
  if (!inserted) return t;

  // API Gateway: the three dimension sets of the API kind.
  std::vector<Dimensions> api_sets;
  if (route->rest) {
    api_sets = {{{"ApiName", route->api_name}},
                {{"ApiName", route->api_name}, {"Stage", route->stage}},
                {{"ApiName", route->api_name},
                 {"Method", route->method},
                 {"Resource", route->resource},
                 {"Stage", route->stage}}};
  } else {
    api_sets = {{{"ApiId", route->api_id}},
                {{"ApiId", route->api_id}, {"Stage", route->stage}},
                {{"ApiId", route->api_id},
                 {"Route", route->method + " " + route->resource},
                 {"Stage", route->stage}}};
  }
  const std::string client = route->rest ? "4XXError" : "4xx";
  const std::string server = route->rest ? "5XXError" : "5xx";
  for (const Dimensions& dims : api_sets) {
    auto series = [&](const char* name) {
      return &store_.GetOrCreate(MakeKey(kApiGateway, name, dims));
    };
    t.count.push_back(series("Count"));
    t.client_errors.push_back(series(client.c_str()));
    t.server_errors.push_back(series(server.c_str()));
    t.latency.push_back(series("Latency"));
    t.integration.push_back(series("IntegrationLatency"));
    if (!route->rest) t.data_processed.push_back(series("DataProcessed"));
  }

  // Lambda: only when a version ran (or was throttled).
  if (version != 0) {
    const std::string& fn = route->function_name;
    const std::string version_text = std::to_string(version);
    std::vector<Dimensions> fn_sets = {{{"FunctionName", fn}}};
    if (route->alias.empty()) {
      fn_sets.push_back({{"FunctionName", fn}, {"Resource", fn + ":" + version_text}});
    } else {
      fn_sets.push_back({{"FunctionName", fn}, {"Resource", fn + ":" + route->alias}});
      fn_sets.push_back({{"ExecutedVersion", version_text},
                         {"FunctionName", fn},
                         {"Resource", fn + ":" + route->alias}});
    }
    AddLambdaSeries(fn_sets, t.invocations, t.errors, t.throttles, t.duration);
    const Dimensions per_version = {
        {"ExecutedVersion", version_text},
        {"FunctionName", fn},
        {"Resource", fn + ":" + (route->alias.empty() ? version_text : route->alias)}};
    auto series = [&](const char* name) {
      return &store_.GetOrCreate(MakeKey(kCutover, name, per_version));
    };
    t.version_requests = series("Requests");
    t.version_client_errors = series("4XXError");
    t.version_server_errors = series("5XXError");
    t.version_latency = series("Latency");
  }
  return t;
}

void PlatformMetrics::AddLambdaSeries(const std::vector<Dimensions>& sets,
                                      std::vector<Series*>& invocations,
                                      std::vector<Series*>& errors, std::vector<Series*>& throttles,
                                      std::vector<Series*>& duration) {
  for (const Dimensions& dims : sets) {
    auto series = [&](const char* name) {
      return &store_.GetOrCreate(MakeKey(kLambda, name, dims));
    };
    invocations.push_back(series("Invocations"));
    errors.push_back(series("Errors"));
    throttles.push_back(series("Throttles"));
    duration.push_back(series("Duration"));
  }
}

PlatformMetrics::LambdaTargets& PlatformMetrics::LambdaTargetsFor(const InvocationSample& s) {
  const bool unqualified = s.qualifier.empty() || s.qualifier == "$LATEST";
  // The executed version only tells series apart for an alias (ExecutedVersion).
  const uint32_t version = s.alias ? s.executed_version : 0;
  auto [it, inserted] = invocation_targets_.try_emplace(
      InvocationKey{s.function_name, unqualified ? "" : s.qualifier, version});
  LambdaTargets& t = it->second;
  if (!inserted) return t;
  const std::string& fn = s.function_name;
  std::vector<Dimensions> sets = {{{"FunctionName", fn}}};
  if (!unqualified) {
    sets.push_back({{"FunctionName", fn}, {"Resource", fn + ":" + s.qualifier}});
    if (s.alias) {
      sets.push_back({{"ExecutedVersion", std::to_string(s.executed_version)},
                      {"FunctionName", fn},
                      {"Resource", fn + ":" + s.qualifier}});
    }
  }
  AddLambdaSeries(sets, t.invocations, t.errors, t.throttles, t.duration);
  return t;
}

size_t PlatformMetrics::EvictIdle(int64_t now_ms) {
  const size_t evicted = store_.EvictIdle(SecondOf(now_ms));
  if (evicted > 0) {
    targets_.clear();
    invocation_targets_.clear();
    for (auto& [key, c] : concurrency_) c.series = nullptr;
  }
  return evicted;
}

void PlatformMetrics::IngestInvocation(const InvocationSample& s) {
  if (s.invoke == InvokeKind::kNone || s.function_name.empty()) return;
  AddInvocation(LambdaTargetsFor(s), SecondOf(s.invoke_start_ms), s.invoke, s.duration_ms);
}

void PlatformMetrics::Ingest(const RequestSample& s) {
  if (s.route == nullptr) return;
  ++samples_;
  Targets& t = TargetsFor(s.route, s.version);
  const int64_t second = SecondOf(s.time_ms);
  const double client_error = s.status >= 400 && s.status < 500 ? 1 : 0;
  const double server_error = s.status >= 500 && s.status < 600 ? 1 : 0;
  const bool invoked = s.invoke != InvokeKind::kNone;
  for (Series* x : t.count) x->Add(second, 1);
  for (Series* x : t.client_errors) x->Add(second, client_error);
  for (Series* x : t.server_errors) x->Add(second, server_error);
  for (Series* x : t.latency) x->Add(second, s.latency_ms);
  for (Series* x : t.data_processed) x->Add(second, s.data_bytes);
  if (invoked) {
    for (Series* x : t.integration) x->Add(second, s.integration_ms);
  }
  if (t.version_requests != nullptr) {
    t.version_requests->Add(second, 1);
    t.version_client_errors->Add(second, client_error);
    t.version_server_errors->Add(second, server_error);
    t.version_latency->Add(second, s.latency_ms);
  }
  if (invoked && s.version != 0) {
    AddInvocation(t, SecondOf(s.invoke_start_ms), s.invoke, s.duration_ms);
  }

  RouteCounters& c = counters_[CounterKey{s.route, s.version}];
  c.requests_by_class[s.status >= 100 && s.status < 600 ? s.status / 100 : 0]++;
  if (s.invoke == InvokeKind::kError) c.invocation_errors++;
  if (s.invoke == InvokeKind::kThrottled) c.throttles++;
  c.latency_sum_ms += s.latency_ms;
}

void PlatformMetrics::AddConcurrency(const std::string& function_name, const std::string& resource,
                                     int n) {
  if (n <= 0) return;
  concurrency_[ConcurrencyKey{function_name, resource}].value += n;
}

void PlatformMetrics::RecordConcurrency(int64_t time_ms,
                                        const std::vector<VersionConcurrency>& versions,
                                        const std::vector<AliasVersions>& aliases) {
  for (auto& [key, c] : concurrency_) c.value = 0;
  for (const VersionConcurrency& v : versions) {
    AddConcurrency(v.function_name, v.function_name + ":" + std::to_string(v.version), v.peak);
    AddConcurrency(v.function_name, "", v.peak);
    AddConcurrency("", "", v.peak);
  }
  // After every version: an alias adds up its versions' totals for this tick.
  for (const AliasVersions& a : aliases) {
    int sum = 0;
    // An additional version equal to the primary (a degenerate record) counts once.
    const uint32_t additional =
        a.additional_version == a.primary_version ? 0 : a.additional_version;
    for (uint32_t version : {a.primary_version, additional}) {
      if (version == 0) continue;
      auto it = concurrency_.find(
          ConcurrencyKey{a.function_name, a.function_name + ":" + std::to_string(version)});
      if (it != concurrency_.end()) sum += it->second.value;
    }
    AddConcurrency(a.function_name, a.function_name + ":" + a.alias, sum);
  }

  const int64_t second = SecondOf(time_ms);
  for (auto& [key, c] : concurrency_) {
    if (c.value == 0 && !c.active) continue;
    if (c.series == nullptr) {
      Dimensions dims;
      if (!key.first.empty()) dims.emplace_back("FunctionName", key.first);
      if (!key.second.empty()) dims.emplace_back("Resource", key.second);
      c.series = &store_.GetOrCreate(MakeKey(kLambda, "ConcurrentExecutions", std::move(dims)));
    }
    c.series->Add(second, c.value);
    c.active = c.value > 0;
  }
}

}  // namespace cutover::metrics
