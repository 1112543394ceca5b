// ActionDispatcher: the alarm actions cutover runs. When an alarm moves into a state and its
// ActionsEnabled is true, every actionable action of that state (an http:// or https:// URL) gets
// one POST of the transition, as JSON shaped like CloudWatch's SNS alarm notification
// (AlarmNotificationJson below). ARNs and references are inert (alarm_spec.h).
//
// Delivery is WebhookSender's (alarms/webhook.h): Dispatch() only enqueues, and the POSTs run
// asynchronously on the io_context given at construction (the control loop's), so it never blocks
// evaluation. Retries with backoff, TLS verification, the bounds on pending and concurrent
// deliveries, Stop() and the per-alarm log of the last log_size deliveries are described there;
// this class builds the notification, picks the URLs and keeps the log under the AlarmName.
//
// Thread-safety: control loop only — call every member on the thread that runs the io_context (or
// while nothing runs it). The io_context must outlive the dispatcher; the dispatcher may be
// destroyed before the io_context has run the completions of what Stop() abandoned.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "alarms/alarm_spec.h"
#include "alarms/evaluator.h"
#include "alarms/webhook.h"
#include "common/clock.h"

namespace cutover::alarms {

// The retry, timeout, bound and TLS settings of the sender.
using ActionSettings = WebhookSettings;

// A WebhookDelivery with its event read back as the alarm's state.
struct DeliveryRecord {
  std::string url;
  AlarmState state = AlarmState::kAlarm;  // the state the alarm moved into
  int64_t state_change_ms = 0;            // the transition's time (StateChangeTime)
  DeliveryOutcome outcome = DeliveryOutcome::kFailed;
  int attempts = 0;     // attempts started (0: dropped or abandoned before the first)
  int http_status = 0;  // the last answer's status; 0 when none came
  std::string error;    // why the last attempt failed ("HTTP 500", "connect: Connection refused")
  int64_t finished_ms = 0;  // when the outcome was decided (the dispatcher's clock)
};

// The notification for one transition, following CloudWatch's SNS alarm message as delivered
// (AWS documents no schema). Followed:
//  - aws/aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-single-metric.json and
//    cloudwatch-alarm-sns-payload-multiple-metrics.json: the fields and their order, Trigger with
//    "StatisticType":"Statistic" and an upper-case "Statistic" ("AVERAGE"), "Unit" (null when
//    none), "Dimensions":[{"value","name"}], and a metric-math alarm's Trigger.Metrics
//    ([{"Id","Expression","Label","ReturnData"} / {"Id","MetricStat":{"Metric":{...},"Period",
//    "Stat"},"ReturnData"}]) in place of MetricName/Namespace/Statistic;
//  - https://gist.github.com/dacc/2166108 (a delivered message): "AlarmDescription":null;
//  - delivered messages quoted in public repository text (found with the code search; their
//    source could not be pinned down): "Statistic":"SAMPLE_COUNT", and
//    "StatisticType":"ExtendedStatistic","ExtendedStatistic":"p99" for extended statistics.
// Differences, on purpose:
//  - no AWSAccountId, Region or AlarmArn (there is no account or region here);
//  - TreatMissingData is the plain value ("missing") where CloudWatch sends
//    "- TreatMissingData:                    missing";
//  - Trigger.DatapointsToAlarm is added (CloudWatch omits it), and so is StateReasonData: the
//    transition's StateReasonData JSON as a string, the way DescribeAlarms and EventBridge's
//    "CloudWatch Alarm State Change" event carry it.
// `time_ms` is StateChangeTime.
std::string AlarmNotificationJson(const AlarmSpec& spec, AlarmState old_state, AlarmState new_state,
                                  const std::string& reason, const std::string& reason_data_json,
                                  int64_t time_ms);

class ActionDispatcher final {
 public:
  ActionDispatcher(boost::asio::io_context& ioc, const Clock& clock, ActionSettings settings = {});
  ~ActionDispatcher() = default;  // the sender's destructor runs Stop()
  ActionDispatcher(const ActionDispatcher&) = delete;
  ActionDispatcher& operator=(const ActionDispatcher&) = delete;

  // Enqueues one POST per actionable action of `new_state`'s list. Nothing when
  // !spec.actions_enabled, when old_state == new_state, or after Stop().
  void Dispatch(const AlarmSpec& spec, AlarmState old_state, AlarmState new_state,
                std::string reason, std::string reason_data_json, int64_t time_ms);

  // Abandons every pending delivery (recorded as kAbandoned) and refuses new ones. Returns without
  // waiting for the network. Idempotent.
  void Stop();

  // The last log_size finished deliveries of `alarm_name`, newest first.
  std::vector<DeliveryRecord> Deliveries(const std::string& alarm_name) const;
  // Deliveries queued, in flight or waiting to retry.
  size_t pending() const;
  // Deliveries dropped by the max_pending bound since construction.
  uint64_t dropped() const;

 private:
  WebhookSender sender_;
};

}  // namespace cutover::alarms
