#include "api/alarm_json.h"

#include <boost/json.hpp>

#include "common/clock.h"

namespace cutover::api {

namespace json = boost::json;

json::object AlarmJson(const alarms::AlarmView& v) {
  const alarms::AlarmSpec& spec = v.spec;
  json::object o;
  o["name"] = spec.alarm_name;
  o["logical_id"] = spec.logical_id;
  o["description"] = spec.description;
  o["service"] = v.service;
  o["stage"] = v.stage;
  o["state"] = alarms::AlarmStateName(v.state);
  o["reason"] = v.reason;
  o["updated_ms"] = v.updated_ms;
  o["evaluated_ms"] = v.evaluated_ms;
  if (spec.metric) {
    o["metric"] = spec.metric->ToString();
    o["statistic"] = spec.statistic_text;
  } else {
    json::array queries;
    for (const auto& q : spec.metrics) {
      json::object qo;
      qo["id"] = q.id;
      if (q.metric_stat) qo["metric"] = q.metric_stat->metric.ToString();
      if (q.metric_stat) qo["statistic"] = q.metric_stat->stat_text;
      if (q.expression) qo["expression"] = q.expression->text();
      qo["return_data"] = q.return_data;
      queries.push_back(std::move(qo));
    }
    o["metrics"] = std::move(queries);
  }
  o["period"] = spec.period_seconds;
  o["evaluation_periods"] = spec.evaluation_periods;
  o["datapoints_to_alarm"] = spec.datapoints_to_alarm;
  o["threshold"] = spec.threshold;
  o["comparison"] = alarms::ComparisonName(spec.comparison);
  o["treat_missing_data"] = alarms::TreatMissingDataName(spec.treat_missing_data);
  json::array points;
  for (const auto& dp : v.last_range) {
    json::object po;
    po["timestamp"] = ToEpochMillis(dp.timestamp);
    if (dp.value) {
      po["value"] = *dp.value;
    } else {
      po["value"] = nullptr;
    }
    points.push_back(std::move(po));
  }
  o["datapoints"] = std::move(points);
  return o;
}

}  // namespace cutover::api
