#include "alarms/metric_source.h"

#include <fmt/format.h>

#include "alarms/promql.h"

namespace cutover::alarms {

Result<std::vector<PeriodValue>> LocalMetricSource::ReadPeriods(const metrics::MetricKey& key,
                                                                const metrics::Statistic& statistic,
                                                                int64_t first_start_s,
                                                                int64_t period_s, int count) {
  std::vector<PeriodValue> out(static_cast<size_t>(count));
  const metrics::Series* series = store_.Find(key);
  if (series == nullptr) return out;
  for (int i = 0; i < count; ++i) {
    const int64_t start = first_start_s + i * period_s;
    metrics::Datapoint dp = series->Compute(statistic, start, start + period_s);
    out[static_cast<size_t>(i)] = PeriodValue{dp.value, dp.sample_count};
  }
  return out;
}

PrometheusMetricSource::PrometheusMetricSource(Endpoint endpoint, std::chrono::milliseconds timeout)
    : client_(std::move(endpoint),
              HttpClientOptions{
                  .connect_timeout = timeout, .io_timeout = timeout, .max_body_bytes = 4u << 20}) {}

Status PrometheusMetricSource::Supports(const metrics::MetricKey& key,
                                        const metrics::Statistic& statistic) const {
  return PromQlSupported(key, statistic);
}

Result<std::vector<PeriodValue>> PrometheusMetricSource::ReadPeriods(
    const metrics::MetricKey& key, const metrics::Statistic& statistic, int64_t first_start_s,
    int64_t period_s, int count) {
  // An alarm that never went through the deploy-time check (restored from the store, or deployed
  // through a node without --metrics-source): this query is at fault, not Prometheus.
  CUTOVER_RETURN_IF_ERROR(PromQlSupported(key, statistic));
  const int64_t first_end = first_start_s + period_s;
  HttpRequest request;
  request.method = "POST";
  request.target = "/api/v1/query_range";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = "query=" + PercentEncode(PromQlForPeriod(key, statistic, period_s)) +
                 "&start=" + std::to_string(first_end) +
                 "&end=" + std::to_string(first_end + (count - 1) * period_s) +
                 "&step=" + std::to_string(period_s);
  CUTOVER_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  // 400 and 422 carry Prometheus's JSON refusal; ParsePeriodValues reads it.
  if (response.status != 200 && response.status != 400 && response.status != 422) {
    return Unavailable(fmt::format("Prometheus answered HTTP {}", response.status));
  }
  return ParsePeriodValues(response.body, first_end, period_s, count);
}

std::string PrometheusMetricSource::Describe() const {
  return "prometheus://" + client_.endpoint().host + ":" + std::to_string(client_.endpoint().port);
}

Result<Endpoint> ParsePrometheusUrl(std::string_view url) {
  constexpr std::string_view kScheme = "prometheus://";
  if (!url.starts_with(kScheme)) {
    return InvalidArgument(
        fmt::format("--metrics-source must be prometheus://HOST:PORT (got '{}')", url));
  }
  auto endpoint = ParseEndpoint("http://" + std::string(url.substr(kScheme.size())));
  if (!endpoint.ok() || !endpoint->base_path.empty()) {
    return InvalidArgument(
        fmt::format("--metrics-source must be prometheus://HOST:PORT (got '{}')", url));
  }
  return endpoint;
}

}  // namespace cutover::alarms
