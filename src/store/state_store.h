// StateStore: the durable state of the platform, behind an interface because an etcd backend will follow
// the SQLite one. The store knows records, not rules: "publish a version only when something changed" is
// decided by deploy/publisher inside a transaction this interface provides.
//
// Thread-safety: a StateStore may be called from any thread, but the daemon calls it only from the control
// loop. Transactions are serialisable: the callback sees a consistent view, and either all of its writes
// land or none do. A callback must not start another transaction on the same store (that returns
// FailedPrecondition instead of deadlocking).
//
// Errors every implementation reports the same way: a malformed record (empty key, version 0,
// weight outside [0, 1], an unknown alarm state) is InvalidArgument; a write inside Read() is
// FailedPrecondition; a storage failure is Unavailable (busy, cannot open, etcd unreachable) or
// Internal, with the backend's own message.
//
// A Write callback may run more than once: the etcd store runs it again when another node's write
// committed first. It must therefore only read and write through the StoreTxn and set its own
// outputs, never act on the world; what it decided is final only when Write returns OK.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::store {

struct ServiceRecord {
  std::string name;       // "bref-canary-demo"
  std::string stage;      // "dev"
  std::string spec_json;  // the resolved ServiceSpec as JSON (config::ToJson)
  std::string code_sha256;
  int64_t updated_ms = 0;
};

// An immutable published version.
struct VersionRecord {
  std::string function_name;  // deployed name
  uint32_t version = 0;       // 1, 2, 3 ... per function
  std::string service;
  std::string stage;
  std::string code_sha256;    // the package
  std::string config_sha256;  // the function's configuration (config_json)
  std::string config_json;    // the FunctionSpec as JSON
  int64_t created_ms = 0;
};

struct AliasRecord {
  std::string function_name;
  std::string name;  // "Live"
  uint32_t primary_version = 0;
  uint32_t additional_version = 0;  // 0 = none
  double additional_weight = 0.0;   // [0, 1]
  int64_t updated_ms = 0;
};

// The current state of one CloudWatch-style alarm, as the alarm monitor last computed it.
struct AlarmStateRecord {
  std::string name;         // AlarmName, unique per daemon (non-empty)
  std::string state;        // "OK" | "ALARM" | "INSUFFICIENT_DATA" (checked)
  std::string reason;       // CloudWatch's StateReason text
  std::string reason_data;  // StateReasonData JSON (may be empty)
  int64_t updated_ms = 0;
  std::string definition_sha256;  // the definition the state was computed for
};

// One state transition of an alarm (CloudWatch's DescribeAlarmHistory, HistoryItemType
// StateUpdate). Both states are checked like AlarmStateRecord::state.
struct AlarmHistoryRecord {
  std::string name;
  int64_t timestamp_ms = 0;
  std::string old_state;
  std::string new_state;
  std::string reason;
  std::string reason_data;
};

// One metric's aggregate of one minute, persisted so that queries older than the in-memory series
// can still be answered (the daemon keeps 15 days of them). The store treats `metric` and `data`
// as opaque; metrics/rollup.h defines their encodings.
struct MetricRollupRecord {
  std::string metric;  // the encoded metric key (non-empty)
  int64_t minute = 0;  // minutes since the epoch
  std::string data;    // the encoded aggregate (any bytes)
};

// One deployment of a new version to an alias (CodeDeploy's DeploymentInfo for one Lambda target).
// The store checks the keys and the status; `data` is deploy/deployment_state.h's encoding of
// everything else (the plan, the phase, hooks, rollback info) and opaque here.
struct DeploymentRecord {
  std::string id;             // "d-XXXXXXXXX" (non-empty)
  std::string function_name;  // non-empty
  std::string alias;          // non-empty
  std::string status;         // CodeDeploy's DeploymentStatus (checked, exact spelling)
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string data;
};

// The statuses of a deployment that has not ended: Created, Queued, InProgress, Baking, Ready.
// At most one deployment per (function, alias) may be in one of them.
bool IsActiveDeploymentStatus(std::string_view status);

// One entry of a deployment's append-only event log.
struct DeploymentEventRecord {
  std::string deployment_id;
  uint64_t seq = 0;  // 1, 2, 3 ... per deployment, without gaps
  int64_t time_ms = 0;
  std::string type;  // non-empty: "LifecycleEvent", "TrafficShifted", "AlarmCheck" ...
  std::string data;  // JSON, opaque to the store
};

// How long AppendAlarmHistory keeps an alarm's transitions: CloudWatch keeps two weeks.
inline constexpr int64_t kAlarmHistoryRetentionMs = int64_t{14} * 24 * 60 * 60 * 1000;

// Reads and writes inside one transaction.
class StoreTxn {
 public:
  virtual ~StoreTxn() = default;

  virtual Result<std::optional<ServiceRecord>> GetService(const std::string& name,
                                                          const std::string& stage) = 0;
  // Every service, by name, stage.
  virtual Result<std::vector<ServiceRecord>> ListServices() = 0;
  // Inserts or replaces the (name, stage) record.
  virtual Status PutService(const ServiceRecord& record) = 0;
  // OK also when there is no such service.
  virtual Status DeleteService(const std::string& name, const std::string& stage) = 0;

  // Newest version of a function, if any.
  virtual Result<std::optional<VersionRecord>> LatestVersion(const std::string& function_name) = 0;
  virtual Result<std::optional<VersionRecord>> GetVersion(const std::string& function_name,
                                                          uint32_t version) = 0;
  // All versions of one function, or of every function when function_name is empty; by name,
  // version.
  virtual Result<std::vector<VersionRecord>> ListVersions(const std::string& function_name) = 0;
  // AlreadyExists when (function_name, version) exists: versions are immutable.
  virtual Status InsertVersion(const VersionRecord& record) = 0;

  virtual Result<std::optional<AliasRecord>> GetAlias(const std::string& function_name,
                                                      const std::string& name) = 0;
  // Every alias, by function name, alias name.
  virtual Result<std::vector<AliasRecord>> ListAliases() = 0;
  // Inserts or replaces the (function_name, name) alias. FailedPrecondition when primary_version or
  // a non-zero additional_version is not a published version of the function; InvalidArgument when
  // a weight is given without an additional version.
  virtual Status PutAlias(const AliasRecord& record) = 0;

  // Every alarm's current state, by name.
  virtual Result<std::vector<AlarmStateRecord>> ListAlarmStates() = 0;
  virtual Result<std::optional<AlarmStateRecord>> GetAlarmState(const std::string& name) = 0;
  // Inserts or replaces the state of `record.name`.
  virtual Status PutAlarmState(const AlarmStateRecord& record) = 0;
  // OK also when there is no such alarm. The alarm's history stays; like any history it is only
  // pruned by a later AppendAlarmHistory for the same name.
  virtual Status DeleteAlarmState(const std::string& name) = 0;

  // Appends one transition, then deletes this alarm's entries older than (strictly before)
  // record.timestamp_ms - kAlarmHistoryRetentionMs. Other alarms' entries are not touched.
  virtual Status AppendAlarmHistory(const AlarmHistoryRecord& record) = 0;
  // The alarm's transitions, newest first (by timestamp; transitions in the same millisecond
  // newest-appended first), at most `limit` of them (0 gives none).
  virtual Result<std::vector<AlarmHistoryRecord>> ListAlarmHistory(const std::string& name,
                                                                   size_t limit) = 0;

  // Inserts or replaces the (metric, minute) rollup of each record, in order (of two records with
  // the same key, the later wins). InvalidArgument, writing none of them, when a metric is empty.
  virtual Status PutMetricRollups(const std::vector<MetricRollupRecord>& records) = 0;
  // The metric's rollups with from_minute <= minute < to_minute, ascending by minute (none when
  // from_minute >= to_minute).
  virtual Result<std::vector<MetricRollupRecord>> ListMetricRollups(const std::string& metric,
                                                                    int64_t from_minute,
                                                                    int64_t to_minute) = 0;
  // Deletes the rollups of every metric with minute < `minute`.
  virtual Status DeleteMetricRollupsBefore(int64_t minute) = 0;

  virtual Result<std::optional<DeploymentRecord>> GetDeployment(const std::string& id) = 0;
  // Deployments newest first (by created_ms, then id descending), of one function or of every
  // function when function_name is empty; at most `limit`.
  virtual Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& function_name,
                                                                size_t limit) = 0;
  // Every deployment whose status is active (IsActiveDeploymentStatus), oldest first.
  virtual Result<std::vector<DeploymentRecord>> ListActiveDeployments() = 0;
  // Inserts or replaces the record with this id. AlreadyExists when the record is active and
  // another active deployment exists for the same function and alias.
  virtual Status PutDeployment(const DeploymentRecord& record) = 0;
  // Appends one event. FailedPrecondition when the deployment does not exist or record.seq is not
  // the last seq + 1 (the log has no gaps and no rewrites).
  virtual Status AppendDeploymentEvent(const DeploymentEventRecord& record) = 0;
  // The deployment's events with seq > after_seq, ascending.
  virtual Result<std::vector<DeploymentEventRecord>> ListDeploymentEvents(
      const std::string& deployment_id, uint64_t after_seq) = 0;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  // Runs `fn` in a read-write transaction; commits when it returns OK, rolls back otherwise.
  virtual Status Write(const std::function<Status(StoreTxn&)>& fn) = 0;
  // Runs `fn` in a read-only transaction; writes inside it fail.
  virtual Status Read(const std::function<Status(StoreTxn&)>& fn) = 0;
};

// SQLite in WAL mode at `path` (created with its schema when missing).
Result<std::unique_ptr<StateStore>> OpenSqliteStore(const std::filesystem::path& path);

// Where the state lives: `--store` of `cutover serve`.
struct StoreLocation {
  enum class Kind { kSqlite, kEtcd };
  Kind kind = Kind::kSqlite;          // SQLite in the data directory (the default)
  std::string etcd_endpoints;         // "HOST:PORT[,HOST:PORT...]"
  std::string etcd_prefix = "/cutover/";  // every key the store writes starts with it
};

// "" or "sqlite"; "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]" (the prefix gets a trailing '/').
// InvalidArgument, naming the text, otherwise.
Result<StoreLocation> ParseStoreLocation(std::string_view text);

// The shared state in etcd v3 (etcd_store.cc: transactions, key layout), with this node's metric
// rollups in `local`. Unavailable when etcd cannot be reached; FailedPrecondition when the
// keyspace was written by a newer cutover.
Result<std::unique_ptr<StateStore>> OpenEtcdStore(const StoreLocation& location,
                                                  std::unique_ptr<StateStore> local);

// The same contract in memory, for tests of the modules above the store.
std::unique_ptr<StateStore> CreateMemoryStore();

}  // namespace cutover::store
