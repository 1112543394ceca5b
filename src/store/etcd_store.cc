// The StateStore on etcd v3, for a fleet of cutover nodes sharing one state (docs/SCALING.md).
//
// Transactions are optimistic, in the manner of etcd's own STM: the first thing a transaction does
// is read the guard key, which gives it a revision R of the whole keyspace; every read of the
// transaction is then made at R (a consistent snapshot), and writes are buffered in the
// transaction, where later reads see them. At the end, the buffered writes and a write of the guard
// go to etcd in one Txn that holds only if the guard's mod_revision is still the one read at R.
// Every write transaction writes the guard, so the compare fails exactly when another write
// committed since R, from this node or another; the callback then runs again on a new snapshot.
// That makes write transactions serialisable with one compare, at the price of serialising all
// writers of the fleet: they are the control plane's few writes a second, never the request path.
//
// Metric rollups are this node's own (what its gateway saw; the fleet-wide view comes from
// Prometheus), and too many for etcd: they stay in a local SQLite store. An etcd transaction runs
// inside a transaction of the local store, so a callback's rollup reads and writes see each other,
// and the local writes commit only after the etcd Txn did.
//
// Key layout under the prefix (default "/cutover/"); name components are percent-encoded, so they
// never contain '/', and numbers are fixed width, so keys sort as the records do:
//   format                                   "1": what this layout is (refused if newer)
//   txn                                      the guard, written by every write transaction
//   services/<name>/<stage>                  ServiceRecord as JSON
//   versions/<function>/<version:010>        VersionRecord
//   aliases/<function>/<alias>               AliasRecord
//   alarms/<name>                            AlarmStateRecord
//   alarm-history/<name>/<time>/<seq:020>    AlarmHistoryRecord; <time> is the millisecond
//                                            timestamp as 16 hex digits with the sign bit flipped
//   alarm-history-seq                        the next <seq> (orders same-millisecond transitions)
//   deployments/<id>                         DeploymentRecord
//   deployment-events/<id>/<seq:020>         DeploymentEventRecord
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>

#include "store/etcd_client.h"
#include "store/record_checks.h"
#include "store/state_store.h"

namespace cutover::store {
namespace {

namespace json = boost::json;

constexpr char kFormat[] = "1";
// How often a write transaction runs again after losing to another writer before it gives up.
constexpr int kMaxAttempts = 20;

// ---- Keys

// Bytes outside [A-Za-z0-9._~-] as %XX, so a component never holds '/'.
std::string Component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// A timestamp that sorts as bytes the way int64 values sort as numbers.
std::string SortableTime(int64_t ms) {
  return fmt::format("{:016x}", static_cast<uint64_t>(ms) ^ (uint64_t{1} << 63));
}

// ---- Values: JSON objects, readable with etcdctl. Opaque fields may hold any bytes: boost.json
// writes control characters escaped and other bytes as they are, and reads them back with
// allow_invalid_utf8.

std::string Str(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t Int(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

double Real(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr) return 0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return 0;
}

uint32_t U32(const json::object& o, std::string_view k) { return static_cast<uint32_t>(Int(o, k)); }

Result<json::object> ParseValue(const std::string& key, const std::string& value) {
  json::parse_options options;
  options.allow_invalid_utf8 = true;
  json::error_code ec;
  json::value v = json::parse(value, ec, {}, options);
  if (ec || !v.is_object()) {
    return Internal(fmt::format("etcd key {} does not hold a cutover record", key));
  }
  return std::move(v.get_object());
}

std::string ToValue(const ServiceRecord& r) {
  return json::serialize(json::object{{"name", r.name},
                                      {"stage", r.stage},
                                      {"spec_json", r.spec_json},
                                      {"code_sha256", r.code_sha256},
                                      {"updated_ms", r.updated_ms}});
}
ServiceRecord ServiceFrom(const json::object& o) {
  return ServiceRecord{Str(o, "name"), Str(o, "stage"), Str(o, "spec_json"), Str(o, "code_sha256"),
                       Int(o, "updated_ms")};
}

std::string ToValue(const VersionRecord& r) {
  return json::serialize(json::object{{"function_name", r.function_name},
                                      {"version", r.version},
                                      {"service", r.service},
                                      {"stage", r.stage},
                                      {"code_sha256", r.code_sha256},
                                      {"config_sha256", r.config_sha256},
                                      {"config_json", r.config_json},
                                      {"created_ms", r.created_ms}});
}
VersionRecord VersionFrom(const json::object& o) {
  return VersionRecord{Str(o, "function_name"), U32(o, "version"),     Str(o, "service"),
                       Str(o, "stage"),         Str(o, "code_sha256"), Str(o, "config_sha256"),
                       Str(o, "config_json"),   Int(o, "created_ms")};
}

std::string ToValue(const AliasRecord& r) {
  return json::serialize(json::object{{"function_name", r.function_name},
                                      {"name", r.name},
                                      {"primary_version", r.primary_version},
                                      {"additional_version", r.additional_version},
                                      {"additional_weight", r.additional_weight},
                                      {"updated_ms", r.updated_ms}});
}
AliasRecord AliasFrom(const json::object& o) {
  return AliasRecord{Str(o, "function_name"),      Str(o, "name"),
                     U32(o, "primary_version"),    U32(o, "additional_version"),
                     Real(o, "additional_weight"), Int(o, "updated_ms")};
}

std::string ToValue(const AlarmStateRecord& r) {
  return json::serialize(json::object{{"name", r.name},
                                      {"state", r.state},
                                      {"reason", r.reason},
                                      {"reason_data", r.reason_data},
                                      {"updated_ms", r.updated_ms},
                                      {"definition_sha256", r.definition_sha256}});
}
AlarmStateRecord AlarmStateFrom(const json::object& o) {
  return AlarmStateRecord{Str(o, "name"),        Str(o, "state"),      Str(o, "reason"),
                          Str(o, "reason_data"), Int(o, "updated_ms"), Str(o, "definition_sha256")};
}

std::string ToValue(const AlarmHistoryRecord& r) {
  return json::serialize(json::object{{"name", r.name},
                                      {"timestamp_ms", r.timestamp_ms},
                                      {"old_state", r.old_state},
                                      {"new_state", r.new_state},
                                      {"reason", r.reason},
                                      {"reason_data", r.reason_data}});
}
AlarmHistoryRecord AlarmHistoryFrom(const json::object& o) {
  return AlarmHistoryRecord{Str(o, "name"),      Int(o, "timestamp_ms"), Str(o, "old_state"),
                            Str(o, "new_state"), Str(o, "reason"),       Str(o, "reason_data")};
}

std::string ToValue(const DeploymentRecord& r) {
  return json::serialize(json::object{{"id", r.id},
                                      {"function_name", r.function_name},
                                      {"alias", r.alias},
                                      {"status", r.status},
                                      {"created_ms", r.created_ms},
                                      {"updated_ms", r.updated_ms},
                                      {"data", r.data}});
}
DeploymentRecord DeploymentFrom(const json::object& o) {
  return DeploymentRecord{Str(o, "id"),     Str(o, "function_name"), Str(o, "alias"),
                          Str(o, "status"), Int(o, "created_ms"),    Int(o, "updated_ms"),
                          Str(o, "data")};
}

std::string ToValue(const DeploymentEventRecord& r) {
  return json::serialize(json::object{{"deployment_id", r.deployment_id},
                                      {"seq", r.seq},
                                      {"time_ms", r.time_ms},
                                      {"type", r.type},
                                      {"data", r.data}});
}
DeploymentEventRecord DeploymentEventFrom(const json::object& o) {
  return DeploymentEventRecord{Str(o, "deployment_id"), static_cast<uint64_t>(Int(o, "seq")),
                               Int(o, "time_ms"), Str(o, "type"), Str(o, "data")};
}

// ---- The transaction

using KeyValues = std::vector<std::pair<std::string, std::string>>;  // ascending by key

class EtcdTxn final : public StoreTxn {
 public:
  EtcdTxn(const EtcdClient& etcd, const std::string& prefix, StoreTxn& local, bool read_only)
      : etcd_(etcd), prefix_(prefix), local_(local), read_only_(read_only) {}

  // Reads the guard: the snapshot revision every read of this transaction is made at.
  Status Begin() {
    CUTOVER_ASSIGN_OR_RETURN(EtcdRangeResult guard, etcd_.Range(GuardKey(), ""));
    revision_ = guard.revision;
    guard_mod_revision_ = guard.kvs.empty() ? 0 : guard.kvs.front().mod_revision;
    return Status::Ok();
  }

  // The buffered writes (nullopt = delete), and the compare and writes that commit them.
  bool HasWrites() const { return !writes_.empty(); }
  Result<EtcdTxnResult> Commit() {
    std::vector<EtcdWrite> writes;
    writes.reserve(writes_.size() + 1);
    for (const auto& [key, value] : writes_) writes.push_back({key, value});
    writes.push_back({GuardKey(), std::string()});
    return etcd_.Txn({{GuardKey(), guard_mod_revision_}}, writes);
  }

  std::string GuardKey() const { return prefix_ + "txn"; }

  // -- Services

  Result<std::optional<ServiceRecord>> GetService(const std::string& name,
                                                  const std::string& stage) override {
    return GetRecord<ServiceRecord>(ServiceKey(name, stage), ServiceFrom);
  }

  Result<std::vector<ServiceRecord>> ListServices() override {
    CUTOVER_ASSIGN_OR_RETURN(auto out,
                             ListRecords<ServiceRecord>(prefix_ + "services/", ServiceFrom));
    std::sort(out.begin(), out.end(), [](const ServiceRecord& a, const ServiceRecord& b) {
      return std::tie(a.name, a.stage) < std::tie(b.name, b.stage);
    });
    return out;
  }

  Status PutService(const ServiceRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("PutService"));
    CUTOVER_RETURN_IF_ERROR(CheckServiceRecord(record));
    writes_[ServiceKey(record.name, record.stage)] = ToValue(record);
    return Status::Ok();
  }

  Status DeleteService(const std::string& name, const std::string& stage) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("DeleteService"));
    writes_[ServiceKey(name, stage)] = std::nullopt;
    return Status::Ok();
  }

  // -- Versions

  Result<std::optional<VersionRecord>> LatestVersion(const std::string& function_name) override {
    CUTOVER_ASSIGN_OR_RETURN(
        auto all, ListRecords<VersionRecord>(VersionsPrefix(function_name), VersionFrom));
    std::optional<VersionRecord> latest;
    for (VersionRecord& v : all) {
      if (!latest || v.version > latest->version) latest = std::move(v);
    }
    return latest;
  }

  Result<std::optional<VersionRecord>> GetVersion(const std::string& function_name,
                                                  uint32_t version) override {
    return GetRecord<VersionRecord>(VersionKey(function_name, version), VersionFrom);
  }

  Result<std::vector<VersionRecord>> ListVersions(const std::string& function_name) override {
    const std::string prefix =
        function_name.empty() ? prefix_ + "versions/" : VersionsPrefix(function_name);
    CUTOVER_ASSIGN_OR_RETURN(auto out, ListRecords<VersionRecord>(prefix, VersionFrom));
    std::sort(out.begin(), out.end(), [](const VersionRecord& a, const VersionRecord& b) {
      return std::tie(a.function_name, a.version) < std::tie(b.function_name, b.version);
    });
    return out;
  }

  Status InsertVersion(const VersionRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("InsertVersion"));
    CUTOVER_RETURN_IF_ERROR(CheckVersionRecord(record));
    const std::string key = VersionKey(record.function_name, record.version);
    CUTOVER_ASSIGN_OR_RETURN(std::optional<std::string> existing, Get(key));
    if (existing) {
      return AlreadyExists(fmt::format("version {} of {} already exists; versions are immutable",
                                       record.version, record.function_name));
    }
    writes_[key] = ToValue(record);
    return Status::Ok();
  }

  // -- Aliases

  Result<std::optional<AliasRecord>> GetAlias(const std::string& function_name,
                                              const std::string& name) override {
    return GetRecord<AliasRecord>(AliasKey(function_name, name), AliasFrom);
  }

  Result<std::vector<AliasRecord>> ListAliases() override {
    CUTOVER_ASSIGN_OR_RETURN(auto out, ListRecords<AliasRecord>(prefix_ + "aliases/", AliasFrom));
    std::sort(out.begin(), out.end(), [](const AliasRecord& a, const AliasRecord& b) {
      return std::tie(a.function_name, a.name) < std::tie(b.function_name, b.name);
    });
    return out;
  }

  Status PutAlias(const AliasRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("PutAlias"));
    CUTOVER_RETURN_IF_ERROR(CheckAliasRecord(record));
    for (uint32_t v : {record.primary_version, record.additional_version}) {
      if (v == 0) continue;
      CUTOVER_ASSIGN_OR_RETURN(std::optional<std::string> version,
                               Get(VersionKey(record.function_name, v)));
      if (!version) return UnpublishedVersion(record, v);
    }
    writes_[AliasKey(record.function_name, record.name)] = ToValue(record);
    return Status::Ok();
  }

  // -- Alarms

  Result<std::vector<AlarmStateRecord>> ListAlarmStates() override {
    CUTOVER_ASSIGN_OR_RETURN(auto out,
                             ListRecords<AlarmStateRecord>(prefix_ + "alarms/", AlarmStateFrom));
    std::sort(out.begin(), out.end(),
              [](const AlarmStateRecord& a, const AlarmStateRecord& b) { return a.name < b.name; });
    return out;
  }

  Result<std::optional<AlarmStateRecord>> GetAlarmState(const std::string& name) override {
    return GetRecord<AlarmStateRecord>(AlarmKey(name), AlarmStateFrom);
  }

  Status PutAlarmState(const AlarmStateRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("PutAlarmState"));
    CUTOVER_RETURN_IF_ERROR(CheckAlarmStateRecord(record));
    writes_[AlarmKey(record.name)] = ToValue(record);
    return Status::Ok();
  }

  Status DeleteAlarmState(const std::string& name) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("DeleteAlarmState"));
    writes_[AlarmKey(name)] = std::nullopt;
    return Status::Ok();
  }

  Status AppendAlarmHistory(const AlarmHistoryRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("AppendAlarmHistory"));
    CUTOVER_RETURN_IF_ERROR(CheckAlarmHistoryRecord(record));
    const std::string seq_key = prefix_ + "alarm-history-seq";
    CUTOVER_ASSIGN_OR_RETURN(std::optional<std::string> seq_text, Get(seq_key));
    uint64_t seq = 0;
    if (seq_text) seq = std::strtoull(seq_text->c_str(), nullptr, 10);
    writes_[seq_key] = std::to_string(seq + 1);
    const std::string prefix = HistoryPrefix(record.name);
    writes_[fmt::format("{}{}/{:020}", prefix, SortableTime(record.timestamp_ms), seq)] =
        ToValue(record);
    // Everything of this alarm strictly before the cutoff: the keys below its time.
    const std::string cutoff = prefix + SortableTime(AlarmHistoryCutoffMs(record.timestamp_ms));
    CUTOVER_ASSIGN_OR_RETURN(KeyValues entries, List(prefix));
    for (const auto& [key, value] : entries) {
      if (key >= cutoff) break;
      writes_[key] = std::nullopt;
    }
    return Status::Ok();
  }

  Result<std::vector<AlarmHistoryRecord>> ListAlarmHistory(const std::string& name,
                                                           size_t limit) override {
    std::vector<AlarmHistoryRecord> out;
    if (limit == 0) return out;
    // Keys sort by (time, sequence): newest first is the list backwards.
    CUTOVER_ASSIGN_OR_RETURN(KeyValues entries, List(HistoryPrefix(name)));
    for (auto it = entries.rbegin(); it != entries.rend() && out.size() < limit; ++it) {
      CUTOVER_ASSIGN_OR_RETURN(json::object o, ParseValue(it->first, it->second));
      out.push_back(AlarmHistoryFrom(o));
    }
    return out;
  }

  // -- Metric rollups: this node's, in the local store (see the top of the file).

  Status PutMetricRollups(const std::vector<MetricRollupRecord>& records) override {
    return local_.PutMetricRollups(records);
  }

  Result<std::vector<MetricRollupRecord>> ListMetricRollups(const std::string& metric,
                                                            int64_t from_minute,
                                                            int64_t to_minute) override {
    return local_.ListMetricRollups(metric, from_minute, to_minute);
  }

  Status DeleteMetricRollupsBefore(int64_t minute) override {
    return local_.DeleteMetricRollupsBefore(minute);
  }

  // -- Deployments

  Result<std::optional<DeploymentRecord>> GetDeployment(const std::string& id) override {
    return GetRecord<DeploymentRecord>(DeploymentKey(id), DeploymentFrom);
  }

  Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& function_name,
                                                        size_t limit) override {
    CUTOVER_ASSIGN_OR_RETURN(auto all, AllDeployments());
    std::vector<DeploymentRecord> out;
    for (DeploymentRecord& d : all) {
      if (function_name.empty() || d.function_name == function_name) out.push_back(std::move(d));
    }
    std::sort(out.begin(), out.end(), [](const DeploymentRecord& a, const DeploymentRecord& b) {
      return std::tie(a.created_ms, a.id) > std::tie(b.created_ms, b.id);
    });
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  Result<std::vector<DeploymentRecord>> ListActiveDeployments() override {
    CUTOVER_ASSIGN_OR_RETURN(auto all, AllDeployments());
    std::vector<DeploymentRecord> out;
    for (DeploymentRecord& d : all) {
      if (IsActiveDeploymentStatus(d.status)) out.push_back(std::move(d));
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
      CUTOVER_ASSIGN_OR_RETURN(auto all, AllDeployments());
      for (const DeploymentRecord& other : all) {
        if (other.id != record.id && other.function_name == record.function_name &&
            other.alias == record.alias && IsActiveDeploymentStatus(other.status)) {
          return AlreadyExists(fmt::format("{}:{} already has an active deployment; {} cannot be",
                                           record.function_name, record.alias, record.id));
        }
      }
    }
    writes_[DeploymentKey(record.id)] = ToValue(record);
    return Status::Ok();
  }

  Status AppendDeploymentEvent(const DeploymentEventRecord& record) override {
    CUTOVER_RETURN_IF_ERROR(CheckWritable("AppendDeploymentEvent"));
    CUTOVER_RETURN_IF_ERROR(CheckDeploymentEventRecord(record));
    CUTOVER_ASSIGN_OR_RETURN(std::optional<std::string> deployment,
                             Get(DeploymentKey(record.deployment_id)));
    if (!deployment)
      return FailedPrecondition(fmt::format("no deployment {}", record.deployment_id));
    CUTOVER_ASSIGN_OR_RETURN(KeyValues events, List(EventsPrefix(record.deployment_id)));
    uint64_t last = 0;
    if (!events.empty()) {
      CUTOVER_ASSIGN_OR_RETURN(json::object o,
                               ParseValue(events.back().first, events.back().second));
      last = DeploymentEventFrom(o).seq;
    }
    if (record.seq != last + 1) {
      return FailedPrecondition(fmt::format("deployment {}: event {} does not follow event {}",
                                            record.deployment_id, record.seq, last));
    }
    writes_[EventKey(record.deployment_id, record.seq)] = ToValue(record);
    return Status::Ok();
  }

  Result<std::vector<DeploymentEventRecord>> ListDeploymentEvents(const std::string& deployment_id,
                                                                  uint64_t after_seq) override {
    std::vector<DeploymentEventRecord> out;
    if (after_seq == UINT64_MAX) return out;
    // Keys past the one of after_seq; fixed-width sequence numbers sort as numbers.
    const std::string first = EventKey(deployment_id, after_seq + 1);
    CUTOVER_ASSIGN_OR_RETURN(KeyValues events, List(EventsPrefix(deployment_id)));
    for (const auto& [key, value] : events) {
      if (key < first) continue;
      CUTOVER_ASSIGN_OR_RETURN(json::object o, ParseValue(key, value));
      out.push_back(DeploymentEventFrom(o));
    }
    return out;
  }

 private:
  std::string ServiceKey(const std::string& name, const std::string& stage) const {
    return prefix_ + "services/" + Component(name) + "/" + Component(stage);
  }
  std::string VersionsPrefix(const std::string& function_name) const {
    return prefix_ + "versions/" + Component(function_name) + "/";
  }
  std::string VersionKey(const std::string& function_name, uint32_t version) const {
    return fmt::format("{}{:010}", VersionsPrefix(function_name), version);
  }
  std::string AliasKey(const std::string& function_name, const std::string& name) const {
    return prefix_ + "aliases/" + Component(function_name) + "/" + Component(name);
  }
  std::string AlarmKey(const std::string& name) const {
    return prefix_ + "alarms/" + Component(name);
  }
  std::string HistoryPrefix(const std::string& name) const {
    return prefix_ + "alarm-history/" + Component(name) + "/";
  }
  std::string DeploymentKey(const std::string& id) const {
    return prefix_ + "deployments/" + Component(id);
  }
  std::string EventsPrefix(const std::string& id) const {
    return prefix_ + "deployment-events/" + Component(id) + "/";
  }
  std::string EventKey(const std::string& id, uint64_t seq) const {
    return fmt::format("{}{:020}", EventsPrefix(id), seq);
  }

  Status CheckWritable(std::string_view op) const {
    if (!read_only_) return Status::Ok();
    return FailedPrecondition(fmt::format("{} inside a read-only transaction", op));
  }

  // One key at the snapshot, as this transaction's own writes left it.
  Result<std::optional<std::string>> Get(const std::string& key) {
    if (auto w = writes_.find(key); w != writes_.end()) return w->second;
    if (auto c = gets_.find(key); c != gets_.end()) return c->second;
    CUTOVER_ASSIGN_OR_RETURN(EtcdRangeResult r, etcd_.Range(key, "", revision_));
    std::optional<std::string> value;
    if (!r.kvs.empty()) value = std::move(r.kvs.front().value);
    gets_[key] = value;
    return value;
  }

  // Every key under `prefix` at the snapshot, as this transaction's own writes left them.
  Result<KeyValues> List(const std::string& prefix) {
    auto cached = lists_.find(prefix);
    if (cached == lists_.end()) {
      CUTOVER_ASSIGN_OR_RETURN(EtcdRangeResult r,
                               etcd_.Range(prefix, EtcdClient::PrefixEnd(prefix), revision_));
      std::map<std::string, std::string> kvs;
      for (EtcdKeyValue& kv : r.kvs) kvs.emplace(std::move(kv.key), std::move(kv.value));
      cached = lists_.emplace(prefix, std::move(kvs)).first;
    }
    std::map<std::string, std::string> merged = cached->second;
    for (auto w = writes_.lower_bound(prefix);
         w != writes_.end() && w->first.compare(0, prefix.size(), prefix) == 0; ++w) {
      if (w->second) {
        merged[w->first] = *w->second;
      } else {
        merged.erase(w->first);
      }
    }
    return KeyValues(merged.begin(), merged.end());
  }

  template <typename Record, typename From>
  Result<std::optional<Record>> GetRecord(const std::string& key, From from) {
    CUTOVER_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(key));
    if (!value) return std::optional<Record>();
    CUTOVER_ASSIGN_OR_RETURN(json::object o, ParseValue(key, *value));
    return std::optional<Record>(from(o));
  }

  template <typename Record, typename From>
  Result<std::vector<Record>> ListRecords(const std::string& prefix, From from) {
    CUTOVER_ASSIGN_OR_RETURN(KeyValues entries, List(prefix));
    std::vector<Record> out;
    out.reserve(entries.size());
    for (const auto& [key, value] : entries) {
      CUTOVER_ASSIGN_OR_RETURN(json::object o, ParseValue(key, value));
      out.push_back(from(o));
    }
    return out;
  }

  Result<std::vector<DeploymentRecord>> AllDeployments() {
    return ListRecords<DeploymentRecord>(prefix_ + "deployments/", DeploymentFrom);
  }

  const EtcdClient& etcd_;
  const std::string& prefix_;
  StoreTxn& local_;
  const bool read_only_;
  int64_t revision_ = 0;
  int64_t guard_mod_revision_ = 0;
  std::map<std::string, std::optional<std::string>> writes_;         // nullopt = delete
  std::map<std::string, std::optional<std::string>> gets_;           // reads at revision_
  std::map<std::string, std::map<std::string, std::string>> lists_;  // prefix -> keys at revision_
};

// ---- The store

class EtcdStore final : public StateStore {
 public:
  EtcdStore(std::unique_ptr<EtcdClient> etcd, std::string prefix, std::unique_ptr<StateStore> local)
      : etcd_(std::move(etcd)), prefix_(std::move(prefix)), local_(std::move(local)) {}

  Status Write(const std::function<Status(StoreTxn&)>& fn) override {
    CUTOVER_RETURN_IF_ERROR(owner_.CheckNotInside());
    // One writer of this process at a time: what conflicts then is another node's write.
    std::lock_guard<std::mutex> lock(write_mu_);
    TxnOwner::Scope inside(owner_);
    std::minstd_rand jitter(std::random_device{}());
    for (int attempt = 1;; ++attempt) {
      bool lost = false;
      Status st = local_->Write([&](StoreTxn& local) -> Status {
        EtcdTxn txn(*etcd_, prefix_, local, /*read_only=*/false);
        CUTOVER_RETURN_IF_ERROR(txn.Begin());
        CUTOVER_RETURN_IF_ERROR(fn(txn));
        if (!txn.HasWrites()) return Status::Ok();
        CUTOVER_ASSIGN_OR_RETURN(EtcdTxnResult result, txn.Commit());
        if (result.succeeded) return Status::Ok();
        lost = true;  // another write committed since our snapshot: roll back, run again
        return Unavailable("etcd transaction lost to a concurrent write");
      });
      if (!lost) return st;
      if (attempt == kMaxAttempts) {
        return Unavailable(
            fmt::format("etcd at {}: the transaction lost to concurrent writes {} times in a row",
                        etcd_->Describe(), kMaxAttempts));
      }
      // A short random pause, so that two nodes that collided do not collide again in step.
      std::this_thread::sleep_for(std::chrono::microseconds(
          std::uniform_int_distribution<int>(100, 1000 * std::min(attempt, 10))(jitter)));
    }
  }

  Status Read(const std::function<Status(StoreTxn&)>& fn) override {
    CUTOVER_RETURN_IF_ERROR(owner_.CheckNotInside());
    return local_->Read([&](StoreTxn& local) -> Status {
      EtcdTxn txn(*etcd_, prefix_, local, /*read_only=*/true);
      CUTOVER_RETURN_IF_ERROR(txn.Begin());
      return fn(txn);
    });
  }

  // Writes the layout's format on first use; refuses a keyspace written by a newer layout.
  Status CheckFormat() {
    const std::string key = prefix_ + "format";
    CUTOVER_ASSIGN_OR_RETURN(EtcdRangeResult r, etcd_->Range(key, ""));
    if (r.kvs.empty()) {
      CUTOVER_ASSIGN_OR_RETURN(EtcdTxnResult t,
                               etcd_->Txn({{key, 0}}, {{key, std::string(kFormat)}}));
      (void)t;  // lost to another node writing it first: checked below either way
      CUTOVER_ASSIGN_OR_RETURN(r, etcd_->Range(key, ""));
    }
    const std::string format = r.kvs.empty() ? std::string() : r.kvs.front().value;
    if (format != kFormat) {
      return FailedPrecondition(fmt::format(
          "etcd at {}: {} holds format '{}', which this cutover does not know (it writes '{}')",
          etcd_->Describe(), key, format, kFormat));
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<EtcdClient> etcd_;
  const std::string prefix_;
  std::unique_ptr<StateStore> local_;
  std::mutex write_mu_;
  TxnOwner owner_;  // the thread inside Write: a Read or Write from its callback is refused
};

}  // namespace

Result<StoreLocation> ParseStoreLocation(std::string_view text) {
  StoreLocation out;
  if (text.empty() || text == "sqlite") return out;
  constexpr std::string_view kScheme = "etcd://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgument(fmt::format(
        "--store '{}': expected sqlite or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]", text));
  }
  std::string_view rest = text.substr(kScheme.size());
  const size_t slash = rest.find('/');
  out.kind = StoreLocation::Kind::kEtcd;
  out.etcd_endpoints = std::string(rest.substr(0, slash));
  if (out.etcd_endpoints.empty()) {
    return InvalidArgument(fmt::format("--store '{}': no etcd endpoint", text));
  }
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    out.etcd_prefix = std::string(rest.substr(slash));
    if (out.etcd_prefix.back() != '/') out.etcd_prefix += '/';
  }
  // Checked here so that a bad endpoint is a usage error, not a connection failure.
  CUTOVER_ASSIGN_OR_RETURN(auto client, EtcdClient::Create(out.etcd_endpoints));
  (void)client;
  return out;
}

Result<std::unique_ptr<StateStore>> OpenEtcdStore(const StoreLocation& location,
                                                  std::unique_ptr<StateStore> local) {
  HttpClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.io_timeout = std::chrono::milliseconds(10000);
  CUTOVER_ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> etcd,
                           EtcdClient::Create(location.etcd_endpoints, options));
  auto store = std::make_unique<EtcdStore>(std::move(etcd), location.etcd_prefix, std::move(local));
  CUTOVER_RETURN_IF_ERROR(store->CheckFormat());
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace cutover::store
