// The StateStore contract, run against both implementations (SQLite and in-memory), plus the
// SQLite-only properties: persistence across reopen, WAL mode, the schema version.
#include "store/state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_schema.h"

namespace cutover::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cutover-store-test-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

ServiceRecord Service(const std::string& name, const std::string& stage,
                      const std::string& sha = "c1") {
  ServiceRecord r;
  r.name = name;
  r.stage = stage;
  r.spec_json = R"({"service":")" + name + R"("})";
  r.code_sha256 = sha;
  r.updated_ms = 1000;
  return r;
}

VersionRecord Version(const std::string& fn, uint32_t v, const std::string& code = "code") {
  VersionRecord r;
  r.function_name = fn;
  r.version = v;
  r.service = "svc";
  r.stage = "dev";
  r.code_sha256 = code + std::to_string(v);
  r.config_sha256 = "cfg" + std::to_string(v);
  r.config_json = R"({"handler":"h"})";
  r.created_ms = 2000 + v;
  return r;
}

AliasRecord Alias(const std::string& fn, const std::string& name, uint32_t primary,
                  uint32_t additional = 0, double weight = 0.0) {
  AliasRecord r;
  r.function_name = fn;
  r.name = name;
  r.primary_version = primary;
  r.additional_version = additional;
  r.additional_weight = weight;
  r.updated_ms = 3000;
  return r;
}

void ExpectSameVersion(const VersionRecord& a, const VersionRecord& b) {
  EXPECT_EQ(a.function_name, b.function_name);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.service, b.service);
  EXPECT_EQ(a.stage, b.stage);
  EXPECT_EQ(a.code_sha256, b.code_sha256);
  EXPECT_EQ(a.config_sha256, b.config_sha256);
  EXPECT_EQ(a.config_json, b.config_json);
  EXPECT_EQ(a.created_ms, b.created_ms);
}

struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<StateStore>(const fs::path& dir)> open;
};

// gtest prints the parameter of a failing test with this.
void PrintTo(const StoreKind& kind, std::ostream* os) { *os << kind.name; }

std::unique_ptr<StateStore> OpenSqliteOrDie(const fs::path& file) {
  auto store = OpenSqliteStore(file);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

class StateStoreContractTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    store_ = GetParam().open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  // Runs `fn` in a write transaction and expects it to commit.
  void MustWrite(const std::function<Status(StoreTxn&)>& fn) {
    Status st = store_->Write(fn);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  std::vector<VersionRecord> AllVersions() {
    std::vector<VersionRecord> out;
    Status st = store_->Read([&](StoreTxn& txn) {
      auto list = txn.ListVersions("");
      if (!list.ok()) return list.status();
      out = *list;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  TempDir dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(StateStoreContractTest, PutThenGetService) {
  MustWrite([](StoreTxn& txn) { return txn.PutService(Service("shop", "dev")); });
  Status st = store_->Read([](StoreTxn& txn) {
    auto got = txn.GetService("shop", "dev");
    EXPECT_TRUE(got.ok());
    EXPECT_TRUE(got->has_value());
    EXPECT_EQ((*got)->spec_json, R"({"service":"shop"})");
    EXPECT_EQ((*got)->code_sha256, "c1");
    EXPECT_EQ((*got)->updated_ms, 1000);
    auto other_stage = txn.GetService("shop", "prod");
    EXPECT_TRUE(other_stage.ok());
    EXPECT_FALSE(other_stage->has_value());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_P(StateStoreContractTest, PutServiceReplacesTheSameNameAndStage) {
  MustWrite([](StoreTxn& txn) { return txn.PutService(Service("shop", "dev", "old")); });
  MustWrite([](StoreTxn& txn) { return txn.PutService(Service("shop", "dev", "new")); });
  Status st = store_->Read([](StoreTxn& txn) {
    auto all = txn.ListServices();
    EXPECT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 1u);
    EXPECT_EQ(all->at(0).code_sha256, "new");
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, ListServicesIsOrderedByNameThenStage) {
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutService(Service("b", "dev")));
    CUTOVER_RETURN_IF_ERROR(txn.PutService(Service("a", "prod")));
    CUTOVER_RETURN_IF_ERROR(txn.PutService(Service("a", "dev")));
    return Status::Ok();
  });
  Status st = store_->Read([](StoreTxn& txn) {
    auto all = txn.ListServices();
    EXPECT_TRUE(all.ok());
    std::vector<std::string> keys;
    for (const auto& s : *all) keys.push_back(s.name + "/" + s.stage);
    EXPECT_EQ(keys, (std::vector<std::string>{"a/dev", "a/prod", "b/dev"}));
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, DeleteServiceRemovesOnlyThatStageAndIgnoresMissing) {
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutService(Service("shop", "dev")));
    return txn.PutService(Service("shop", "prod"));
  });
  MustWrite([](StoreTxn& txn) { return txn.DeleteService("shop", "dev"); });
  MustWrite([](StoreTxn& txn) { return txn.DeleteService("nothing", "dev"); });
  Status st = store_->Read([](StoreTxn& txn) {
    auto all = txn.ListServices();
    EXPECT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 1u);
    EXPECT_EQ(all->at(0).stage, "prod");
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, ServiceWithoutNameIsInvalid) {
  Status st = store_->Write([](StoreTxn& txn) { return txn.PutService(Service("", "dev")); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
}

TEST_P(StateStoreContractTest, InsertedVersionReadsBackUnchanged) {
  const VersionRecord v = Version("shop-dev-api", 1);
  MustWrite([&](StoreTxn& txn) { return txn.InsertVersion(v); });
  Status st = store_->Read([&](StoreTxn& txn) {
    auto got = txn.GetVersion("shop-dev-api", 1);
    EXPECT_TRUE(got.ok());
    EXPECT_TRUE(got->has_value());
    if (got->has_value()) {
      ExpectSameVersion(**got, v);
    }
    auto missing = txn.GetVersion("shop-dev-api", 2);
    EXPECT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, VersionsAreListedByFunctionThenNumericVersion) {
  // Inserted out of order, and with 10 > 9 > 2 so a text sort would be caught.
  MustWrite([](StoreTxn& txn) {
    for (auto [fn, v] : std::vector<std::pair<std::string, uint32_t>>{
             {"b", 1}, {"a", 10}, {"a", 2}, {"a", 9}, {"b", 3}}) {
      CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version(fn, v)));
    }
    return Status::Ok();
  });
  std::vector<std::string> keys;
  for (const auto& v : AllVersions()) keys.push_back(v.function_name + std::to_string(v.version));
  EXPECT_EQ(keys, (std::vector<std::string>{"a2", "a9", "a10", "b1", "b3"}));

  Status st = store_->Read([](StoreTxn& txn) {
    auto only_a = txn.ListVersions("a");
    EXPECT_TRUE(only_a.ok());
    std::vector<uint32_t> numbers;
    for (const auto& v : *only_a) numbers.push_back(v.version);
    EXPECT_EQ(numbers, (std::vector<uint32_t>{2, 9, 10}));
    auto none = txn.ListVersions("zzz");
    EXPECT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, LatestVersionIsTheHighestNumberOfThatFunction) {
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("a", 2)));
    CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("a", 10)));
    CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("a", 9)));
    // A neighbour whose name sorts right after "a" must not leak in.
    return txn.InsertVersion(Version("a-b", 50));
  });
  Status st = store_->Read([](StoreTxn& txn) {
    auto latest = txn.LatestVersion("a");
    EXPECT_TRUE(latest.ok());
    EXPECT_TRUE(latest->has_value());
    if (latest->has_value()) {
      EXPECT_EQ((*latest)->version, 10u);
    }
    auto none = txn.LatestVersion("b");
    EXPECT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, VersionsAreImmutable) {
  MustWrite([](StoreTxn& txn) { return txn.InsertVersion(Version("a", 1, "first")); });
  Status st =
      store_->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("a", 1, "second")); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  auto all = AllVersions();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].code_sha256, "first1");
}

TEST_P(StateStoreContractTest, VersionZeroIsInvalid) {
  Status st = store_->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("a", 0)); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
}

TEST_P(StateStoreContractTest, PutThenGetAndListAliases) {
  MustWrite([](StoreTxn& txn) {
    for (uint32_t v = 1; v <= 3; ++v) {
      CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", v)));
      CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("other", v)));
    }
    CUTOVER_RETURN_IF_ERROR(txn.PutAlias(Alias("other", "Live", 3)));
    CUTOVER_RETURN_IF_ERROR(txn.PutAlias(Alias("fn", "Live", 1, 2, 0.1)));
    return txn.PutAlias(Alias("fn", "Beta", 3));
  });
  Status st = store_->Read([](StoreTxn& txn) {
    auto live = txn.GetAlias("fn", "Live");
    EXPECT_TRUE(live.ok());
    EXPECT_TRUE(live->has_value());
    if (live->has_value()) {
      EXPECT_EQ((*live)->primary_version, 1u);
      EXPECT_EQ((*live)->additional_version, 2u);
      EXPECT_EQ((*live)->additional_weight, 0.1);  // exact: stored as a double
      EXPECT_EQ((*live)->updated_ms, 3000);
    }
    auto missing = txn.GetAlias("fn", "Nope");
    EXPECT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());

    auto all = txn.ListAliases();
    EXPECT_TRUE(all.ok());
    std::vector<std::string> keys;
    for (const auto& a : *all) keys.push_back(a.function_name + ":" + a.name);
    EXPECT_EQ(keys, (std::vector<std::string>{"fn:Beta", "fn:Live", "other:Live"}));
    EXPECT_EQ(all->at(0).additional_version, 0u);
    EXPECT_EQ(all->at(0).additional_weight, 0.0);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_P(StateStoreContractTest, PutAliasReplacesTheWeights) {
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 1)));
    CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 2)));
    return txn.PutAlias(Alias("fn", "Live", 1, 2, 0.5));
  });
  MustWrite([](StoreTxn& txn) { return txn.PutAlias(Alias("fn", "Live", 2)); });
  Status st = store_->Read([](StoreTxn& txn) {
    auto live = txn.GetAlias("fn", "Live");
    EXPECT_TRUE(live.ok() && live->has_value());
    EXPECT_EQ((*live)->primary_version, 2u);
    EXPECT_EQ((*live)->additional_version, 0u);
    EXPECT_EQ((*live)->additional_weight, 0.0);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, AliasMustPointAtPublishedVersions) {
  MustWrite([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 1)); });
  Status primary =
      store_->Write([](StoreTxn& txn) { return txn.PutAlias(Alias("fn", "Live", 2)); });
  EXPECT_EQ(primary.code(), StatusCode::kFailedPrecondition) << primary.ToString();
  Status additional =
      store_->Write([](StoreTxn& txn) { return txn.PutAlias(Alias("fn", "Live", 1, 7, 0.2)); });
  EXPECT_EQ(additional.code(), StatusCode::kFailedPrecondition) << additional.ToString();
  EXPECT_NE(additional.message().find("7"), std::string::npos) << additional.message();
  // Version 1 of another function does not count.
  Status other = store_->Write([](StoreTxn& txn) { return txn.PutAlias(Alias("gn", "Live", 1)); });
  EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition) << other.ToString();
}

TEST_P(StateStoreContractTest, AliasWeightMustBeInRange) {
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 1)));
    return txn.InsertVersion(Version("fn", 2));
  });
  for (double w : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    Status st =
        store_->Write([&](StoreTxn& txn) { return txn.PutAlias(Alias("fn", "Live", 1, 2, w)); });
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << "weight " << w << ": " << st.ToString();
  }
  Status no_version =
      store_->Write([](StoreTxn& txn) { return txn.PutAlias(Alias("fn", "Live", 1, 0, 0.3)); });
  EXPECT_EQ(no_version.code(), StatusCode::kInvalidArgument) << no_version.ToString();
  // The bounds themselves are fine.
  MustWrite([](StoreTxn& txn) { return txn.PutAlias(Alias("fn", "Live", 1, 2, 1.0)); });
  MustWrite([](StoreTxn& txn) { return txn.PutAlias(Alias("fn", "Live", 1, 2, 0.0)); });
}

TEST_P(StateStoreContractTest, WriteThatReturnsAnErrorLeavesNothing) {
  Status st = store_->Write([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutService(Service("shop", "dev")));
    CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 1)));
    CUTOVER_RETURN_IF_ERROR(txn.PutAlias(Alias("fn", "Live", 1)));
    return Unavailable("the caller changed its mind");
  });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "the caller changed its mind");
  Status read = store_->Read([](StoreTxn& txn) {
    EXPECT_TRUE(txn.ListServices()->empty());
    EXPECT_TRUE(txn.ListVersions("")->empty());
    EXPECT_TRUE(txn.ListAliases()->empty());
    return Status::Ok();
  });
  EXPECT_TRUE(read.ok());
}

TEST_P(StateStoreContractTest, FailedStatementRollsBackEarlierWritesOfTheTransaction) {
  MustWrite([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 1)); });
  Status st = store_->Write([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutService(Service("shop", "dev")));
    CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 2)));
    return txn.InsertVersion(Version("fn", 1));  // duplicate
  });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(AllVersions().size(), 1u);
  Status read = store_->Read([](StoreTxn& txn) {
    EXPECT_TRUE(txn.ListServices()->empty());
    return Status::Ok();
  });
  EXPECT_TRUE(read.ok());
}

TEST_P(StateStoreContractTest, WritesInsideReadFailAndLeaveNothing) {
  MustWrite([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 1)); });
  Status st = store_->Read([](StoreTxn& txn) {
    EXPECT_EQ(txn.PutService(Service("shop", "dev")).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.DeleteService("shop", "dev").code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.InsertVersion(Version("fn", 2)).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.PutAlias(Alias("fn", "Live", 1)).code(), StatusCode::kFailedPrecondition);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
  Status read = store_->Read([](StoreTxn& txn) {
    EXPECT_TRUE(txn.ListServices()->empty());
    EXPECT_EQ(txn.ListVersions("")->size(), 1u);
    EXPECT_TRUE(txn.ListAliases()->empty());
    return Status::Ok();
  });
  EXPECT_TRUE(read.ok());
}

TEST_P(StateStoreContractTest, ReadReturnsTheCallbacksStatus) {
  Status st = store_->Read([](StoreTxn&) { return NotFound("no such thing"); });
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "no such thing");
}

TEST_P(StateStoreContractTest, TransactionInsideATransactionIsRefused) {
  Status inner;
  MustWrite([&](StoreTxn& txn) {
    inner = store_->Read([](StoreTxn&) { return Status::Ok(); });
    return txn.InsertVersion(Version("fn", 1));
  });
  EXPECT_EQ(inner.code(), StatusCode::kFailedPrecondition) << inner.ToString();
  EXPECT_EQ(AllVersions().size(), 1u);
}

TEST_P(StateStoreContractTest, ConcurrentWritersAreSerialised) {
  // Each write reads the latest version and inserts the next one: only serialisable transactions
  // give 1..N without a gap or an AlreadyExists.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        Status st = store_->Write([](StoreTxn& txn) {
          auto latest = txn.LatestVersion("fn");
          if (!latest.ok()) return latest.status();
          uint32_t next = latest->has_value() ? (*latest)->version + 1 : 1;
          return txn.InsertVersion(Version("fn", next));
        });
        if (!st.ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = AllVersions();
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].version, i + 1);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, StateStoreContractTest,
    ::testing::Values(
        StoreKind{"Sqlite", [](const fs::path& dir) { return OpenSqliteOrDie(dir / "state.db"); }},
        StoreKind{"Memory", [](const fs::path&) { return CreateMemoryStore(); }}),
    [](const ::testing::TestParamInfo<StoreKind>& info) { return info.param.name; });

// --- SQLite only
// -------------------------------------------------------------------------------------

// A plain sqlite3 connection to inspect the file from outside the store.
class RawDb {
 public:
  explicit RawDb(const fs::path& file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << file;
    }
  }
  ~RawDb() { sqlite3_close(db_); }
  std::string QueryText(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_);
      return out;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) out = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return out;
  }
  void Exec(const char* sql) {
    ASSERT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
  }
  sqlite3* get() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteStoreTest, StatePersistsAcrossCloseAndReopen) {
  TempDir dir;
  const fs::path file = dir.path() / "nested" / "state.db";  // the parent is created
  {
    auto store = OpenSqliteOrDie(file);
    ASSERT_NE(store, nullptr);
    Status st = store->Write([](StoreTxn& txn) {
      CUTOVER_RETURN_IF_ERROR(txn.PutService(Service("shop", "dev")));
      CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 1)));
      CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 2)));
      return txn.PutAlias(Alias("fn", "Live", 1, 2, 0.25));
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto store = OpenSqliteOrDie(file);
  ASSERT_NE(store, nullptr);
  Status st = store->Read([](StoreTxn& txn) {
    EXPECT_EQ(txn.ListServices()->size(), 1u);
    auto latest = txn.LatestVersion("fn");
    EXPECT_TRUE(latest.ok() && latest->has_value());
    ExpectSameVersion(**latest, Version("fn", 2));
    auto live = txn.GetAlias("fn", "Live");
    EXPECT_TRUE(live.ok() && live->has_value());
    EXPECT_EQ((*live)->additional_weight, 0.25);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  // Versions stay immutable after a reopen too.
  Status dup = store->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 2)); });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
}

TEST(SqliteStoreTest, FileIsInWalModeWithForeignKeysInTheSchema) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  auto store = OpenSqliteOrDie(file);
  ASSERT_NE(store, nullptr);
  RawDb raw(file);
  // journal_mode=WAL is a property of the file, so a second connection sees it.
  EXPECT_EQ(raw.QueryText("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.QueryText("SELECT count(DISTINCT id) FROM pragma_foreign_key_list('aliases')"),
            "2");
}

TEST(SqliteStoreTest, SecondConnectionSeesCommittedWrites) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  auto a = OpenSqliteOrDie(file);
  auto b = OpenSqliteOrDie(file);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 1)); }).ok());
  Status st = b->Read([](StoreTxn& txn) {
    EXPECT_EQ(txn.ListVersions("fn")->size(), 1u);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST(SqliteStoreTest, SchemaVersionIsRecordedOnceAndKeptOnReopen) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  ASSERT_NE(OpenSqliteOrDie(file), nullptr);
  ASSERT_NE(OpenSqliteOrDie(file), nullptr);
  RawDb raw(file);
  auto version = ReadSchemaVersion(raw.get());
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version, LatestSchemaVersion());
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM schema_version"),
            std::to_string(Migrations().size()));
}

TEST(SqliteStoreTest, MigrationsAreNumberedWithoutGaps) {
  int expected = 1;
  for (const Migration& m : Migrations()) EXPECT_EQ(m.version, expected++);
}

TEST(SqliteStoreTest, RefusesADatabaseFromANewerCutover) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  ASSERT_NE(OpenSqliteOrDie(file), nullptr);
  {
    RawDb raw(file);
    raw.Exec("INSERT INTO schema_version (version, applied_ms) VALUES (999, 0)");
  }
  auto store = OpenSqliteStore(file);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("999"), std::string::npos) << store.status().message();
}

TEST(SqliteStoreTest, OpeningADirectoryFailsWithSqlitesMessage) {
  TempDir dir;
  auto store = OpenSqliteStore(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_NE(store.status().message().find("sqlite"), std::string::npos);
}

TEST(SqliteStoreTest, ResultCodesMapToStatusCodes) {
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_CONSTRAINT_PRIMARYKEY, "x").code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_CONSTRAINT_FOREIGNKEY, "x").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_CONSTRAINT_CHECK, "x").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_BUSY, "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_FULL, "x").code(), StatusCode::kResourceExhausted);
  Status corrupt = SqliteStatus(nullptr, SQLITE_CORRUPT, "reading");
  EXPECT_EQ(corrupt.code(), StatusCode::kInternal);
  EXPECT_EQ(corrupt.message(), std::string("sqlite: reading: ") + sqlite3_errstr(SQLITE_CORRUPT));
}

TEST(SqliteStoreTest, ForeignKeysAreEnforcedBySqliteItself) {
  // PutAlias checks versions itself; this makes sure the schema would catch a direct write as well.
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  ASSERT_NE(OpenSqliteOrDie(file), nullptr);
  RawDb raw(file);
  raw.Exec("PRAGMA foreign_keys=ON");
  int rc = sqlite3_exec(raw.get(), "INSERT INTO aliases VALUES ('fn', 'Live', 1, NULL, 0.0, 0)",
                        nullptr, nullptr, nullptr);
  EXPECT_EQ(rc, SQLITE_CONSTRAINT);
  EXPECT_EQ(sqlite3_extended_errcode(raw.get()), SQLITE_CONSTRAINT_FOREIGNKEY);
}

}  // namespace
}  // namespace cutover::store
