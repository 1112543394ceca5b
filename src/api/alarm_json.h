// An alarm as the admin API shows it (GET /v1/alarms, the charts posts of the event stream).
#pragma once

#include <boost/json/object.hpp>

#include "alarms/engine.h"

namespace cutover::api {

// {name, logical_id, description, service, stage, state, reason, updated_ms, evaluated_ms,
//  metric + statistic | metrics, period, evaluation_periods, datapoints_to_alarm, threshold,
//  comparison, treat_missing_data, datapoints} (docs/API.md, alarms).
boost::json::object AlarmJson(const alarms::AlarmView& v);

}  // namespace cutover::api
