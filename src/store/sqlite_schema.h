// The SQLite store's schema, as an ordered list of migrations.
//
// Migration N moves a database from schema version N-1 to N. The table `schema_version` holds one
// row per applied migration (version, applied_ms); the database's version is the largest.
// MigrateSchema applies every missing migration in one transaction, so a database is never left
// half-migrated, and refuses a database written by a newer cutover (FailedPrecondition) instead of
// guessing at tables it does not know.
//
// To add tables (deployments, alarms, metrics ...): append a migration to kMigrations in
// sqlite_schema.cc with the next version number. Never edit a migration that has shipped: databases
// in the field already ran it.
//
// Thread-safety: MigrateSchema uses the connection it is given; the caller serialises access to it.
#pragma once

#include <sqlite3.h>

#include <span>
#include <string_view>

#include "common/status.h"

namespace cutover::store {

struct Migration {
  int version;           // 1, 2, 3 ... without gaps
  std::string_view sql;  // one or more statements, run with sqlite3_exec
};

// Every migration, oldest first.
std::span<const Migration> Migrations();

// The schema version this binary writes: the last migration's.
int LatestSchemaVersion();

// Reads the database's schema version (0 for a fresh database).
// REQUIRES: `db` has no open transaction.
Result<int> ReadSchemaVersion(sqlite3* db);

// Brings `db` to LatestSchemaVersion() in one IMMEDIATE transaction.
// REQUIRES: `db` has no open transaction.
Status MigrateSchema(sqlite3* db, int64_t now_ms);

// Turns a SQLite result code into a Status carrying SQLite's own message for `db` (or the generic
// text for `rc` when `db` is null). Constraint violations map to the code a caller can act on: a
// duplicate key is AlreadyExists, a foreign key FailedPrecondition, a CHECK or NOT NULL
// InvalidArgument; a busy or locked database is Unavailable, a full disk ResourceExhausted,
// anything else Internal.
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

}  // namespace cutover::store
