// CodeDeploy triggers: the `triggerConfigurations` of a function's deploymentSettings, and the
// notifications a deployment sends to them.
//
// serverless-plugin-canary-deployments copies `triggerConfigurations` unchanged into the
// deployment group's CloudFormation `TriggerConfigurations`, so an entry is a TriggerConfig
// (TriggerName, TriggerTargetArn, TriggerEvents); the API's camelCase spelling (triggerName, ...)
// is accepted too. CodeDeploy sends the trigger's message to an SNS topic; there is no SNS here, so
// cutover POSTs the message to a target that is an http:// or https:// URL (IsDeliverable) and
// keeps an SNS ARN or a CloudFormation reference ({"Ref": "Topic"}) inert: parsed and kept, never
// delivered (the caller tells the user so).
//
// Event types: all ten of CodeDeploy's TriggerEventType values are accepted, but a Lambda
// deployment only ever sends DeploymentStart, DeploymentSuccess, DeploymentFailure,
// DeploymentStop and DeploymentRollback (the k* constants below). DeploymentReady (blue/green
// replacement instances) and the Instance* events concern EC2/on-premises instances: a trigger
// listing them is valid and they simply never fire.
//
// Thread-safety: the parsing and JSON functions are pure. TriggerDispatcher is control loop only,
// like the WebhookSender it posts through.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alarms/webhook.h"
#include "common/status.h"

namespace cutover::deploy {

// The events a Lambda deployment sends (reference section 1.6).
inline constexpr std::string_view kDeploymentStart = "DeploymentStart";
inline constexpr std::string_view kDeploymentSuccess = "DeploymentSuccess";
inline constexpr std::string_view kDeploymentFailure = "DeploymentFailure";
inline constexpr std::string_view kDeploymentStop = "DeploymentStop";
inline constexpr std::string_view kDeploymentRollback = "DeploymentRollback";

// CodeDeploy allows at most this many triggers per deployment group.
inline constexpr size_t kMaxTriggers = 10;

struct TriggerConfig {
  std::string name;                 // TriggerName; unique within the list
  std::string target;               // TriggerTargetArn: a URL, an ARN, or a reference as JSON
  std::vector<std::string> events;  // TriggerEvents: TriggerEventType names, at least one
};

// Reads the `triggerConfigurations` list. Null (or absent: a default json::value) gives an empty
// list. InvalidArgument, with the entry's index and key in the message, for: not a list; more than
// kMaxTriggers entries; an entry that is not a mapping or has an unknown key (a typo such as
// "TargetTriggerArn"); a missing or empty name, or a duplicate one; a missing target, or one that
// is neither an http(s) URL, an ARN nor a CloudFormation reference; a missing or empty event list,
// or an event that is not a TriggerEventType.
Result<std::vector<TriggerConfig>> ParseTriggerConfigurations(const boost::json::value& v);

// True when the target is an http:// or https:// URL, which cutover POSTs to.
bool IsDeliverable(const TriggerConfig& trigger);

// What a deployment reports to its triggers at one event.
struct DeploymentNotice {
  std::string event;  // a TriggerEventType: kDeploymentStart, ...
  std::string deployment_id, application_name, deployment_group_name, region;
  std::string status;  // CodeDeploy's DeploymentStatus: "InProgress", "Succeeded", "Failed", ...
  std::string error_code, error_message;  // both empty: no error
  int64_t create_ms = 0;                  // when the deployment was created (epoch ms)
  int64_t complete_ms = 0;                // when it ended; 0 while it runs
  // deploymentOverview: CodeDeploy counts instances; a Lambda deployment has one target.
  int failed = 0, in_progress = 0, pending = 0, skipped = 0, succeeded = 0;
};

// The trigger message for `notice` as sent to `trigger`: a JSON object with the keys of
// CodeDeploy's deployment-trigger message, in its order. Followed: AWS's CodeDeploy User Guide,
// "JSON data formats for CodeDeploy triggers" (awsdocs/aws-codedeploy-user-guide,
// doc_source/monitoring-sns-event-notifications-json-format.md, the deployment-based sample), as
// summarized in reference section 1.6:
//   region, accountId, eventTriggerName, applicationName, deploymentId, deploymentGroupName,
//   createTime, completeTime (epoch seconds with 3 decimals, as strings: "1446744188.595"),
//   deploymentOverview {Failed, InProgress, Pending, Skipped, Succeeded} (counts as strings),
//   status, and errorInformation {ErrorCode, ErrorMessage} only when there is an error.
// Choices where the sample says nothing:
//   - accountId is "000000000000": there are no AWS accounts here;
//   - completeTime is null while the deployment runs (complete_ms == 0), as in delivered messages.
// Known difference from delivered messages: messages that SNS actually delivered (a captured
// fixture found with the code search, an ECS deployment in 2022) carry createTime and completeTime
// as "Thu Oct 13 15:50:45 UTC 2022", deploymentOverview and errorInformation as JSON-encoded
// strings with numeric counts, upper-case statuses ("IN_PROGRESS"), no deploymentOverview at
// creation and an extra rollbackInformation; consumers written against them call
// JSON.parse(message.deploymentOverview). This function follows the documented shape.
std::string DeploymentTriggerJson(const TriggerConfig& trigger, const DeploymentNotice& notice);

// Sends a deployment's notices to its triggers through a WebhookSender, which retries, bounds and
// logs each delivery; a failed delivery never affects the deployment.
class TriggerDispatcher final {
 public:
  // `sender` must outlive the dispatcher.
  explicit TriggerDispatcher(alarms::WebhookSender& sender);

  // Enqueues one POST of DeploymentTriggerJson to each deliverable trigger whose events include
  // notice.event. Never blocks. Inert triggers are skipped silently (ParseTriggerConfigurations'
  // caller reported them once).
  void Notify(const std::vector<TriggerConfig>& triggers, const DeploymentNotice& notice);

  // The sender's last finished deliveries for `deployment_id`, newest first. A record's event is
  // the notice's event; its event_ms the notice's complete_ms, or create_ms while it runs.
  std::vector<alarms::WebhookDelivery> Deliveries(const std::string& deployment_id) const;

 private:
  alarms::WebhookSender& sender_;
};

}  // namespace cutover::deploy
