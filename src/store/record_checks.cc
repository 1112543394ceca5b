#include "store/record_checks.h"

#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <string_view>

namespace cutover::store {

Status CheckServiceRecord(const ServiceRecord& record) {
  if (record.name.empty()) return InvalidArgument("service record without a name");
  if (record.stage.empty()) {
    return InvalidArgument(fmt::format("service '{}' has no stage", record.name));
  }
  return Status::Ok();
}

Status CheckVersionRecord(const VersionRecord& record) {
  if (record.function_name.empty())
    return InvalidArgument("version record without a function name");
  if (record.version == 0) {
    return InvalidArgument(
        fmt::format("version of '{}' must be 1 or more, got 0", record.function_name));
  }
  return Status::Ok();
}

Status CheckAliasRecord(const AliasRecord& record) {
  if (record.function_name.empty()) return InvalidArgument("alias record without a function name");
  if (record.name.empty()) {
    return InvalidArgument(fmt::format("alias of '{}' has no name", record.function_name));
  }
  const std::string id = fmt::format("{}:{}", record.function_name, record.name);
  if (record.primary_version == 0) {
    return InvalidArgument(fmt::format("alias {} has no primary version", id));
  }
  // Written so that NaN fails too.
  if (!(record.additional_weight >= 0.0 && record.additional_weight <= 1.0)) {
    return InvalidArgument(fmt::format("alias {}: additional weight {} is outside [0, 1]", id,
                                       record.additional_weight));
  }
  if (record.additional_version == 0 && record.additional_weight != 0.0) {
    return InvalidArgument(fmt::format("alias {}: weight {} given without an additional version",
                                       id, record.additional_weight));
  }
  return Status::Ok();
}

namespace {

// The same three names as the CHECK constraints of schema migration 2 (sqlite_schema.cc).
bool IsAlarmState(std::string_view state) {
  return state == "OK" || state == "ALARM" || state == "INSUFFICIENT_DATA";
}

Status UnknownAlarmState(std::string_view name, std::string_view what, std::string_view state) {
  return InvalidArgument(
      fmt::format("alarm '{}': {} '{}' is not OK, ALARM or INSUFFICIENT_DATA", name, what, state));
}

}  // namespace

Status CheckAlarmStateRecord(const AlarmStateRecord& record) {
  if (record.name.empty()) return InvalidArgument("alarm state record without an alarm name");
  if (!IsAlarmState(record.state)) return UnknownAlarmState(record.name, "state", record.state);
  return Status::Ok();
}

Status CheckAlarmHistoryRecord(const AlarmHistoryRecord& record) {
  if (record.name.empty()) return InvalidArgument("alarm history record without an alarm name");
  if (!IsAlarmState(record.old_state)) {
    return UnknownAlarmState(record.name, "old state", record.old_state);
  }
  if (!IsAlarmState(record.new_state)) {
    return UnknownAlarmState(record.name, "new state", record.new_state);
  }
  return Status::Ok();
}

Status CheckMetricRollupRecord(const MetricRollupRecord& record) {
  if (record.metric.empty()) {
    return InvalidArgument(
        fmt::format("metric rollup record of minute {} without a metric", record.minute));
  }
  return Status::Ok();
}

namespace {
// CodeDeploy's DeploymentStatus enum.
constexpr std::string_view kDeploymentStatuses[] = {"Created", "Queued",    "InProgress", "Baking",
                                                    "Ready",   "Succeeded", "Failed",     "Stopped"};
}  // namespace

bool IsActiveDeploymentStatus(std::string_view status) {
  return status == "Created" || status == "Queued" || status == "InProgress" ||
         status == "Baking" || status == "Ready";
}

Status CheckDeploymentRecord(const DeploymentRecord& record) {
  if (record.id.empty() || record.function_name.empty() || record.alias.empty()) {
    return InvalidArgument(fmt::format("deployment record '{}' needs an id, a function and an alias",
                                       record.id));
  }
  for (std::string_view status : kDeploymentStatuses) {
    if (record.status == status) return Status::Ok();
  }
  return InvalidArgument(
      fmt::format("deployment {} has an unknown status '{}'", record.id, record.status));
}

Status CheckDeploymentEventRecord(const DeploymentEventRecord& record) {
  if (record.deployment_id.empty() || record.type.empty() || record.seq == 0) {
    return InvalidArgument(fmt::format(
        "deployment event {} of '{}' needs a deployment id, a type and a seq from 1",
        record.seq, record.deployment_id));
  }
  return Status::Ok();
}

int64_t AlarmHistoryCutoffMs(int64_t timestamp_ms) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (timestamp_ms < kMin + kAlarmHistoryRetentionMs) return kMin;
  return timestamp_ms - kAlarmHistoryRetentionMs;
}

Status UnpublishedVersion(const AliasRecord& record, uint32_t version) {
  return FailedPrecondition(
      fmt::format("alias {}:{} points at version {} of {}, which is not published",
                  record.function_name, record.name, version, record.function_name));
}

Status TxnOwner::CheckNotInside() const {
  if (thread_.load() != std::this_thread::get_id()) return Status::Ok();
  return FailedPrecondition("a store transaction was started inside another one on the same thread");
}

}  // namespace cutover::store
