#include "deploy/triggers.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <optional>
#include <set>

namespace cutover::deploy {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 10> kEventTypes = {
    "DeploymentStart",    "DeploymentSuccess", "DeploymentFailure", "DeploymentStop",
    "DeploymentRollback", "DeploymentReady",   "InstanceStart",     "InstanceSuccess",
    "InstanceFailure",    "InstanceReady"};

constexpr char kAccountId[] = "000000000000";
constexpr char kUserAgent[] = "cutover-deploy";

// A key of a TriggerConfig entry in its two spellings.
struct Key {
  std::string_view cloudformation;  // "TriggerName"
  std::string_view api;             // "triggerName"
};
constexpr Key kName{"TriggerName", "triggerName"};
constexpr Key kTarget{"TriggerTargetArn", "triggerTargetArn"};
constexpr Key kEvents{"TriggerEvents", "triggerEvents"};

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// {"Ref": "X"} or {"Fn::GetAtt": ...}: only CloudFormation could evaluate it.
bool IsIntrinsic(const json::value& value) {
  if (!value.is_object() || value.as_object().size() != 1) return false;
  std::string_view key = value.as_object().begin()->key();
  return key == "Ref" || StartsWith(key, "Fn::");
}

std::string ListEventTypes() {
  std::string out;
  for (std::string_view event : kEventTypes) {
    if (!out.empty()) out += ", ";
    out += event;
  }
  return out;
}

class EntryReader {
 public:
  EntryReader(const json::object& entry, size_t index) : entry_(entry), index_(index) {}

  Status Error(std::string_view message) const {
    return InvalidArgument(fmt::format("triggerConfigurations[{}]: {}", index_, message));
  }

  // Rejects keys that are not one of the three, in either spelling.
  Status CheckKeys() const {
    for (const auto& [key, value] : entry_) {
      bool known = false;
      for (const Key& k : {kName, kTarget, kEvents}) {
        known |= key == k.cloudformation || key == k.api;
      }
      if (!known) {
        return Error(
            fmt::format("unknown key '{}' (expected TriggerName, TriggerTargetArn and "
                        "TriggerEvents, or their camelCase spellings)",
                        std::string_view(key)));
      }
    }
    return Status::Ok();
  }

  // The value under either spelling; nullptr when absent or null.
  Result<const json::value*> Find(const Key& key) const {
    const json::value* upper = entry_.if_contains(key.cloudformation);
    const json::value* lower = entry_.if_contains(key.api);
    if (upper != nullptr && lower != nullptr) {
      return Error(fmt::format("has both {} and {}", key.cloudformation, key.api));
    }
    const json::value* found = upper != nullptr ? upper : lower;
    if (found != nullptr && found->is_null()) return static_cast<const json::value*>(nullptr);
    return found;
  }

  Result<std::string> Name() const {
    CUTOVER_ASSIGN_OR_RETURN(const json::value* v, Find(kName));
    if (v == nullptr || !v->is_string() || v->get_string().empty()) {
      return Error("TriggerName must be a non-empty string");
    }
    return std::string(v->get_string());
  }

  Result<std::string> Target() const {
    CUTOVER_ASSIGN_OR_RETURN(const json::value* v, Find(kTarget));
    if (v == nullptr) return Error("TriggerTargetArn is missing");
    if (IsIntrinsic(*v)) return json::serialize(*v);
    if (!v->is_string() || v->get_string().empty()) {
      return Error("TriggerTargetArn must be an http(s) URL or an SNS topic ARN");
    }
    std::string target(v->get_string());
    if (StartsWith(target, "http://") || StartsWith(target, "https://")) {
      // The full parse happens at send time; catch the obvious mistakes before deploying.
      std::string_view rest = std::string_view(target).substr(target.find("//") + 2);
      if (rest.empty() || rest[0] == '/' || rest.find(' ') != std::string_view::npos) {
        return Error(fmt::format("TriggerTargetArn '{}' is not a valid URL", target));
      }
    } else if (!StartsWith(target, "arn:")) {
      return Error(fmt::format(
          "TriggerTargetArn must be an http(s) URL (which cutover calls) or an ARN, got '{}'",
          target));
    }
    return target;
  }

  Result<std::vector<std::string>> Events() const {
    CUTOVER_ASSIGN_OR_RETURN(const json::value* v, Find(kEvents));
    if (v == nullptr || !v->is_array() || v->get_array().empty()) {
      return Error("TriggerEvents must be a non-empty list of event types");
    }
    std::vector<std::string> events;
    for (const json::value& item : v->get_array()) {
      std::string_view event = item.is_string() ? std::string_view(item.get_string()) : "";
      if (std::find(kEventTypes.begin(), kEventTypes.end(), event) == kEventTypes.end()) {
        return Error(fmt::format("unknown event type {} in TriggerEvents (expected one of {})",
                                 json::serialize(item), ListEventTypes()));
      }
      if (std::find(events.begin(), events.end(), event) == events.end()) {
        events.emplace_back(event);
      }
    }
    return events;
  }

 private:
  const json::object& entry_;
  size_t index_;
};

// 1446744188595 -> "1446744188.595". Times before 1970 do not occur; they print as 0.
std::string EpochSeconds(int64_t ms) {
  ms = std::max<int64_t>(ms, 0);
  return fmt::format("{}.{:03}", ms / 1000, ms % 1000);
}

}  // namespace

Result<std::vector<TriggerConfig>> ParseTriggerConfigurations(const json::value& v) {
  if (v.is_null()) return std::vector<TriggerConfig>{};
  if (!v.is_array()) return InvalidArgument("triggerConfigurations must be a list");
  const json::array& list = v.get_array();
  if (list.size() > kMaxTriggers) {
    return InvalidArgument(fmt::format(
        "triggerConfigurations has {} triggers; CodeDeploy allows at most {} per deployment group",
        list.size(), kMaxTriggers));
  }
  std::vector<TriggerConfig> out;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) {
      return InvalidArgument(fmt::format(
          "triggerConfigurations[{}] must be a mapping with TriggerName, TriggerTargetArn and "
          "TriggerEvents",
          i));
    }
    EntryReader entry(list[i].get_object(), i);
    CUTOVER_RETURN_IF_ERROR(entry.CheckKeys());
    TriggerConfig trigger;
    CUTOVER_ASSIGN_OR_RETURN(trigger.name, entry.Name());
    CUTOVER_ASSIGN_OR_RETURN(trigger.target, entry.Target());
    CUTOVER_ASSIGN_OR_RETURN(trigger.events, entry.Events());
    if (!names.insert(trigger.name).second) {
      return entry.Error(fmt::format("a second trigger named '{}'", trigger.name));
    }
    out.push_back(std::move(trigger));
  }
  return out;
}

bool IsDeliverable(const TriggerConfig& trigger) {
  return StartsWith(trigger.target, "http://") || StartsWith(trigger.target, "https://");
}

std::string DeploymentTriggerJson(const TriggerConfig& trigger, const DeploymentNotice& notice) {
  // json::object keeps insertion order: the keys come out in CodeDeploy's order.
  json::object message;
  message["region"] = notice.region;
  message["accountId"] = kAccountId;
  message["eventTriggerName"] = trigger.name;
  message["applicationName"] = notice.application_name;
  message["deploymentId"] = notice.deployment_id;
  message["deploymentGroupName"] = notice.deployment_group_name;
  message["createTime"] = EpochSeconds(notice.create_ms);
  if (notice.complete_ms != 0) {
    message["completeTime"] = EpochSeconds(notice.complete_ms);
  } else {
    message["completeTime"] = nullptr;
  }
  json::object overview;
  overview["Failed"] = std::to_string(notice.failed);
  overview["InProgress"] = std::to_string(notice.in_progress);
  overview["Pending"] = std::to_string(notice.pending);
  overview["Skipped"] = std::to_string(notice.skipped);
  overview["Succeeded"] = std::to_string(notice.succeeded);
  message["deploymentOverview"] = std::move(overview);
  message["status"] = notice.status;
  if (!notice.error_code.empty() || !notice.error_message.empty()) {
    json::object error;
    error["ErrorCode"] = notice.error_code;
    error["ErrorMessage"] = notice.error_message;
    message["errorInformation"] = std::move(error);
  }
  return json::serialize(message);
}

TriggerDispatcher::TriggerDispatcher(alarms::WebhookSender& sender) : sender_(sender) {}

void TriggerDispatcher::Notify(const std::vector<TriggerConfig>& triggers,
                               const DeploymentNotice& notice) {
  // The event's time: when it ended, or for a start, when the deployment was created.
  const int64_t event_ms = notice.complete_ms != 0 ? notice.complete_ms : notice.create_ms;
  for (const TriggerConfig& trigger : triggers) {
    if (!IsDeliverable(trigger)) continue;
    if (std::find(trigger.events.begin(), trigger.events.end(), notice.event) ==
        trigger.events.end()) {
      continue;
    }
    sender_.Post(alarms::WebhookMessage{
        .log_key = notice.deployment_id,
        .event = notice.event,
        .event_ms = event_ms,
        .url = trigger.target,
        .body = std::make_shared<const std::string>(DeploymentTriggerJson(trigger, notice)),
        .user_agent = kUserAgent,
        .kind = "deployment"});
  }
}

std::vector<alarms::WebhookDelivery> TriggerDispatcher::Deliveries(
    const std::string& deployment_id) const {
  return sender_.Deliveries(deployment_id);
}

}  // namespace cutover::deploy
