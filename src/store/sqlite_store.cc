// The SQLite StateStore: one connection, guarded by a mutex, in WAL mode.
//
// Settings and why:
// - journal_mode=WAL: readers never block the writer and vice versa, and a commit is one append
//   to the log instead of a rewrite of the pages.
// - synchronous=FULL: every COMMIT fsyncs the WAL. With NORMAL a committed transaction can vanish
//   on power loss (the database stays consistent, but goes back in time). The daemon commits a
//   deployment transition, then publishes the weights and tells the CLI; losing a commit it
//   already acted on would make a restart replay a different history than the one users saw.
//   Writes come from the control loop (a few transactions per second at most, never one per
//   request), so one fsync per commit is cheap.
// - busy_timeout: another process holding the write lock (a second daemon pointed at the same
//   --data by mistake, a sqlite3 shell) makes us wait a little, then fail with Unavailable.
// - foreign_keys=ON: an alias can only point at published versions (see sqlite_schema.cc).
// - Extended result codes: so a duplicate key is told apart from a failed CHECK.
#include <fmt/core.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/clock.h"
#include "store/record_checks.h"
#include "store/sqlite_schema.h"
#include "store/state_store.h"

namespace cutover::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// A cached prepared statement in use. Resets and clears its bindings when it goes out of scope, so
// a statement never stays active across calls (an active statement would make COMMIT fail).
class Stmt final {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Stmt(Stmt&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  // Parameters are 1-based, as in SQLite.
  Stmt& Text(int index, std::string_view value) {
    Note(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                             SQLITE_UTF8));
    return *this;
  }
  Stmt& Int(int index, int64_t value) {
    Note(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Stmt& Real(int index, double value) {
    Note(sqlite3_bind_double(stmt_, index, value));
    return *this;
  }
  Stmt& Blob(int index, std::string_view value) {
    // A null pointer would bind NULL, not an empty blob.
    static const char kEmpty = 0;
    Note(sqlite3_bind_blob64(stmt_, index, value.empty() ? &kEmpty : value.data(), value.size(),
                             SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& Null(int index) {
    Note(sqlite3_bind_null(stmt_, index));
    return *this;
  }

  // True when a row is ready, false when the statement is done.
  Result<bool> Step(std::string_view what) {
    if (bind_rc_ != SQLITE_OK) return SqliteStatus(db_, bind_rc_, what);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteStatus(db_, rc, what);
  }

  // For statements that return no rows.
  Status Run(std::string_view what) {
    Result<bool> r = Step(what);
    if (!r.ok()) return r.status();
    return Status::Ok();
  }

  std::string ColumnText(int col) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (text == nullptr) return {};
    return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::string ColumnBlob(int col) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    if (data == nullptr) return {};
    return std::string(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  int64_t ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
  double ColumnReal(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
  void Note(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// Row readers; the SELECTs below list their columns in this order.
ServiceRecord ServiceFromRow(const Stmt& s) {
  ServiceRecord r;
  r.name = s.ColumnText(0);
  r.stage = s.ColumnText(1);
  r.spec_json = s.ColumnText(2);
  r.code_sha256 = s.ColumnText(3);
  r.updated_ms = s.ColumnInt(4);
  return r;
}

VersionRecord VersionFromRow(const Stmt& s) {
  VersionRecord r;
  r.function_name = s.ColumnText(0);
  r.version = static_cast<uint32_t>(s.ColumnInt(1));
  r.service = s.ColumnText(2);
  r.stage = s.ColumnText(3);
  r.code_sha256 = s.ColumnText(4);
  r.config_sha256 = s.ColumnText(5);
  r.config_json = s.ColumnText(6);
  r.created_ms = s.ColumnInt(7);
  return r;
}

AliasRecord AliasFromRow(const Stmt& s) {
  AliasRecord r;
  r.function_name = s.ColumnText(0);
  r.name = s.ColumnText(1);
  r.primary_version = static_cast<uint32_t>(s.ColumnInt(2));
  r.additional_version = static_cast<uint32_t>(s.ColumnInt(3));  // NULL reads as 0
  r.additional_weight = s.ColumnReal(4);
  r.updated_ms = s.ColumnInt(5);
  return r;
}

AlarmStateRecord AlarmStateFromRow(const Stmt& s) {
  AlarmStateRecord r;
  r.name = s.ColumnText(0);
  r.state = s.ColumnText(1);
  r.reason = s.ColumnText(2);
  r.reason_data = s.ColumnText(3);
  r.updated_ms = s.ColumnInt(4);
  r.definition_sha256 = s.ColumnText(5);
  return r;
}

AlarmHistoryRecord AlarmHistoryFromRow(const Stmt& s) {
  AlarmHistoryRecord r;
  r.name = s.ColumnText(0);
  r.timestamp_ms = s.ColumnInt(1);
  r.old_state = s.ColumnText(2);
  r.new_state = s.ColumnText(3);
  r.reason = s.ColumnText(4);
  r.reason_data = s.ColumnText(5);
  return r;
}

MetricRollupRecord MetricRollupFromRow(const Stmt& s) {
  MetricRollupRecord r;
  r.metric = s.ColumnText(0);
  r.minute = s.ColumnInt(1);
  r.data = s.ColumnBlob(2);
  return r;
}

DeploymentRecord DeploymentFromRow(const Stmt& s) {
  DeploymentRecord r;
  r.id = s.ColumnText(0);
  r.function_name = s.ColumnText(1);
  r.alias = s.ColumnText(2);
  r.status = s.ColumnText(3);
  r.created_ms = s.ColumnInt(4);
  r.updated_ms = s.ColumnInt(5);
  r.data = s.ColumnText(6);
  return r;
}

DeploymentEventRecord DeploymentEventFromRow(const Stmt& s) {
  DeploymentEventRecord r;
  r.deployment_id = s.ColumnText(0);
  r.seq = static_cast<uint64_t>(s.ColumnInt(1));
  r.time_ms = s.ColumnInt(2);
  r.type = s.ColumnText(3);
  r.data = s.ColumnText(4);
  return r;
}

class SqliteStore;

// The StoreTxn handed to a Write or Read callback. Lives only for the callback's duration.
class SqliteTxn final : public StoreTxn {
 public:
  SqliteTxn(SqliteStore& store, bool read_only) : store_(store), read_only_(read_only) {}

  Result<std::optional<ServiceRecord>> GetService(const std::string& name,
                                                  const std::string& stage) override;
  Result<std::vector<ServiceRecord>> ListServices() override;
  Status PutService(const ServiceRecord& record) override;
  Status DeleteService(const std::string& name, const std::string& stage) override;

  Result<std::optional<VersionRecord>> LatestVersion(const std::string& function_name) override;
  Result<std::optional<VersionRecord>> GetVersion(const std::string& function_name,
                                                  uint32_t version) override;
  Result<std::vector<VersionRecord>> ListVersions(const std::string& function_name) override;
  Status InsertVersion(const VersionRecord& record) override;

  Result<std::optional<AliasRecord>> GetAlias(const std::string& function_name,
                                              const std::string& name) override;
  Result<std::vector<AliasRecord>> ListAliases() override;
  Status PutAlias(const AliasRecord& record) override;

  Result<std::vector<AlarmStateRecord>> ListAlarmStates() override;
  Result<std::optional<AlarmStateRecord>> GetAlarmState(const std::string& name) override;
  Status PutAlarmState(const AlarmStateRecord& record) override;
  Status DeleteAlarmState(const std::string& name) override;
  Status AppendAlarmHistory(const AlarmHistoryRecord& record) override;
  Result<std::vector<AlarmHistoryRecord>> ListAlarmHistory(const std::string& name,
                                                           size_t limit) override;

  Status PutMetricRollups(const std::vector<MetricRollupRecord>& records) override;
  Result<std::vector<MetricRollupRecord>> ListMetricRollups(const std::string& metric,
                                                            int64_t from_minute,
                                                            int64_t to_minute) override;
  Status DeleteMetricRollupsBefore(int64_t minute) override;

  Result<std::optional<DeploymentRecord>> GetDeployment(const std::string& id) override;
  Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& function_name,
                                                        size_t limit) override;
  Result<std::vector<DeploymentRecord>> ListActiveDeployments() override;
  Status PutDeployment(const DeploymentRecord& record) override;
  Status AppendDeploymentEvent(const DeploymentEventRecord& record) override;
  Result<std::vector<DeploymentEventRecord>> ListDeploymentEvents(const std::string& deployment_id,
                                                                  uint64_t after_seq) override;

 private:
  Result<std::vector<DeploymentRecord>> ReadDeployments(Stmt& s);
  Status CheckWritable(std::string_view op) const {
    if (!read_only_) return Status::Ok();
    return FailedPrecondition(fmt::format("{} inside a read-only transaction", op));
  }
  Result<bool> VersionExists(const std::string& function_name, uint32_t version);

  SqliteStore& store_;
  const bool read_only_;
};

class SqliteStore final : public StateStore {
 public:
  static Result<std::unique_ptr<StateStore>> Open(const std::filesystem::path& path);

  ~SqliteStore() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  Status Write(const std::function<Status(StoreTxn&)>& fn) override { return Run(fn, false); }
  Status Read(const std::function<Status(StoreTxn&)>& fn) override { return Run(fn, true); }

  // A prepared statement for `sql`, prepared once and kept for the life of the connection.
  // REQUIRES: mu_ held (only called from inside a transaction). `sql` has static storage: the cache
  // keeps the view as its key.
  Result<Stmt> Prepare(std::string_view sql);

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}

  Status Run(const std::function<Status(StoreTxn&)>& fn, bool read_only);
  Status Exec(const char* sql, std::string_view what);

  std::mutex mu_;
  // GUARDED_BY(mu_): the connection, and its prepared statements keyed by their SQL text.
  sqlite3* const db_;
  std::unordered_map<std::string_view, sqlite3_stmt*> statements_;
  // The thread inside a transaction, so a callback that calls back into the store gets an error
  // instead of a deadlock.
  TxnOwner owner_;
};

Result<std::unique_ptr<StateStore>> SqliteStore::Open(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return Unavailable(fmt::format("cannot create the directory of the state database {}: {}",
                                     path.string(), ec.message()));
    }
  }
  sqlite3* raw = nullptr;
  // NOMUTEX: the connection is only used under mu_, so SQLite's own mutex would be redundant.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteStatus(raw, rc, fmt::format("opening {}", path.string()));
    sqlite3_close(raw);
    return st;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(raw));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);

  // journal_mode answers with the mode in force; anything but "wal" (a filesystem without shared
  // memory, for instance) would silently lose the concurrency the daemon is built on.
  {
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(raw, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(raw, rc, "setting journal_mode");
    rc = sqlite3_step(stmt);
    std::string mode;
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) return SqliteStatus(raw, rc, "setting journal_mode");
    if (mode != "wal") {
      return FailedPrecondition(fmt::format(
          "state database {} cannot use WAL mode (journal_mode is '{}')", path.string(), mode));
    }
  }
  CUTOVER_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL", "setting synchronous"));
  CUTOVER_RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON", "enabling foreign keys"));
  CUTOVER_RETURN_IF_ERROR(MigrateSchema(raw, ToEpochMillis(RealClock().Now()))
                              .WithPrefix(fmt::format("state database {}", path.string())));
  return std::unique_ptr<StateStore>(std::move(store));
}

Status SqliteStore::Exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, what);
  return Status::Ok();
}

Result<Stmt> SqliteStore::Prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, fmt::format("preparing '{}'", sql));
    it = statements_.emplace(sql, stmt).first;
  }
  return Stmt(db_, it->second);
}

Status SqliteStore::Run(const std::function<Status(StoreTxn&)>& fn, bool read_only) {
  CUTOVER_RETURN_IF_ERROR(owner_.CheckNotInside());
  std::lock_guard<std::mutex> lock(mu_);
  TxnOwner::Scope inside(owner_);
  // Ends the transaction whatever happens below, including an exception thrown by `fn`.
  struct Finish {
    SqliteStore* store;
    ~Finish() {
      if (sqlite3_get_autocommit(store->db_) == 0) {
        (void)store->Exec("ROLLBACK", "rolling back");
      }
    }
  } finish{this};

  // IMMEDIATE takes the write lock up front: a read-then-write transaction can then never fail half
  // way with SQLITE_BUSY because another connection wrote in between.
  CUTOVER_RETURN_IF_ERROR(
      Exec(read_only ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE", "beginning a transaction"));
  SqliteTxn txn(*this, read_only);
  Status st = fn(txn);
  if (!st.ok()) return st;  // Finish rolls back.
  return Exec("COMMIT", "committing");
}

// Statements, prepared once per connection (the cache is keyed by the text).

constexpr std::string_view kGetService =
    "SELECT name, stage, spec_json, code_sha256, updated_ms FROM services "
    "WHERE name = ?1 AND stage = ?2";
constexpr std::string_view kListServices =
    "SELECT name, stage, spec_json, code_sha256, updated_ms FROM services ORDER BY name, stage";
constexpr std::string_view kPutService =
    "INSERT INTO services (name, stage, spec_json, code_sha256, updated_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (name, stage) DO UPDATE SET spec_json = excluded.spec_json, "
    "code_sha256 = excluded.code_sha256, updated_ms = excluded.updated_ms";
constexpr std::string_view kDeleteService = "DELETE FROM services WHERE name = ?1 AND stage = ?2";

constexpr std::string_view kLatestVersion =
    "SELECT function_name, version, service, stage, code_sha256, config_sha256, config_json, "
    "created_ms FROM versions WHERE function_name = ?1 ORDER BY version DESC LIMIT 1";
constexpr std::string_view kGetVersion =
    "SELECT function_name, version, service, stage, code_sha256, config_sha256, config_json, "
    "created_ms FROM versions WHERE function_name = ?1 AND version = ?2";
constexpr std::string_view kListVersionsOf =
    "SELECT function_name, version, service, stage, code_sha256, config_sha256, config_json, "
    "created_ms FROM versions WHERE function_name = ?1 ORDER BY version";
constexpr std::string_view kListAllVersions =
    "SELECT function_name, version, service, stage, code_sha256, config_sha256, config_json, "
    "created_ms FROM versions ORDER BY function_name, version";
constexpr std::string_view kVersionExists =
    "SELECT 1 FROM versions WHERE function_name = ?1 AND version = ?2";
constexpr std::string_view kInsertVersion =
    "INSERT INTO versions (function_name, version, service, stage, code_sha256, config_sha256, "
    "config_json, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

constexpr std::string_view kGetAlias =
    "SELECT function_name, name, primary_version, additional_version, additional_weight, "
    "updated_ms "
    "FROM aliases WHERE function_name = ?1 AND name = ?2";
constexpr std::string_view kListAliases =
    "SELECT function_name, name, primary_version, additional_version, additional_weight, "
    "updated_ms "
    "FROM aliases ORDER BY function_name, name";
constexpr std::string_view kPutAlias =
    "INSERT INTO aliases (function_name, name, primary_version, additional_version, "
    "additional_weight, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (function_name, name) DO UPDATE SET primary_version = excluded.primary_version, "
    "additional_version = excluded.additional_version, "
    "additional_weight = excluded.additional_weight, updated_ms = excluded.updated_ms";

constexpr std::string_view kListAlarmStates =
    "SELECT name, state, reason, reason_data, updated_ms, definition_sha256 FROM alarm_states "
    "ORDER BY name";
constexpr std::string_view kGetAlarmState =
    "SELECT name, state, reason, reason_data, updated_ms, definition_sha256 FROM alarm_states "
    "WHERE name = ?1";
constexpr std::string_view kPutAlarmState =
    "INSERT INTO alarm_states (name, state, reason, reason_data, updated_ms, definition_sha256) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (name) DO UPDATE SET state = excluded.state, reason = excluded.reason, "
    "reason_data = excluded.reason_data, updated_ms = excluded.updated_ms, "
    "definition_sha256 = excluded.definition_sha256";
constexpr std::string_view kDeleteAlarmState = "DELETE FROM alarm_states WHERE name = ?1";

// `id` breaks ties between transitions of the same millisecond (see sqlite_schema.cc).
constexpr std::string_view kAppendAlarmHistory =
    "INSERT INTO alarm_history (name, timestamp_ms, old_state, new_state, reason, reason_data) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr std::string_view kPruneAlarmHistory =
    "DELETE FROM alarm_history WHERE name = ?1 AND timestamp_ms < ?2";
constexpr std::string_view kListAlarmHistory =
    "SELECT name, timestamp_ms, old_state, new_state, reason, reason_data FROM alarm_history "
    "WHERE name = ?1 ORDER BY timestamp_ms DESC, id DESC LIMIT ?2";

constexpr std::string_view kPutMetricRollup =
    "INSERT INTO metric_rollups (metric, minute, data) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (metric, minute) DO UPDATE SET data = excluded.data";
constexpr std::string_view kListMetricRollups =
    "SELECT metric, minute, data FROM metric_rollups "
    "WHERE metric = ?1 AND minute >= ?2 AND minute < ?3 ORDER BY minute";
constexpr std::string_view kDeleteMetricRollupsBefore =
    "DELETE FROM metric_rollups WHERE minute < ?1";

// Statements are cached by their text's address (SqliteStore::Prepare), so each is one literal.
#define CUTOVER_DEPLOYMENT_COLUMNS \
  "SELECT id, function_name, alias, status, created_ms, updated_ms, data FROM deployments "
constexpr std::string_view kGetDeployment = CUTOVER_DEPLOYMENT_COLUMNS "WHERE id = ?1";
constexpr std::string_view kListDeployments =
    CUTOVER_DEPLOYMENT_COLUMNS
    "WHERE ?1 = '' OR function_name = ?1 ORDER BY created_ms DESC, id DESC LIMIT ?2";
// The same status list as the partial index deployments_one_active, so SQLite can use it.
constexpr std::string_view kListActiveDeployments =
    CUTOVER_DEPLOYMENT_COLUMNS
    "WHERE status IN ('Created', 'Queued', 'InProgress', 'Baking', 'Ready') "
    "ORDER BY created_ms, id";
#undef CUTOVER_DEPLOYMENT_COLUMNS
constexpr std::string_view kPutDeployment =
    "INSERT INTO deployments (id, function_name, alias, status, created_ms, updated_ms, data) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (id) DO UPDATE SET function_name = excluded.function_name, "
    "alias = excluded.alias, status = excluded.status, created_ms = excluded.created_ms, "
    "updated_ms = excluded.updated_ms, data = excluded.data";
constexpr std::string_view kLastDeploymentEvent =
    "SELECT coalesce(max(seq), 0), (SELECT count(*) FROM deployments WHERE id = ?1) "
    "FROM deployment_events WHERE deployment_id = ?1";
constexpr std::string_view kAppendDeploymentEvent =
    "INSERT INTO deployment_events (deployment_id, seq, time_ms, type, data) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr std::string_view kListDeploymentEvents =
    "SELECT deployment_id, seq, time_ms, type, data FROM deployment_events "
    "WHERE deployment_id = ?1 AND seq > ?2 ORDER BY seq";

Result<std::optional<ServiceRecord>> SqliteTxn::GetService(const std::string& name,
                                                           const std::string& stage) {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kGetService));
  s.Text(1, name).Text(2, stage);
  CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("reading a service"));
  if (!row) return std::optional<ServiceRecord>();
  return std::optional<ServiceRecord>(ServiceFromRow(s));
}

Result<std::vector<ServiceRecord>> SqliteTxn::ListServices() {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kListServices));
  std::vector<ServiceRecord> out;
  while (true) {
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("listing services"));
    if (!row) break;
    out.push_back(ServiceFromRow(s));
  }
  return out;
}

Status SqliteTxn::PutService(const ServiceRecord& record) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("PutService"));
  CUTOVER_RETURN_IF_ERROR(CheckServiceRecord(record));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kPutService));
  s.Text(1, record.name)
      .Text(2, record.stage)
      .Text(3, record.spec_json)
      .Text(4, record.code_sha256)
      .Int(5, record.updated_ms);
  return s.Run("writing a service");
}

Status SqliteTxn::DeleteService(const std::string& name, const std::string& stage) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("DeleteService"));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kDeleteService));
  s.Text(1, name).Text(2, stage);
  CUTOVER_RETURN_IF_ERROR(s.Run("deleting a service"));
  return Status::Ok();
}

Result<std::optional<VersionRecord>> SqliteTxn::LatestVersion(const std::string& function_name) {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kLatestVersion));
  s.Text(1, function_name);
  CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("reading the latest version"));
  if (!row) return std::optional<VersionRecord>();
  return std::optional<VersionRecord>(VersionFromRow(s));
}

Result<std::optional<VersionRecord>> SqliteTxn::GetVersion(const std::string& function_name,
                                                           uint32_t version) {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kGetVersion));
  s.Text(1, function_name).Int(2, version);
  CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("reading a version"));
  if (!row) return std::optional<VersionRecord>();
  return std::optional<VersionRecord>(VersionFromRow(s));
}

Result<std::vector<VersionRecord>> SqliteTxn::ListVersions(const std::string& function_name) {
  CUTOVER_ASSIGN_OR_RETURN(
      Stmt s, store_.Prepare(function_name.empty() ? kListAllVersions : kListVersionsOf));
  if (!function_name.empty()) s.Text(1, function_name);
  std::vector<VersionRecord> out;
  while (true) {
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("listing versions"));
    if (!row) break;
    out.push_back(VersionFromRow(s));
  }
  return out;
}

Status SqliteTxn::InsertVersion(const VersionRecord& record) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("InsertVersion"));
  CUTOVER_RETURN_IF_ERROR(CheckVersionRecord(record));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kInsertVersion));
  s.Text(1, record.function_name)
      .Int(2, record.version)
      .Text(3, record.service)
      .Text(4, record.stage)
      .Text(5, record.code_sha256)
      .Text(6, record.config_sha256)
      .Text(7, record.config_json)
      .Int(8, record.created_ms);
  Status st = s.Run("inserting a version");
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("version {} of {} already exists; versions are immutable",
                                     record.version, record.function_name));
  }
  return st;
}

Result<bool> SqliteTxn::VersionExists(const std::string& function_name, uint32_t version) {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kVersionExists));
  s.Text(1, function_name).Int(2, version);
  return s.Step("checking a version");
}

Result<std::optional<AliasRecord>> SqliteTxn::GetAlias(const std::string& function_name,
                                                       const std::string& name) {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kGetAlias));
  s.Text(1, function_name).Text(2, name);
  CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("reading an alias"));
  if (!row) return std::optional<AliasRecord>();
  return std::optional<AliasRecord>(AliasFromRow(s));
}

Result<std::vector<AliasRecord>> SqliteTxn::ListAliases() {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kListAliases));
  std::vector<AliasRecord> out;
  while (true) {
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("listing aliases"));
    if (!row) break;
    out.push_back(AliasFromRow(s));
  }
  return out;
}

Status SqliteTxn::PutAlias(const AliasRecord& record) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("PutAlias"));
  CUTOVER_RETURN_IF_ERROR(CheckAliasRecord(record));
  // The foreign keys enforce this too; checking first gives a message that names the version.
  for (uint32_t v : {record.primary_version, record.additional_version}) {
    if (v == 0) continue;
    CUTOVER_ASSIGN_OR_RETURN(bool exists, VersionExists(record.function_name, v));
    if (!exists) return UnpublishedVersion(record, v);
  }
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kPutAlias));
  s.Text(1, record.function_name)
      .Text(2, record.name)
      .Int(3, record.primary_version)
      .Real(5, record.additional_weight)
      .Int(6, record.updated_ms);
  if (record.additional_version == 0) {
    s.Null(4);
  } else {
    s.Int(4, record.additional_version);
  }
  return s.Run("writing an alias");
}

Result<std::vector<AlarmStateRecord>> SqliteTxn::ListAlarmStates() {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kListAlarmStates));
  std::vector<AlarmStateRecord> out;
  while (true) {
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("listing alarm states"));
    if (!row) break;
    out.push_back(AlarmStateFromRow(s));
  }
  return out;
}

Result<std::optional<AlarmStateRecord>> SqliteTxn::GetAlarmState(const std::string& name) {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kGetAlarmState));
  s.Text(1, name);
  CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("reading an alarm state"));
  if (!row) return std::optional<AlarmStateRecord>();
  return std::optional<AlarmStateRecord>(AlarmStateFromRow(s));
}

Status SqliteTxn::PutAlarmState(const AlarmStateRecord& record) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("PutAlarmState"));
  CUTOVER_RETURN_IF_ERROR(CheckAlarmStateRecord(record));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kPutAlarmState));
  s.Text(1, record.name)
      .Text(2, record.state)
      .Text(3, record.reason)
      .Text(4, record.reason_data)
      .Int(5, record.updated_ms)
      .Text(6, record.definition_sha256);
  return s.Run("writing an alarm state");
}

Status SqliteTxn::DeleteAlarmState(const std::string& name) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("DeleteAlarmState"));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kDeleteAlarmState));
  s.Text(1, name);
  return s.Run("deleting an alarm state");
}

Status SqliteTxn::AppendAlarmHistory(const AlarmHistoryRecord& record) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("AppendAlarmHistory"));
  CUTOVER_RETURN_IF_ERROR(CheckAlarmHistoryRecord(record));
  {
    CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kAppendAlarmHistory));
    s.Text(1, record.name)
        .Int(2, record.timestamp_ms)
        .Text(3, record.old_state)
        .Text(4, record.new_state)
        .Text(5, record.reason)
        .Text(6, record.reason_data);
    CUTOVER_RETURN_IF_ERROR(s.Run("appending alarm history"));
  }
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kPruneAlarmHistory));
  s.Text(1, record.name).Int(2, AlarmHistoryCutoffMs(record.timestamp_ms));
  return s.Run("pruning alarm history");
}

Result<std::vector<AlarmHistoryRecord>> SqliteTxn::ListAlarmHistory(const std::string& name,
                                                                    size_t limit) {
  std::vector<AlarmHistoryRecord> out;
  if (limit == 0) return out;
  // SQLite reads a negative LIMIT as "no limit"; clamp so a huge size_t cannot wrap to one.
  const auto sql_limit = static_cast<int64_t>(
      std::min<uint64_t>(limit, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kListAlarmHistory));
  s.Text(1, name).Int(2, sql_limit);
  while (true) {
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("listing alarm history"));
    if (!row) break;
    out.push_back(AlarmHistoryFromRow(s));
  }
  return out;
}

Status SqliteTxn::PutMetricRollups(const std::vector<MetricRollupRecord>& records) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("PutMetricRollups"));
  for (const MetricRollupRecord& record : records) {
    CUTOVER_RETURN_IF_ERROR(CheckMetricRollupRecord(record));
  }
  for (const MetricRollupRecord& record : records) {
    CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kPutMetricRollup));
    s.Text(1, record.metric).Int(2, record.minute).Blob(3, record.data);
    CUTOVER_RETURN_IF_ERROR(s.Run("writing a metric rollup"));
  }
  return Status::Ok();
}

Result<std::vector<MetricRollupRecord>> SqliteTxn::ListMetricRollups(const std::string& metric,
                                                                     int64_t from_minute,
                                                                     int64_t to_minute) {
  std::vector<MetricRollupRecord> out;
  if (from_minute >= to_minute) return out;
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kListMetricRollups));
  s.Text(1, metric).Int(2, from_minute).Int(3, to_minute);
  while (true) {
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("listing metric rollups"));
    if (!row) break;
    out.push_back(MetricRollupFromRow(s));
  }
  return out;
}

Status SqliteTxn::DeleteMetricRollupsBefore(int64_t minute) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("DeleteMetricRollupsBefore"));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kDeleteMetricRollupsBefore));
  s.Int(1, minute);
  return s.Run("deleting old metric rollups");
}

Result<std::vector<DeploymentRecord>> SqliteTxn::ReadDeployments(Stmt& s) {
  std::vector<DeploymentRecord> out;
  while (true) {
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("reading deployments"));
    if (!row) break;
    out.push_back(DeploymentFromRow(s));
  }
  return out;
}

Result<std::optional<DeploymentRecord>> SqliteTxn::GetDeployment(const std::string& id) {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kGetDeployment));
  s.Text(1, id);
  CUTOVER_ASSIGN_OR_RETURN(auto rows, ReadDeployments(s));
  if (rows.empty()) return std::optional<DeploymentRecord>();
  return std::optional<DeploymentRecord>(std::move(rows.front()));
}

Result<std::vector<DeploymentRecord>> SqliteTxn::ListDeployments(const std::string& function_name,
                                                                 size_t limit) {
  if (limit == 0) return std::vector<DeploymentRecord>();
  const auto sql_limit = static_cast<int64_t>(
      std::min<uint64_t>(limit, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kListDeployments));
  s.Text(1, function_name).Int(2, sql_limit);
  return ReadDeployments(s);
}

Result<std::vector<DeploymentRecord>> SqliteTxn::ListActiveDeployments() {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kListActiveDeployments));
  return ReadDeployments(s);
}

Status SqliteTxn::PutDeployment(const DeploymentRecord& record) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("PutDeployment"));
  CUTOVER_RETURN_IF_ERROR(CheckDeploymentRecord(record));
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kPutDeployment));
  s.Text(1, record.id)
      .Text(2, record.function_name)
      .Text(3, record.alias)
      .Text(4, record.status)
      .Int(5, record.created_ms)
      .Int(6, record.updated_ms)
      .Text(7, record.data);
  Status st = s.Run("writing a deployment");
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("{}:{} already has an active deployment; {} cannot be",
                                     record.function_name, record.alias, record.id));
  }
  return st;
}

Status SqliteTxn::AppendDeploymentEvent(const DeploymentEventRecord& record) {
  CUTOVER_RETURN_IF_ERROR(CheckWritable("AppendDeploymentEvent"));
  CUTOVER_RETURN_IF_ERROR(CheckDeploymentEventRecord(record));
  {
    CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kLastDeploymentEvent));
    s.Text(1, record.deployment_id);
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("reading a deployment's last event"));
    if (!row || s.ColumnInt(1) == 0) {
      return FailedPrecondition(fmt::format("no deployment {}", record.deployment_id));
    }
    const auto last = static_cast<uint64_t>(s.ColumnInt(0));
    if (record.seq != last + 1) {
      return FailedPrecondition(fmt::format("deployment {}: event {} does not follow event {}",
                                            record.deployment_id, record.seq, last));
    }
  }
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kAppendDeploymentEvent));
  s.Text(1, record.deployment_id)
      .Int(2, static_cast<int64_t>(record.seq))
      .Int(3, record.time_ms)
      .Text(4, record.type)
      .Text(5, record.data);
  return s.Run("appending a deployment event");
}

Result<std::vector<DeploymentEventRecord>> SqliteTxn::ListDeploymentEvents(
    const std::string& deployment_id, uint64_t after_seq) {
  CUTOVER_ASSIGN_OR_RETURN(Stmt s, store_.Prepare(kListDeploymentEvents));
  s.Text(1, deployment_id).Int(2, static_cast<int64_t>(std::min<uint64_t>(
                                      after_seq, std::numeric_limits<int64_t>::max())));
  std::vector<DeploymentEventRecord> out;
  while (true) {
    CUTOVER_ASSIGN_OR_RETURN(bool row, s.Step("listing deployment events"));
    if (!row) break;
    out.push_back(DeploymentEventFromRow(s));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<StateStore>> OpenSqliteStore(const std::filesystem::path& path) {
  return SqliteStore::Open(path);
}

}  // namespace cutover::store
