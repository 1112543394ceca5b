#include "alarms/metric_source.h"

#include <fmt/format.h>

#include "alarms/promql.h"

namespace cutover::alarms {

Result<PeriodValue> LocalMetricSource::Read(const metrics::MetricKey& key,
                                            const metrics::Statistic& statistic, int64_t start_s,
                                            int64_t end_s) {
  const metrics::Series* series = store_.Find(key);
  if (series == nullptr) return PeriodValue{};
  metrics::Datapoint dp = series->Compute(statistic, start_s, end_s);
  return PeriodValue{dp.value, dp.sample_count};
}

PrometheusMetricSource::PrometheusMetricSource(Endpoint endpoint, std::chrono::milliseconds timeout)
    : client_(std::move(endpoint),
              HttpClientOptions{
                  .connect_timeout = timeout, .io_timeout = timeout, .max_body_bytes = 4u << 20}) {}

Status PrometheusMetricSource::Supports(const metrics::MetricKey& key,
                                        const metrics::Statistic& statistic) const {
  return PromQlSupported(key, statistic);
}

Result<PeriodValue> PrometheusMetricSource::Read(const metrics::MetricKey& key,
                                                 const metrics::Statistic& statistic,
                                                 int64_t start_s, int64_t end_s) {
  const std::string query = PromQlForPeriod(key, statistic, end_s - start_s);
  HttpRequest request;
  request.method = "POST";
  request.target = "/api/v1/query";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = "query=" + PercentEncode(query) + "&time=" + std::to_string(end_s);
  CUTOVER_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  // 400 and 422 carry Prometheus's JSON error; ParsePeriodValue reports it.
  if (response.status != 200 && response.status != 400 && response.status != 422) {
    return Unavailable(fmt::format("Prometheus answered HTTP {}", response.status));
  }
  return ParsePeriodValue(response.body);
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
