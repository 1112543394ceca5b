// Record checks shared by every StateStore implementation, so the SQLite and in-memory stores
// refuse the same malformed records with the same codes (and prune alarm history at the same
// cutoff). Internal to src/store; not part of the StateStore contract callers code against, which
// state_store.h states.
//
// Thread-safety: pure functions.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "common/status.h"
#include "store/state_store.h"

namespace cutover::store {

// InvalidArgument when the name or stage is empty.
Status CheckServiceRecord(const ServiceRecord& record);

// InvalidArgument when the function name is empty or the version is 0.
Status CheckVersionRecord(const VersionRecord& record);

// InvalidArgument when a name is empty, the primary version is 0, the weight is outside [0, 1] (or
// NaN), or a weight is given without an additional version. Whether the versions exist is checked
// by the store, inside the transaction (FailedPrecondition).
Status CheckAliasRecord(const AliasRecord& record);

// InvalidArgument when the name is empty or the state is not one of "OK", "ALARM",
// "INSUFFICIENT_DATA" (exact spelling, as CloudWatch's API).
Status CheckAlarmStateRecord(const AlarmStateRecord& record);

// InvalidArgument when the name is empty or either state is not one of the three above.
Status CheckAlarmHistoryRecord(const AlarmHistoryRecord& record);

// InvalidArgument when the metric is empty.
Status CheckMetricRollupRecord(const MetricRollupRecord& record);

// InvalidArgument when the id, function or alias is empty or the status is not one of CodeDeploy's
// DeploymentStatus values.
Status CheckDeploymentRecord(const DeploymentRecord& record);

// InvalidArgument when the deployment id or type is empty or seq is 0.
Status CheckDeploymentEventRecord(const DeploymentEventRecord& record);

// The oldest timestamp AppendAlarmHistory keeps when it appends an entry at `timestamp_ms`:
// timestamp_ms - kAlarmHistoryRetentionMs, saturating at INT64_MIN instead of overflowing.
int64_t AlarmHistoryCutoffMs(int64_t timestamp_ms);

// "fn:Live points at version 3 of fn, which is not published"
Status UnpublishedVersion(const AliasRecord& record, uint32_t version);

// The thread inside a store's transaction, so that a callback calling back into the same store gets
// FailedPrecondition instead of a deadlock on the store's mutex (state_store.h).
class TxnOwner {
 public:
  // FailedPrecondition when the calling thread is inside a transaction of this store.
  Status CheckNotInside() const;

  // The calling thread is the owner until the Scope ends. Taken with the store's mutex held.
  class Scope {
   public:
    explicit Scope(TxnOwner& owner) : owner_(owner) {
      owner_.thread_.store(std::this_thread::get_id());
    }
    ~Scope() { owner_.thread_.store(std::thread::id()); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    TxnOwner& owner_;
  };

 private:
  std::atomic<std::thread::id> thread_{};
};

}  // namespace cutover::store
