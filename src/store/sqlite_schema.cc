#include "store/sqlite_schema.h"

#include <fmt/core.h>

#include <array>

namespace cutover::store {
namespace {

// Version 1: services, versions, aliases.
// - Versions are keyed by (function_name, version) and never updated: that key is what makes a
//   second insert of the same version fail with SQLITE_CONSTRAINT_PRIMARYKEY (AlreadyExists).
// - An alias may only point at published versions. additional_version is NULL when there is
//   none, so the composite foreign key is satisfied (SQL's MATCH SIMPLE) without a version 0 row.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE services (
  name        TEXT    NOT NULL CHECK (name <> ''),
  stage       TEXT    NOT NULL CHECK (stage <> ''),
  spec_json   TEXT    NOT NULL,
  code_sha256 TEXT    NOT NULL,
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (name, stage)
) WITHOUT ROWID;

CREATE TABLE versions (
  function_name TEXT    NOT NULL CHECK (function_name <> ''),
  version       INTEGER NOT NULL CHECK (version >= 1),
  service       TEXT    NOT NULL,
  stage         TEXT    NOT NULL,
  code_sha256   TEXT    NOT NULL,
  config_sha256 TEXT    NOT NULL,
  config_json   TEXT    NOT NULL,
  created_ms    INTEGER NOT NULL,
  PRIMARY KEY (function_name, version)
) WITHOUT ROWID;

CREATE TABLE aliases (
  function_name      TEXT    NOT NULL CHECK (function_name <> ''),
  name               TEXT    NOT NULL CHECK (name <> ''),
  primary_version    INTEGER NOT NULL,
  additional_version INTEGER,
  additional_weight  REAL    NOT NULL CHECK (additional_weight >= 0.0 AND additional_weight <= 1.0),
  updated_ms         INTEGER NOT NULL,
  PRIMARY KEY (function_name, name),
  FOREIGN KEY (function_name, primary_version) REFERENCES versions (function_name, version),
  FOREIGN KEY (function_name, additional_version) REFERENCES versions (function_name, version)
) WITHOUT ROWID;
)sql";

// Version 2: CloudWatch-style alarm states and their transition history.
// - alarm_states holds one row per alarm, keyed by its name.
// - alarm_history is append-only apart from the two-week pruning (AppendAlarmHistory). Several
//   transitions can share a millisecond, so its key is its own rowid (`id`), which also orders
//   same-millisecond transitions by insertion: a new rowid is always above every id in the table.
//   The index serves both "newest first for one alarm" (its entries carry the rowid, so ORDER BY
//   timestamp_ms DESC, id DESC needs no sort) and the pruning range delete.
// - No foreign key between them: an alarm's history outlives its deletion.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE alarm_states (
  name              TEXT    NOT NULL CHECK (name <> ''),
  state             TEXT    NOT NULL CHECK (state IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
  reason            TEXT    NOT NULL,
  reason_data       TEXT    NOT NULL,
  updated_ms        INTEGER NOT NULL,
  definition_sha256 TEXT    NOT NULL,
  PRIMARY KEY (name)
) WITHOUT ROWID;

CREATE TABLE alarm_history (
  id           INTEGER PRIMARY KEY,
  name         TEXT    NOT NULL CHECK (name <> ''),
  timestamp_ms INTEGER NOT NULL,
  old_state    TEXT    NOT NULL CHECK (old_state IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
  new_state    TEXT    NOT NULL CHECK (new_state IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
  reason       TEXT    NOT NULL,
  reason_data  TEXT    NOT NULL
);

CREATE INDEX alarm_history_by_name_time ON alarm_history (name, timestamp_ms);
)sql";

// Version 3: per-minute metric rollups (metrics/rollup.h), kept for 15 days.
// - Keyed by (metric, minute): one metric's range is one contiguous stretch of the table, read in
//   minute order without a sort, and a rewrite of the same minute replaces the row.
// - The index on minute serves the retention delete (every metric's rows before a minute), which
//   would otherwise scan the whole table, with the write lock held, once an hour.
constexpr std::string_view kSchemaV3 = R"sql(
CREATE TABLE metric_rollups (
  metric TEXT    NOT NULL CHECK (metric <> ''),
  minute INTEGER NOT NULL,
  data   BLOB    NOT NULL,
  PRIMARY KEY (metric, minute)
) WITHOUT ROWID;

CREATE INDEX metric_rollups_by_minute ON metric_rollups (minute);
)sql";

// Version 4: deployments and their event logs.
// - The partial unique index is the rule "one active deployment per alias" (IsActiveDeploymentStatus
//   lists the same statuses): a second active one fails with SQLITE_CONSTRAINT_UNIQUE
//   (AlreadyExists) inside the transaction that tries, whichever code path it comes from.
// - deployments_by_created serves the newest-first listing; active deployments are few and found
//   through the partial index.
// - deployment_events is keyed by (deployment_id, seq): one deployment's log is one contiguous
//   range read in order, and a second write of the same seq fails.
constexpr std::string_view kSchemaV4 = R"sql(
CREATE TABLE deployments (
  id            TEXT    NOT NULL CHECK (id <> ''),
  function_name TEXT    NOT NULL CHECK (function_name <> ''),
  alias         TEXT    NOT NULL CHECK (alias <> ''),
  status        TEXT    NOT NULL CHECK (status IN ('Created', 'Queued', 'InProgress', 'Baking',
                                                   'Ready', 'Succeeded', 'Failed', 'Stopped')),
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
  data          TEXT    NOT NULL,
  PRIMARY KEY (id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX deployments_one_active ON deployments (function_name, alias)
  WHERE status IN ('Created', 'Queued', 'InProgress', 'Baking', 'Ready');
CREATE INDEX deployments_by_created ON deployments (created_ms, id);

CREATE TABLE deployment_events (
  deployment_id TEXT    NOT NULL REFERENCES deployments (id),
  seq           INTEGER NOT NULL CHECK (seq >= 1),
  time_ms       INTEGER NOT NULL,
  type          TEXT    NOT NULL CHECK (type <> ''),
  data          TEXT    NOT NULL,
  PRIMARY KEY (deployment_id, seq)
) WITHOUT ROWID;
)sql";

constexpr std::array<Migration, 4> kMigrations = {{
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
}};

// Runs one statement (or a script) outside the statement cache; used for DDL and transaction
// control.
Status Exec(sqlite3* db, std::string_view sql, std::string_view what) {
  char* err = nullptr;
  const std::string text(sql);
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Status st = SqliteStatus(db, rc, what);
  return Status(st.code(), fmt::format("sqlite: {}: {}", what, message));
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations.back().version; }

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  const std::string message =
      fmt::format("sqlite: {}: {}", what, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return AlreadyExists(message);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return FailedPrecondition(message);
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return InvalidArgument(message);
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Unavailable(message);
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return ResourceExhausted(message);
    case SQLITE_TOOBIG:
      return TooLarge(message);
    default:
      return Internal(message);
  }
}

Result<int> ReadSchemaVersion(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  // A fresh database has no schema_version table yet: that is version 0.
  int rc = sqlite3_prepare_v2(
      db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", -1,
      &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "reading the schema");
  rc = sqlite3_step(stmt);
  const bool has_table = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0) > 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "reading the schema");
  if (!has_table) return 0;

  rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &stmt,
                          nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "reading schema_version");
  rc = sqlite3_step(stmt);
  const int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "reading schema_version");
  return version;
}

Status MigrateSchema(sqlite3* db, int64_t now_ms) {
  // IMMEDIATE takes the write lock before reading the version, so two processes opening the same
  // fresh file cannot both decide to run migration 1.
  CUTOVER_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "starting the schema migration"));
  auto migrate = [&]() -> Status {
    CUTOVER_RETURN_IF_ERROR(Exec(db,
                                 "CREATE TABLE IF NOT EXISTS schema_version ("
                                 "version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
                                 "creating schema_version"));
    CUTOVER_ASSIGN_OR_RETURN(int current, ReadSchemaVersion(db));
    if (current > LatestSchemaVersion()) {
      return FailedPrecondition(fmt::format(
          "the state database has schema version {}, newer than this cutover supports ({}); "
          "upgrade cutover or use another --data directory",
          current, LatestSchemaVersion()));
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      CUTOVER_RETURN_IF_ERROR(Exec(db, m.sql, fmt::format("schema migration {}", m.version)));
      CUTOVER_RETURN_IF_ERROR(
          Exec(db,
               fmt::format("INSERT INTO schema_version (version, applied_ms) VALUES ({}, {})",
                           m.version, now_ms),
               "recording the schema version"));
    }
    return Status::Ok();
  };
  Status st = migrate();
  if (!st.ok()) {
    (void)Exec(db, "ROLLBACK", "rolling back the schema migration");
    return st;
  }
  st = Exec(db, "COMMIT", "committing the schema migration");
  if (!st.ok() && sqlite3_get_autocommit(db) == 0) {
    (void)Exec(db, "ROLLBACK", "rolling back the schema migration");
  }
  return st;
}

}  // namespace cutover::store
