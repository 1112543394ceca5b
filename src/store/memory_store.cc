// The in-memory StateStore: the whole state in ordered maps behind one mutex.
//
// Transactions are copy-on-write of the whole state: Write() copies it, runs the callback on the
// copy and swaps the copy in only when the callback returns OK, so an error leaves nothing behind,
// exactly like a SQLite ROLLBACK. The state is small (a few services, versions, aliases and alarms,
// with two weeks of alarm transitions), so the copy is cheap (the metric rollups, which are not
// small, are shared until a transaction writes them); this store exists for tests of the
// modules above the store, not for production.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "store/record_checks.h"
#include "store/state_store.h"

namespace cutover::store {
namespace {

// Keys order the same way SQLite's ORDER BY does (std::string compares bytes as unsigned, like
// memcmp).
struct MemoryState {
  std::map<std::pair<std::string, std::string>, ServiceRecord> services;  // (name, stage)
  std::map<std::pair<std::string, uint32_t>, VersionRecord> versions;     // (function, version)
  std::map<std::pair<std::string, std::string>, AliasRecord> aliases;     // (function, alias)
  std::map<std::string, AlarmStateRecord> alarm_states;                   // name
  // (name, timestamp_ms, sequence): the sequence orders same-millisecond transitions by append,
  // like alarm_history's rowid in SQLite. Copied with the rest, so a rollback rolls it back too.
  std::map<std::tuple<std::string, int64_t, uint64_t>, AlarmHistoryRecord> alarm_history;
  uint64_t next_history_sequence = 0;
  // (metric, minute). Shared between the live state and a draft until the draft's first rollup
  // write (MemoryTxn::MutableRollups): 15 days of rollups are not copied by every Write().
  using Rollups = std::map<std::pair<std::string, int64_t>, std::string>;
  std::shared_ptr<const Rollups> metric_rollups = std::make_shared<const Rollups>();
  std::map<std::string, DeploymentRecord> deployments;                             // id
  std::map<std::pair<std::string, uint64_t>, DeploymentEventRecord> deployment_events;  // (id, seq)
};

class MemoryTxn final : public StoreTxn {
 public:
  // Reads `state`; writes go to it too unless `read_only`. In a read-only transaction `state` is
  // the live state and is never modified.
  MemoryTxn(MemoryState& state, bool read_only) : state_(state), read_only_(read_only) {}

  Result<std::optional<ServiceRecord>> GetService(const std::string& name,
                                                  const std::string& stage) override {
    auto it = state_.services.find({name, stage});
    if (it == state_.services.end()) return std::optional<ServiceRecord>();
    return std::optional<ServiceRecord>(it->second);
  }

  Result<std::vector<ServiceRecord>> ListServices() override {
    std::vector<ServiceRecord> out;
    for (const auto& [key, record] : state_.services) out.push_back(record);
    return out;
  }

  Status PutService(const ServiceRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("PutService"));
    CUTOVER_RETURN_IF_ERROR(CheckServiceRecord(record));
    state_.services[{record.name, record.stage}] = record;
    return Status::Ok();
  }

  Status DeleteService(const std::string& name, const std::string& stage) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("DeleteService"));
    state_.services.erase({name, stage});
    return Status::Ok();
  }

  Result<std::optional<VersionRecord>> LatestVersion(const std::string& function_name) override {
    // The last key below (function_name, 0) is the function's newest version, if any.
    auto it = state_.versions.lower_bound({function_name, 0});
    std::optional<VersionRecord> latest;
    for (; it != state_.versions.end() && it->first.first == function_name; ++it) {
      latest = it->second;
    }
    return latest;
  }

  Result<std::optional<VersionRecord>> GetVersion(const std::string& function_name,
                                                  uint32_t version) override {
    auto it = state_.versions.find({function_name, version});
    if (it == state_.versions.end()) return std::optional<VersionRecord>();
    return std::optional<VersionRecord>(it->second);
  }

  Result<std::vector<VersionRecord>> ListVersions(const std::string& function_name) override {
    std::vector<VersionRecord> out;
    for (const auto& [key, record] : state_.versions) {
      if (function_name.empty() || key.first == function_name) out.push_back(record);
    }
    return out;
  }

  Status InsertVersion(const VersionRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("InsertVersion"));
    CUTOVER_RETURN_IF_ERROR(CheckVersionRecord(record));
    auto [it, inserted] =
        state_.versions.try_emplace({record.function_name, record.version}, record);
    if (!inserted) {
      return AlreadyExists(fmt::format("version {} of {} already exists; versions are immutable",
                                       record.version, record.function_name));
    }
    return Status::Ok();
  }

  Result<std::optional<AliasRecord>> GetAlias(const std::string& function_name,
                                              const std::string& name) override {
    auto it = state_.aliases.find({function_name, name});
    if (it == state_.aliases.end()) return std::optional<AliasRecord>();
    return std::optional<AliasRecord>(it->second);
  }

  Result<std::vector<AliasRecord>> ListAliases() override {
    std::vector<AliasRecord> out;
    for (const auto& [key, record] : state_.aliases) out.push_back(record);
    return out;
  }

  Status PutAlias(const AliasRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("PutAlias"));
    CUTOVER_RETURN_IF_ERROR(CheckAliasRecord(record));
    for (uint32_t v : {record.primary_version, record.additional_version}) {
      if (v != 0 && !state_.versions.contains({record.function_name, v})) {
        return UnpublishedVersion(record, v);
      }
    }
    state_.aliases[{record.function_name, record.name}] = record;
    return Status::Ok();
  }

  Result<std::vector<AlarmStateRecord>> ListAlarmStates() override {
    std::vector<AlarmStateRecord> out;
    for (const auto& [name, record] : state_.alarm_states) out.push_back(record);
    return out;
  }

  Result<std::optional<AlarmStateRecord>> GetAlarmState(const std::string& name) override {
    auto it = state_.alarm_states.find(name);
    if (it == state_.alarm_states.end()) return std::optional<AlarmStateRecord>();
    return std::optional<AlarmStateRecord>(it->second);
  }

  Status PutAlarmState(const AlarmStateRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("PutAlarmState"));
    CUTOVER_RETURN_IF_ERROR(CheckAlarmStateRecord(record));
    state_.alarm_states[record.name] = record;
    return Status::Ok();
  }

  Status DeleteAlarmState(const std::string& name) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("DeleteAlarmState"));
    state_.alarm_states.erase(name);
    return Status::Ok();
  }

  Status AppendAlarmHistory(const AlarmHistoryRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("AppendAlarmHistory"));
    CUTOVER_RETURN_IF_ERROR(CheckAlarmHistoryRecord(record));
    auto& history = state_.alarm_history;
    history.emplace(
        std::make_tuple(record.name, record.timestamp_ms, state_.next_history_sequence++), record);
    // Everything of this alarm strictly before the cutoff.
    auto first = history.lower_bound(
        std::make_tuple(record.name, std::numeric_limits<int64_t>::min(), uint64_t{0}));
    auto last = history.lower_bound(
        std::make_tuple(record.name, AlarmHistoryCutoffMs(record.timestamp_ms), uint64_t{0}));
    history.erase(first, last);
    return Status::Ok();
  }

  Result<std::vector<AlarmHistoryRecord>> ListAlarmHistory(const std::string& name,
                                                           size_t limit) override {
    std::vector<AlarmHistoryRecord> out;
    if (limit == 0) return out;
    // This alarm's entries are the range [(name, min, 0), (name, max, max)]; walk it backwards.
    const auto& history = state_.alarm_history;
    auto end = history.upper_bound(std::make_tuple(name, std::numeric_limits<int64_t>::max(),
                                                   std::numeric_limits<uint64_t>::max()));
    for (auto it = std::make_reverse_iterator(end);
         it != history.rend() && std::get<0>(it->first) == name && out.size() < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  Status PutMetricRollups(const std::vector<MetricRollupRecord>& records) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("PutMetricRollups"));
    for (const MetricRollupRecord& record : records) {
      CUTOVER_RETURN_IF_ERROR(CheckMetricRollupRecord(record));
    }
    if (records.empty()) return Status::Ok();
    MemoryState::Rollups& rollups = MutableRollups();
    for (const MetricRollupRecord& record : records) {
      rollups[{record.metric, record.minute}] = record.data;
    }
    return Status::Ok();
  }

  Result<std::vector<MetricRollupRecord>> ListMetricRollups(const std::string& metric,
                                                            int64_t from_minute,
                                                            int64_t to_minute) override {
    std::vector<MetricRollupRecord> out;
    if (from_minute >= to_minute) return out;
    const MemoryState::Rollups& rollups = *state_.metric_rollups;
    auto end = rollups.lower_bound({metric, to_minute});
    for (auto it = rollups.lower_bound({metric, from_minute}); it != end; ++it) {
      out.push_back(MetricRollupRecord{it->first.first, it->first.second, it->second});
    }
    return out;
  }

  Status DeleteMetricRollupsBefore(int64_t minute) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("DeleteMetricRollupsBefore"));
    const MemoryState::Rollups& current = *state_.metric_rollups;
    const bool any = std::any_of(current.begin(), current.end(),
                                 [&](const auto& entry) { return entry.first.second < minute; });
    if (!any) return Status::Ok();
    std::erase_if(MutableRollups(), [&](const auto& entry) { return entry.first.second < minute; });
    return Status::Ok();
  }

  Result<std::optional<DeploymentRecord>> GetDeployment(const std::string& id) override {
    auto it = state_.deployments.find(id);
    if (it == state_.deployments.end()) return std::optional<DeploymentRecord>();
    return std::optional<DeploymentRecord>(it->second);
  }

  Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& function_name,
                                                        size_t limit) override {
    std::vector<DeploymentRecord> out;
    for (const auto& [id, record] : state_.deployments) {
      if (function_name.empty() || record.function_name == function_name) out.push_back(record);
    }
    std::sort(out.begin(), out.end(), [](const DeploymentRecord& a, const DeploymentRecord& b) {
      return std::tie(a.created_ms, a.id) > std::tie(b.created_ms, b.id);
    });
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  Result<std::vector<DeploymentRecord>> ListActiveDeployments() override {
    std::vector<DeploymentRecord> out;
    for (const auto& [id, record] : state_.deployments) {
      if (IsActiveDeploymentStatus(record.status)) out.push_back(record);
    }
    std::sort(out.begin(), out.end(), [](const DeploymentRecord& a, const DeploymentRecord& b) {
      return std::tie(a.created_ms, a.id) < std::tie(b.created_ms, b.id);
    });
    return out;
  }

  Status PutDeployment(const DeploymentRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("PutDeployment"));
    CUTOVER_RETURN_IF_ERROR(CheckDeploymentRecord(record));
    if (IsActiveDeploymentStatus(record.status)) {
      for (const auto& [id, other] : state_.deployments) {
        if (id != record.id && other.function_name == record.function_name &&
            other.alias == record.alias && IsActiveDeploymentStatus(other.status)) {
          return AlreadyExists(fmt::format("{}:{} already has an active deployment; {} cannot be",
                                           record.function_name, record.alias, record.id));
        }
      }
    }
    state_.deployments[record.id] = record;
    return Status::Ok();
  }

  Status AppendDeploymentEvent(const DeploymentEventRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("AppendDeploymentEvent"));
    CUTOVER_RETURN_IF_ERROR(CheckDeploymentEventRecord(record));
    if (state_.deployments.count(record.deployment_id) == 0) {
      return FailedPrecondition(fmt::format("no deployment {}", record.deployment_id));
    }
    uint64_t last = 0;
    auto next = state_.deployment_events.lower_bound({record.deployment_id, UINT64_MAX});
    if (next != state_.deployment_events.begin()) {
      auto prev = std::prev(next);
      if (prev->first.first == record.deployment_id) last = prev->first.second;
    }
    if (record.seq != last + 1) {
      return FailedPrecondition(fmt::format("deployment {}: event {} does not follow event {}",
                                            record.deployment_id, record.seq, last));
    }
    state_.deployment_events[{record.deployment_id, record.seq}] = record;
    return Status::Ok();
  }

  Result<std::vector<DeploymentEventRecord>> ListDeploymentEvents(const std::string& deployment_id,
                                                                  uint64_t after_seq) override {
    std::vector<DeploymentEventRecord> out;
    if (after_seq == UINT64_MAX) return out;
    for (auto it = state_.deployment_events.lower_bound({deployment_id, after_seq + 1});
         it != state_.deployment_events.end() && it->first.first == deployment_id; ++it) {
      out.push_back(it->second);
    }
    return out;
  }

 private:
  Status CheckWritable(std::string_view op) const {
    if (!read_only_) return Status::Ok();
    return FailedPrecondition(fmt::format("{} inside a read-only transaction", op));
  }

  // The draft's own copy of the rollups, made on the transaction's first rollup write.
  MemoryState::Rollups& MutableRollups() {
    if (owned_rollups_ == nullptr) {
      auto copy = std::make_shared<MemoryState::Rollups>(*state_.metric_rollups);
      owned_rollups_ = copy.get();
      state_.metric_rollups = std::move(copy);
    }
    return *owned_rollups_;
  }

  MemoryState& state_;
  const bool read_only_;
  MemoryState::Rollups* owned_rollups_ = nullptr;  // points into state_.metric_rollups once owned
};

class MemoryStore final : public StateStore {
 public:
  Status Write(const std::function<Status(StoreTxn&)>& fn) override {
    return Run([&] {
      MemoryState draft = state_;
      MemoryTxn txn(draft, /*read_only=*/false);
      Status st = fn(txn);
      if (st.ok()) state_ = std::move(draft);
      return st;
    });
  }

  Status Read(const std::function<Status(StoreTxn&)>& fn) override {
    return Run([&] {
      MemoryTxn txn(state_, /*read_only=*/true);
      return fn(txn);
    });
  }

 private:
  template <typename Body>
  Status Run(Body body) {
    CUTOVER_RETURN_IF_ERROR(owner_.CheckNotInside());
    std::lock_guard<std::mutex> lock(mu_);
    TxnOwner::Scope inside(owner_);
    return body();
  }

  std::mutex mu_;
  MemoryState state_;  // GUARDED_BY(mu_)
  TxnOwner owner_;     // re-entry is an error, not a deadlock
};

}  // namespace

std::unique_ptr<StateStore> CreateMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace cutover::store
