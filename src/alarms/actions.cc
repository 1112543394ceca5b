#include "alarms/actions.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cctype>
#include <cmath>
#include <memory>

#include "common/status.h"

namespace cutover::alarms {
namespace {

constexpr char kUserAgent[] = "cutover-alarms";

// ---- The notification

std::string JsonString(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

std::string JsonNumber(double value) { return std::isfinite(value) ? FormatValue(value) : "null"; }

// CloudWatch's spelling of a standard statistic in the notification: "SUM", "SAMPLE_COUNT".
std::string UpperStatistic(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (i > 0 && std::isupper(c)) out += '_';
    out += static_cast<char>(std::toupper(c));
  }
  return out;
}

std::string DimensionsJson(const metrics::Dimensions& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) out += ',';
    out += fmt::format("{{\"value\":{},\"name\":{}}}", JsonString(dims[i].second),
                       JsonString(dims[i].first));
  }
  return out + "]";
}

std::string MetricDataQueryJson(const MetricDataQuery& q) {
  std::string out = "{";
  if (q.expression) {
    out += fmt::format("\"Expression\":{},\"Id\":{}", JsonString(q.expression->text()),
                       JsonString(q.id));
  } else {
    out += fmt::format("\"Id\":{}", JsonString(q.id));
  }
  if (q.metric_stat) {
    const MetricStat& ms = *q.metric_stat;
    out += fmt::format(
        ",\"MetricStat\":{{\"Metric\":{{\"Dimensions\":{},\"MetricName\":{},\"Namespace\":{}}},"
        "\"Period\":{},\"Stat\":{}",
        DimensionsJson(ms.metric.dims), JsonString(ms.metric.name), JsonString(ms.metric.ns),
        ms.period_seconds, JsonString(ms.stat_text));
    if (ms.unit) out += fmt::format(",\"Unit\":{}", JsonString(*ms.unit));
    out += '}';
  }
  if (!q.label.empty()) out += fmt::format(",\"Label\":{}", JsonString(q.label));
  out += fmt::format(",\"ReturnData\":{}}}", q.return_data ? "true" : "false");
  return out;
}

}  // namespace

std::string AlarmNotificationJson(const AlarmSpec& spec, AlarmState old_state, AlarmState new_state,
                                  const std::string& reason, const std::string& reason_data_json,
                                  int64_t time_ms) {
  std::string out = fmt::format("{{\"AlarmName\":{}", JsonString(spec.alarm_name));
  out += fmt::format(",\"AlarmDescription\":{}",
                     spec.description.empty() ? "null" : JsonString(spec.description));
  out += fmt::format(",\"NewStateValue\":{}", JsonString(AlarmStateName(new_state)));
  out += fmt::format(",\"NewStateReason\":{}", JsonString(reason));
  out += fmt::format(",\"StateChangeTime\":{}", JsonString(IsoTimestamp(FromEpochMillis(time_ms))));
  out += fmt::format(",\"OldStateValue\":{}", JsonString(AlarmStateName(old_state)));
  out += ",\"Trigger\":{";
  if (spec.metric) {
    out += fmt::format("\"MetricName\":{},\"Namespace\":{},", JsonString(spec.metric->name),
                       JsonString(spec.metric->ns));
    if (spec.extended_statistic) {
      out += fmt::format("\"StatisticType\":\"ExtendedStatistic\",\"ExtendedStatistic\":{},",
                         JsonString(spec.statistic_text));
    } else {
      out += fmt::format("\"StatisticType\":\"Statistic\",\"Statistic\":{},",
                         JsonString(UpperStatistic(spec.statistic_text)));
    }
    out +=
        fmt::format("\"Unit\":{},\"Dimensions\":{},", spec.unit ? JsonString(*spec.unit) : "null",
                    DimensionsJson(spec.metric->dims));
  }
  out += fmt::format(
      "\"Period\":{},\"EvaluationPeriods\":{},\"DatapointsToAlarm\":{},\"ComparisonOperator\":{},"
      "\"Threshold\":{},\"TreatMissingData\":{}",
      spec.period_seconds, spec.evaluation_periods, spec.datapoints_to_alarm,
      JsonString(ComparisonName(spec.comparison)), JsonNumber(spec.threshold),
      JsonString(TreatMissingDataName(spec.treat_missing_data)));
  const bool percentile = spec.metric && metrics::IsPercentileLike(spec.statistic);
  out += fmt::format(",\"EvaluateLowSampleCountPercentile\":{}",
                     JsonString(!percentile                                 ? ""
                                : spec.evaluate_low_sample_count_percentile ? "evaluate"
                                                                            : "ignore"));
  if (!spec.metrics.empty()) {
    out += ",\"Metrics\":[";
    for (size_t i = 0; i < spec.metrics.size(); ++i) {
      if (i > 0) out += ',';
      out += MetricDataQueryJson(spec.metrics[i]);
    }
    out += ']';
  }
  out += '}';
  out += fmt::format(",\"StateReasonData\":{}",
                     reason_data_json.empty() ? "null" : JsonString(reason_data_json));
  out += '}';
  return out;
}

// ---- The dispatcher

ActionDispatcher::ActionDispatcher(boost::asio::io_context& ioc, const Clock& clock,
                                   ActionSettings settings)
    : sender_(ioc, clock, std::move(settings)) {}

void ActionDispatcher::Dispatch(const AlarmSpec& spec, AlarmState old_state, AlarmState new_state,
                                std::string reason, std::string reason_data_json, int64_t time_ms) {
  if (!spec.actions_enabled || old_state == new_state || sender_.stopped()) return;
  const std::vector<AlarmAction>& actions = new_state == AlarmState::kAlarm ? spec.alarm_actions
                                            : new_state == AlarmState::kOk
                                                ? spec.ok_actions
                                                : spec.insufficient_data_actions;
  std::shared_ptr<const std::string> body;  // built once, shared by the actions
  for (const AlarmAction& action : actions) {
    if (!action.actionable) continue;
    if (!body) {
      body = std::make_shared<const std::string>(
          AlarmNotificationJson(spec, old_state, new_state, reason, reason_data_json, time_ms));
    }
    sender_.Post(WebhookMessage{.log_key = spec.alarm_name,
                                .event = std::string(AlarmStateName(new_state)),
                                .event_ms = time_ms,
                                .url = action.target,
                                .body = body,
                                .user_agent = kUserAgent,
                                .kind = "alarm"});
  }
}

void ActionDispatcher::Stop() { sender_.Stop(); }

std::vector<DeliveryRecord> ActionDispatcher::Deliveries(const std::string& alarm_name) const {
  std::vector<DeliveryRecord> out;
  for (WebhookDelivery& d : sender_.Deliveries(alarm_name)) {
    Result<AlarmState> state = ParseAlarmState(d.event);
    CUTOVER_CHECK_MSG(state.ok(), d.event);  // Dispatch() wrote an AlarmStateName
    out.push_back(DeliveryRecord{.url = std::move(d.url),
                                 .state = *state,
                                 .state_change_ms = d.event_ms,
                                 .outcome = d.outcome,
                                 .attempts = d.attempts,
                                 .http_status = d.http_status,
                                 .error = std::move(d.error),
                                 .finished_ms = d.finished_ms});
  }
  return out;
}

size_t ActionDispatcher::pending() const { return sender_.pending(); }

uint64_t ActionDispatcher::dropped() const { return sender_.dropped(); }

}  // namespace cutover::alarms
