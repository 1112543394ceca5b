// The StateStore contract, run against every implementation (SQLite, in-memory, and etcd with a
// real etcd started per test), plus the SQLite-only properties: persistence across reopen, WAL
// mode, the schema version. etcd_store_test.cc has what only the etcd store promises.
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

#include "etcd_server.h"
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

AlarmStateRecord AlarmState(const std::string& name, const std::string& state,
                            int64_t updated_ms = 4000) {
  AlarmStateRecord r;
  r.name = name;
  r.state = state;
  r.reason = "Threshold Crossed: 1 datapoint [5.0] was greater than the threshold (1.0).";
  r.reason_data = R"({"version":"1.0","queryDate":"x"})";
  r.updated_ms = updated_ms;
  r.definition_sha256 = "def-" + name;
  return r;
}

AlarmHistoryRecord History(const std::string& name, int64_t timestamp_ms,
                           const std::string& old_state = "OK",
                           const std::string& new_state = "ALARM", const std::string& reason = "") {
  AlarmHistoryRecord r;
  r.name = name;
  r.timestamp_ms = timestamp_ms;
  r.old_state = old_state;
  r.new_state = new_state;
  r.reason = reason.empty() ? "at " + std::to_string(timestamp_ms) : reason;
  r.reason_data = "";
  return r;
}

constexpr int64_t kDayMs = int64_t{24} * 60 * 60 * 1000;

MetricRollupRecord Rollup(const std::string& metric, int64_t minute, std::string data = "") {
  return MetricRollupRecord{metric, minute,
                            data.empty() ? metric + "@" + std::to_string(minute) : data};
}

// "metric@minute=data" per record, in the order given.
std::vector<std::string> Describe(const std::vector<MetricRollupRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records)
    out.push_back(r.metric + "@" + std::to_string(r.minute) + "=" + r.data);
  return out;
}

void ExpectSameAlarmState(const AlarmStateRecord& a, const AlarmStateRecord& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.reason_data, b.reason_data);
  EXPECT_EQ(a.updated_ms, b.updated_ms);
  EXPECT_EQ(a.definition_sha256, b.definition_sha256);
}

void ExpectSameHistory(const AlarmHistoryRecord& a, const AlarmHistoryRecord& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.timestamp_ms, b.timestamp_ms);
  EXPECT_EQ(a.old_state, b.old_state);
  EXPECT_EQ(a.new_state, b.new_state);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.reason_data, b.reason_data);
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

// The etcd store with the etcd it talks to: the server outlives the store.
class EtcdBackedStore final : public StateStore {
 public:
  static std::unique_ptr<StateStore> Open(const fs::path& dir) {
    auto server = std::make_unique<test_support::EtcdServer>(dir / "etcd");
    if (!server->started()) {
      ADD_FAILURE() << "etcd did not start:\n" << server->log();
      return nullptr;
    }
    auto location = ParseStoreLocation("etcd://" + server->endpoint());
    if (!location.ok()) {
      ADD_FAILURE() << location.status().ToString();
      return nullptr;
    }
    auto local = OpenSqliteOrDie(dir / "node.db");
    if (local == nullptr) return nullptr;
    auto store = OpenEtcdStore(*location, std::move(local));
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    return std::make_unique<EtcdBackedStore>(std::move(server), std::move(store).value());
  }

  EtcdBackedStore(std::unique_ptr<test_support::EtcdServer> server, std::unique_ptr<StateStore> store)
      : server_(std::move(server)), store_(std::move(store)) {}
  Status Write(const std::function<Status(StoreTxn&)>& fn) override { return store_->Write(fn); }
  Status Read(const std::function<Status(StoreTxn&)>& fn) override { return store_->Read(fn); }

 private:
  std::unique_ptr<test_support::EtcdServer> server_;
  std::unique_ptr<StateStore> store_;
};

class StateStoreContractTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (GetParam().name == "Etcd" && !test_support::EtcdServer::Installed()) {
      GTEST_SKIP() << test_support::EtcdServer::kBinary << " is not installed (scripts/install-deps)";
    }
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

  // The reasons of an alarm's history, newest first, at most `limit`.
  std::vector<std::string> HistoryReasons(const std::string& name, size_t limit = 100) {
    std::vector<std::string> out;
    Status st = store_->Read([&](StoreTxn& txn) {
      auto list = txn.ListAlarmHistory(name, limit);
      if (!list.ok()) return list.status();
      for (const auto& h : *list) out.push_back(h.reason);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  std::vector<std::string> AlarmStateNames() {
    std::vector<std::string> out;
    Status st = store_->Read([&](StoreTxn& txn) {
      auto list = txn.ListAlarmStates();
      if (!list.ok()) return list.status();
      for (const auto& a : *list) out.push_back(a.name + "=" + a.state);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // ListMetricRollups(metric, from, to) as Describe() strings.
  std::vector<std::string> Rollups(const std::string& metric, int64_t from, int64_t to) {
    std::vector<std::string> out;
    Status st = store_->Read([&](StoreTxn& txn) {
      auto list = txn.ListMetricRollups(metric, from, to);
      if (!list.ok()) return list.status();
      out = Describe(*list);
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
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("errors", "ALARM")));
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("errors", 1000)));
    return Unavailable("the caller changed its mind");
  });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "the caller changed its mind");
  Status read = store_->Read([](StoreTxn& txn) {
    EXPECT_TRUE(txn.ListServices()->empty());
    EXPECT_TRUE(txn.ListVersions("")->empty());
    EXPECT_TRUE(txn.ListAliases()->empty());
    EXPECT_TRUE(txn.ListAlarmStates()->empty());
    EXPECT_TRUE(txn.ListAlarmHistory("errors", 10)->empty());
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
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("kept", "OK")));
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("kept", 1000)));
    return txn.InsertVersion(Version("fn", 1));
  });
  Status st = store_->Read([](StoreTxn& txn) {
    EXPECT_EQ(txn.PutService(Service("shop", "dev")).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.DeleteService("shop", "dev").code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.InsertVersion(Version("fn", 2)).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.PutAlias(Alias("fn", "Live", 1)).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.PutAlarmState(AlarmState("errors", "OK")).code(),
              StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.DeleteAlarmState("kept").code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.AppendAlarmHistory(History("kept", 20 * kDayMs)).code(),
              StatusCode::kFailedPrecondition);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
  Status read = store_->Read([](StoreTxn& txn) {
    EXPECT_TRUE(txn.ListServices()->empty());
    EXPECT_EQ(txn.ListVersions("")->size(), 1u);
    EXPECT_TRUE(txn.ListAliases()->empty());
    EXPECT_EQ(txn.ListAlarmStates()->size(), 1u);
    EXPECT_EQ(txn.ListAlarmHistory("kept", 10)->size(), 1u);  // not pruned by the refused append
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

TEST_P(StateStoreContractTest, PutThenGetAlarmStateReadsBackEveryField) {
  AlarmStateRecord errors = AlarmState("errors", "ALARM", 123456789012345);
  errors.reason_data = R"({"version":"1.0","recentDatapoints":[5.0],"threshold":1.0})";
  AlarmStateRecord empty_data = AlarmState("latency", "INSUFFICIENT_DATA");
  empty_data.reason = "Unchecked: Initial alarm creation";
  empty_data.reason_data = "";
  empty_data.definition_sha256 = "";
  MustWrite([&](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(errors));
    return txn.PutAlarmState(empty_data);
  });
  Status st = store_->Read([&](StoreTxn& txn) {
    auto got = txn.GetAlarmState("errors");
    EXPECT_TRUE(got.ok() && got->has_value());
    if (got.ok() && got->has_value()) ExpectSameAlarmState(**got, errors);
    auto latency = txn.GetAlarmState("latency");
    EXPECT_TRUE(latency.ok() && latency->has_value());
    if (latency.ok() && latency->has_value()) ExpectSameAlarmState(**latency, empty_data);
    auto missing = txn.GetAlarmState("nope");
    EXPECT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_P(StateStoreContractTest, AlarmStatesAreListedByNameAndReplacedByPut) {
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("b", "OK")));
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("a-b", "ALARM")));
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("a", "INSUFFICIENT_DATA")));
    return txn.PutAlarmState(AlarmState("B", "OK"));  // bytes: "B" < "a"
  });
  EXPECT_EQ(AlarmStateNames(),
            (std::vector<std::string>{"B=OK", "a=INSUFFICIENT_DATA", "a-b=ALARM", "b=OK"}));

  AlarmStateRecord replaced = AlarmState("a", "ALARM", 9000);
  replaced.reason = "new reason";
  replaced.reason_data = "";
  replaced.definition_sha256 = "def-2";
  MustWrite([&](StoreTxn& txn) { return txn.PutAlarmState(replaced); });
  EXPECT_EQ(AlarmStateNames(), (std::vector<std::string>{"B=OK", "a=ALARM", "a-b=ALARM", "b=OK"}));
  Status st = store_->Read([&](StoreTxn& txn) {
    auto got = txn.GetAlarmState("a");
    EXPECT_TRUE(got.ok() && got->has_value());
    if (got.ok() && got->has_value()) ExpectSameAlarmState(**got, replaced);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, DeleteAlarmStateRemovesOnlyThatAlarmAndKeepsItsHistory) {
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("a", "OK")));
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("a-b", "ALARM")));
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("a", 1000, "INSUFFICIENT_DATA", "OK")));
    return txn.AppendAlarmHistory(History("a", 2000, "OK", "ALARM"));
  });
  MustWrite([](StoreTxn& txn) { return txn.DeleteAlarmState("a"); });
  MustWrite([](StoreTxn& txn) { return txn.DeleteAlarmState("a"); });        // already gone
  MustWrite([](StoreTxn& txn) { return txn.DeleteAlarmState("missing"); });  // never existed
  EXPECT_EQ(AlarmStateNames(), (std::vector<std::string>{"a-b=ALARM"}));
  EXPECT_EQ(HistoryReasons("a"), (std::vector<std::string>{"at 2000", "at 1000"}));
}

TEST_P(StateStoreContractTest, AlarmHistoryIsNewestFirstAndLimited) {
  const AlarmHistoryRecord first = History("a", 1000, "INSUFFICIENT_DATA", "OK", "first");
  MustWrite([&](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(first));
    // Out of timestamp order, and two transitions in the same millisecond.
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("a", 3000, "OK", "ALARM", "third")));
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("a", 2000, "OK", "OK", "second")));
    // Neighbours whose names sort right next to "a" must not leak in.
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("a-b", 2500, "OK", "ALARM", "other")));
    return txn.AppendAlarmHistory(History("a", 3000, "ALARM", "OK", "fourth"));
  });
  // A later transaction in the same millisecond still lists before the earlier ones.
  MustWrite([](StoreTxn& txn) {
    return txn.AppendAlarmHistory(History("a", 3000, "OK", "OK", "fifth"));
  });

  EXPECT_EQ(HistoryReasons("a"),
            (std::vector<std::string>{"fifth", "fourth", "third", "second", "first"}));
  EXPECT_EQ(HistoryReasons("a", 2), (std::vector<std::string>{"fifth", "fourth"}));
  EXPECT_EQ(HistoryReasons("a", 5).size(), 5u);
  EXPECT_TRUE(HistoryReasons("a", 0).empty());
  EXPECT_EQ(HistoryReasons("a", std::numeric_limits<size_t>::max()).size(), 5u);
  EXPECT_EQ(HistoryReasons("a-b"), (std::vector<std::string>{"other"}));
  EXPECT_TRUE(HistoryReasons("nope").empty());
  EXPECT_TRUE(HistoryReasons("").empty());

  Status st = store_->Read([&](StoreTxn& txn) {
    auto all = txn.ListAlarmHistory("a", 10);
    EXPECT_TRUE(all.ok());
    if (all.ok() && !all->empty()) ExpectSameHistory(all->back(), first);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(StateStoreContractTest, AlarmHistoryKeepsTwoWeeksBeforeTheNewestAppend) {
  const int64_t t0 = 1'700'000'000'000;
  MustWrite([&](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("a", t0 - 1, "OK", "ALARM", "old")));
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("a", t0, "ALARM", "OK", "edge")));
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("a", t0 + 1, "OK", "ALARM", "inside")));
    // Another alarm's entries are never pruned by "a"'s appends.
    return txn.AppendAlarmHistory(History("b", t0 - 30 * kDayMs, "OK", "ALARM", "b-old"));
  });
  EXPECT_EQ(HistoryReasons("a"), (std::vector<std::string>{"inside", "edge", "old"}));

  // Exactly two weeks after `edge`: only what is strictly older than t0 goes.
  MustWrite([&](StoreTxn& txn) {
    return txn.AppendAlarmHistory(History("a", t0 + 14 * kDayMs, "ALARM", "OK", "now"));
  });
  EXPECT_EQ(HistoryReasons("a"), (std::vector<std::string>{"now", "inside", "edge"}));
  EXPECT_EQ(HistoryReasons("b"), (std::vector<std::string>{"b-old"}));

  // Appending an older transition prunes relative to its own timestamp: newer entries stay.
  MustWrite([&](StoreTxn& txn) {
    return txn.AppendAlarmHistory(History("a", t0 - 20 * kDayMs, "OK", "OK", "backdated"));
  });
  EXPECT_EQ(HistoryReasons("a"), (std::vector<std::string>{"now", "inside", "edge", "backdated"}));

  // One millisecond later, `edge` (and the backdated entry) fall out of the window.
  MustWrite([&](StoreTxn& txn) {
    return txn.AppendAlarmHistory(History("a", t0 + 14 * kDayMs + 1, "OK", "ALARM", "later"));
  });
  EXPECT_EQ(HistoryReasons("a"), (std::vector<std::string>{"later", "now", "inside"}));

  // A transaction that fails after an append rolls the pruning back too.
  Status st = store_->Write([&](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(
        txn.AppendAlarmHistory(History("a", t0 + 100 * kDayMs, "ALARM", "OK", "far")));
    return Unavailable("abort");
  });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(HistoryReasons("a"), (std::vector<std::string>{"later", "now", "inside"}));
}

TEST_P(StateStoreContractTest, AlarmHistoryAcceptsExtremeTimestamps) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  // The cutoff of an append near the minimum must not overflow (it saturates: nothing pruned).
  MustWrite([&](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("a", kMin, "OK", "ALARM", "min")));
    return txn.AppendAlarmHistory(History("a", kMin + 1, "ALARM", "OK", "min+1"));
  });
  EXPECT_EQ(HistoryReasons("a"), (std::vector<std::string>{"min+1", "min"}));
  MustWrite([&](StoreTxn& txn) {
    return txn.AppendAlarmHistory(History("a", kMax, "OK", "ALARM", "max"));
  });
  EXPECT_EQ(HistoryReasons("a"), (std::vector<std::string>{"max"}));
}

TEST_P(StateStoreContractTest, MalformedAlarmRecordsAreInvalidAndLeaveNothing) {
  for (const std::string state : {"", "ok", "Alarm", "PENDING", "INSUFFICIENT DATA"}) {
    Status st =
        store_->Write([&](StoreTxn& txn) { return txn.PutAlarmState(AlarmState("a", state)); });
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << "'" << state << "': " << st.ToString();
    Status old_state = store_->Write(
        [&](StoreTxn& txn) { return txn.AppendAlarmHistory(History("a", 1000, state, "OK")); });
    EXPECT_EQ(old_state.code(), StatusCode::kInvalidArgument)
        << "'" << state << "': " << old_state.ToString();
    Status new_state = store_->Write(
        [&](StoreTxn& txn) { return txn.AppendAlarmHistory(History("a", 1000, "OK", state)); });
    EXPECT_EQ(new_state.code(), StatusCode::kInvalidArgument)
        << "'" << state << "': " << new_state.ToString();
  }
  Status no_name =
      store_->Write([](StoreTxn& txn) { return txn.PutAlarmState(AlarmState("", "OK")); });
  EXPECT_EQ(no_name.code(), StatusCode::kInvalidArgument) << no_name.ToString();
  Status no_history_name =
      store_->Write([](StoreTxn& txn) { return txn.AppendAlarmHistory(History("", 1000)); });
  EXPECT_EQ(no_history_name.code(), StatusCode::kInvalidArgument) << no_history_name.ToString();
  // The message names the alarm and the offending value.
  Status named =
      store_->Write([](StoreTxn& txn) { return txn.PutAlarmState(AlarmState("errors", "ok")); });
  EXPECT_NE(named.message().find("errors"), std::string::npos) << named.message();
  EXPECT_NE(named.message().find("'ok'"), std::string::npos) << named.message();

  EXPECT_TRUE(AlarmStateNames().empty());
  EXPECT_TRUE(HistoryReasons("a").empty());
}

TEST_P(StateStoreContractTest, MetricRollupsAreListedByMinuteWithinTheHalfOpenRange) {
  MustWrite([](StoreTxn& txn) {
    // Out of order, two metrics, one whose name is a prefix of the other's.
    return txn.PutMetricRollups({Rollup("m", 12), Rollup("m", 10), Rollup("m2", 11),
                                 Rollup("m", 11), Rollup("m", -1), Rollup("m", 14)});
  });
  EXPECT_EQ(Rollups("m", 10, 14),
            (std::vector<std::string>{"m@10=m@10", "m@11=m@11", "m@12=m@12"}));
  EXPECT_EQ(Rollups("m", -5, 11), (std::vector<std::string>{"m@-1=m@-1", "m@10=m@10"}));
  EXPECT_EQ(Rollups("m2", 0, 100), (std::vector<std::string>{"m2@11=m2@11"}));
  EXPECT_TRUE(Rollups("m", 11, 11).empty());
  EXPECT_TRUE(Rollups("m", 14, 10).empty());
  EXPECT_TRUE(Rollups("other", 0, 100).empty());
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Rollups("m", kMin, kMax).size(), 5u);
}

TEST_P(StateStoreContractTest, MetricRollupDataIsKeptByteForByte) {
  const std::string binary("\x01\x00\xff\x80 \"'\\\n\x00", 10);
  const std::string metric =
      R"({"n":"AWS/Lambda","m":"Duration","d":[["FunctionName","fn\u0000é"]]})";
  MustWrite([&](StoreTxn& txn) {
    return txn.PutMetricRollups({{metric, 7, binary}, {metric, 8, ""}});
  });
  Status st = store_->Read([&](StoreTxn& txn) {
    auto list = txn.ListMetricRollups(metric, 0, 10);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    if (!list.ok()) return list.status();
    EXPECT_EQ(list->size(), 2u);
    if (list->size() == 2) {
      EXPECT_EQ((*list)[0].metric, metric);
      EXPECT_EQ((*list)[0].minute, 7);
      EXPECT_EQ((*list)[0].data, binary);
      EXPECT_EQ((*list)[1].data, "");
    }
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_P(StateStoreContractTest, PutMetricRollupsReplacesTheSameMinuteAndTheLaterRecordWins) {
  MustWrite([](StoreTxn& txn) { return txn.PutMetricRollups({Rollup("m", 1, "old")}); });
  MustWrite([](StoreTxn& txn) {
    return txn.PutMetricRollups({Rollup("m", 1, "first"), Rollup("m", 2), Rollup("m", 1, "new")});
  });
  EXPECT_EQ(Rollups("m", 0, 10), (std::vector<std::string>{"m@1=new", "m@2=m@2"}));
  MustWrite([](StoreTxn& txn) { return txn.PutMetricRollups({}); });
  EXPECT_EQ(Rollups("m", 0, 10).size(), 2u);
}

TEST_P(StateStoreContractTest, DeleteMetricRollupsBeforeRemovesOlderMinutesOfEveryMetric) {
  MustWrite([](StoreTxn& txn) {
    return txn.PutMetricRollups({Rollup("a", 99), Rollup("a", 100), Rollup("a", 101),
                                 Rollup("b", -3), Rollup("b", 100), Rollup("c", 5)});
  });
  MustWrite([](StoreTxn& txn) { return txn.DeleteMetricRollupsBefore(100); });
  EXPECT_EQ(Rollups("a", -1000, 1000), (std::vector<std::string>{"a@100=a@100", "a@101=a@101"}));
  EXPECT_EQ(Rollups("b", -1000, 1000), (std::vector<std::string>{"b@100=b@100"}));
  EXPECT_TRUE(Rollups("c", -1000, 1000).empty());
  // Nothing older: a no-op; the extremes do not overflow.
  MustWrite([](StoreTxn& txn) { return txn.DeleteMetricRollupsBefore(100); });
  MustWrite([](StoreTxn& txn) {
    return txn.DeleteMetricRollupsBefore(std::numeric_limits<int64_t>::min());
  });
  EXPECT_EQ(Rollups("a", -1000, 1000).size(), 2u);
  MustWrite([](StoreTxn& txn) {
    return txn.DeleteMetricRollupsBefore(std::numeric_limits<int64_t>::max());
  });
  EXPECT_TRUE(Rollups("a", -1000, 1000).empty());
  EXPECT_TRUE(Rollups("b", -1000, 1000).empty());
}

TEST_P(StateStoreContractTest, MetricRollupWithoutAMetricIsInvalidAndWritesNoneOfTheBatch) {
  Status ignored_error;
  // The callback ignores the error and commits: the call itself must have written nothing.
  MustWrite([&](StoreTxn& txn) {
    ignored_error = txn.PutMetricRollups({Rollup("m", 1), Rollup("", 2, "x"), Rollup("m", 3)});
    return Status::Ok();
  });
  EXPECT_EQ(ignored_error.code(), StatusCode::kInvalidArgument) << ignored_error.ToString();
  EXPECT_NE(ignored_error.message().find("minute 2"), std::string::npos) << ignored_error.message();
  EXPECT_TRUE(Rollups("m", 0, 10).empty());
}

TEST_P(StateStoreContractTest, MetricRollupWritesRollBackAndAreRefusedInsideRead) {
  MustWrite([](StoreTxn& txn) { return txn.PutMetricRollups({Rollup("m", 1), Rollup("m", 2)}); });
  Status st = store_->Write([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutMetricRollups({Rollup("m", 3), Rollup("m", 1, "changed")}));
    CUTOVER_RETURN_IF_ERROR(txn.DeleteMetricRollupsBefore(2));
    // The transaction sees its own writes.
    auto list = txn.ListMetricRollups("m", 0, 10);
    if (!list.ok()) return list.status();
    EXPECT_EQ(Describe(*list), (std::vector<std::string>{"m@2=m@2", "m@3=m@3"}));
    return Unavailable("abort");
  });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(Rollups("m", 0, 10), (std::vector<std::string>{"m@1=m@1", "m@2=m@2"}));

  st = store_->Read([](StoreTxn& txn) {
    EXPECT_EQ(txn.PutMetricRollups({Rollup("m", 5)}).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn.DeleteMetricRollupsBefore(100).code(), StatusCode::kFailedPrecondition);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  // A write that touches other records keeps the rollups.
  MustWrite([](StoreTxn& txn) { return txn.PutService(Service("shop", "dev")); });
  EXPECT_EQ(Rollups("m", 0, 10), (std::vector<std::string>{"m@1=m@1", "m@2=m@2"}));
}

DeploymentRecord Deployment(const std::string& id, const std::string& status,
                            int64_t created_ms = 1000, const std::string& fn = "svc-dev-web",
                            const std::string& alias = "Live") {
  DeploymentRecord r;
  r.id = id;
  r.function_name = fn;
  r.alias = alias;
  r.status = status;
  r.created_ms = created_ms;
  r.updated_ms = created_ms + 1;
  r.data = R"({"target":2})";
  return r;
}

DeploymentEventRecord Event(const std::string& id, uint64_t seq, const std::string& type = "Step") {
  return DeploymentEventRecord{id, seq, static_cast<int64_t>(1000 + seq), type,
                               "{\"seq\":" + std::to_string(seq) + "}"};
}

TEST_P(StateStoreContractTest, DeploymentReadsBackAndIsReplacedByPut) {
  MustWrite([](StoreTxn& txn) { return txn.PutDeployment(Deployment("d-A", "InProgress")); });
  MustWrite([](StoreTxn& txn) {
    DeploymentRecord r = Deployment("d-A", "Succeeded");
    r.data = R"({"done":true})";
    return txn.PutDeployment(r);
  });
  Status st = store_->Read([](StoreTxn& txn) {
    auto got = txn.GetDeployment("d-A");
    if (!got.ok()) return got.status();
    EXPECT_TRUE(got->has_value());
    if (!got->has_value()) return Status::Ok();
    EXPECT_EQ((*got)->status, "Succeeded");
    EXPECT_EQ((*got)->function_name, "svc-dev-web");
    EXPECT_EQ((*got)->alias, "Live");
    EXPECT_EQ((*got)->created_ms, 1000);
    EXPECT_EQ((*got)->updated_ms, 1001);
    EXPECT_EQ((*got)->data, R"({"done":true})");
    auto missing = txn.GetDeployment("d-B");
    EXPECT_TRUE(missing.ok() && !missing->has_value());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_P(StateStoreContractTest, OnlyOneActiveDeploymentPerAlias) {
  MustWrite([](StoreTxn& txn) { return txn.PutDeployment(Deployment("d-A", "InProgress")); });
  // Another alias, another function: fine.
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(
        txn.PutDeployment(Deployment("d-B", "InProgress", 1000, "svc-dev-web", "Beta")));
    return txn.PutDeployment(Deployment("d-C", "Created", 1000, "svc-dev-api"));
  });
  Status st = store_->Write(
      [](StoreTxn& txn) { return txn.PutDeployment(Deployment("d-D", "Created", 2000)); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  // An ended one does not count, and ending the active one frees the alias.
  MustWrite([](StoreTxn& txn) { return txn.PutDeployment(Deployment("d-E", "Failed", 2000)); });
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutDeployment(Deployment("d-A", "Stopped")));
    return txn.PutDeployment(Deployment("d-D", "Created", 3000));
  });
  st = store_->Read([](StoreTxn& txn) {
    auto active = txn.ListActiveDeployments();
    if (!active.ok()) return active.status();
    std::vector<std::string> ids;
    for (const auto& d : *active) ids.push_back(d.id);
    EXPECT_EQ(ids, (std::vector<std::string>{"d-B", "d-C", "d-D"}));
    auto all = txn.ListDeployments("", 100);
    if (!all.ok()) return all.status();
    ids.clear();
    for (const auto& d : *all) ids.push_back(d.id);
    EXPECT_EQ(ids, (std::vector<std::string>{"d-D", "d-E", "d-C", "d-B", "d-A"}));
    auto web = txn.ListDeployments("svc-dev-web", 2);
    if (!web.ok()) return web.status();
    ids.clear();
    for (const auto& d : *web) ids.push_back(d.id);
    EXPECT_EQ(ids, (std::vector<std::string>{"d-D", "d-E"}));
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_P(StateStoreContractTest, MalformedDeploymentsAreInvalid) {
  for (DeploymentRecord bad : {Deployment("", "Created"), Deployment("d-A", "Running"),
                               Deployment("d-A", "Created", 1, ""),
                               Deployment("d-A", "Created", 1, "fn", "")}) {
    Status st = store_->Write([&](StoreTxn& txn) { return txn.PutDeployment(bad); });
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad.id << " " << bad.status;
  }
}

TEST_P(StateStoreContractTest, DeploymentEventsAppendWithoutGapsAndReadAfterASeq) {
  MustWrite([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutDeployment(Deployment("d-A", "InProgress")));
    CUTOVER_RETURN_IF_ERROR(txn.AppendDeploymentEvent(Event("d-A", 1, "Start")));
    return txn.AppendDeploymentEvent(Event("d-A", 2));
  });
  // A gap, a rewrite, an unknown deployment and a missing type are refused.
  for (const DeploymentEventRecord& bad :
       {Event("d-A", 4), Event("d-A", 2), Event("d-X", 1), Event("d-A", 3, "")}) {
    Status st = store_->Write([&](StoreTxn& txn) { return txn.AppendDeploymentEvent(bad); });
    EXPECT_FALSE(st.ok()) << bad.deployment_id << " " << bad.seq;
  }
  MustWrite([](StoreTxn& txn) { return txn.AppendDeploymentEvent(Event("d-A", 3)); });
  Status st = store_->Read([](StoreTxn& txn) {
    auto events = txn.ListDeploymentEvents("d-A", 1);
    if (!events.ok()) return events.status();
    EXPECT_EQ(events->size(), 2u);
    if (events->size() == 2) {
      EXPECT_EQ((*events)[0].seq, 2u);
      EXPECT_EQ((*events)[1].seq, 3u);
      EXPECT_EQ((*events)[1].data, R"({"seq":3})");
      EXPECT_EQ((*events)[1].time_ms, 1003);
    }
    auto all = txn.ListDeploymentEvents("d-A", 0);
    EXPECT_TRUE(all.ok() && all->size() == 3 && (*all)[0].type == "Start");
    auto none = txn.ListDeploymentEvents("d-X", 0);
    EXPECT_TRUE(none.ok() && none->empty());
    EXPECT_EQ(txn.AppendDeploymentEvent(Event("d-A", 4)).code(), StatusCode::kFailedPrecondition);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Stores, StateStoreContractTest,
    ::testing::Values(
        StoreKind{"Sqlite", [](const fs::path& dir) { return OpenSqliteOrDie(dir / "state.db"); }},
        StoreKind{"Memory", [](const fs::path&) { return CreateMemoryStore(); }},
        StoreKind{"Etcd", [](const fs::path& dir) { return EtcdBackedStore::Open(dir); }}),
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

TEST(SqliteStoreTest, AlarmStatesAndHistoryPersistAcrossCloseAndReopen) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  const AlarmStateRecord errors = AlarmState("errors", "ALARM", 5000);
  {
    auto store = OpenSqliteOrDie(file);
    ASSERT_NE(store, nullptr);
    Status st = store->Write([&](StoreTxn& txn) {
      CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(errors));
      CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("latency", "OK")));
      CUTOVER_RETURN_IF_ERROR(
          txn.AppendAlarmHistory(History("errors", 1000, "INSUFFICIENT_DATA", "OK", "h1")));
      CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("errors", 5000, "OK", "ALARM", "h2")));
      return txn.AppendAlarmHistory(History("errors", 5000, "ALARM", "OK", "h3"));
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto store = OpenSqliteOrDie(file);
  ASSERT_NE(store, nullptr);
  // After a reopen, a new same-millisecond transition still lists first, and pruning still works.
  Status st = store->Write([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("errors", 5000, "OK", "ALARM", "h4")));
    return txn.AppendAlarmHistory(History("errors", 1001 + 14 * kDayMs, "ALARM", "OK", "h5"));
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  st = store->Read([&](StoreTxn& txn) {
    auto states = txn.ListAlarmStates();
    EXPECT_TRUE(states.ok());
    EXPECT_EQ(states->size(), 2u);
    if (states.ok() && !states->empty()) ExpectSameAlarmState(states->front(), errors);
    auto history = txn.ListAlarmHistory("errors", 10);
    EXPECT_TRUE(history.ok());
    std::vector<std::string> reasons;
    for (const auto& h : *history) reasons.push_back(h.reason);
    EXPECT_EQ(reasons, (std::vector<std::string>{"h5", "h4", "h3", "h2"}));
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
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

// Schema version 1 exactly as cutover 0.1 shipped it (including the schema_version table that
// MigrateSchema creates), frozen here rather than read from Migrations(): an edit to a shipped
// migration then shows up as a difference between an upgraded and a fresh database.
constexpr const char* kShippedSchemaV1 = R"sql(
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);

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

INSERT INTO schema_version (version, applied_ms) VALUES (1, 111);
)sql";

// Writes a schema-1 database at `file`, with one service, two versions and an alias, the way a
// cutover 0.1 daemon would have left it (WAL mode).
void WriteSchemaV1Database(const fs::path& file, const char* extra_sql = "") {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
            SQLITE_OK);
  const std::string script =
      std::string("PRAGMA journal_mode=WAL; BEGIN;") + kShippedSchemaV1 +
      "INSERT INTO services VALUES ('shop', 'dev', '{}', 'c1', 1000);"
      "INSERT INTO versions VALUES ('fn', 1, 'shop', 'dev', 'code1', 'cfg1', '{}', 2001);"
      "INSERT INTO versions VALUES ('fn', 2, 'shop', 'dev', 'code2', 'cfg2', '{}', 2002);"
      "INSERT INTO aliases VALUES ('fn', 'Live', 1, 2, 0.25, 3000);" +
      extra_sql + "COMMIT;";
  char* err = nullptr;
  const int rc = sqlite3_exec(db, script.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// Every table and index of the file with its DDL, by name.
std::string SchemaOf(const fs::path& file) {
  RawDb raw(file);
  return raw.QueryText(
      "SELECT group_concat(type || ' ' || name || ': ' || sql, char(10)) FROM "
      "(SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name)");
}

TEST(SqliteStoreTest, SchemaV1DatabaseIsUpgradedInPlace) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  WriteSchemaV1Database(file);
  {
    RawDb raw(file);
    auto version = ReadSchemaVersion(raw.get());
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    ASSERT_EQ(*version, 1);
  }

  auto store = OpenSqliteOrDie(file);
  ASSERT_NE(store, nullptr);
  // The schema-1 records read back unchanged ...
  Status st = store->Read([](StoreTxn& txn) {
    auto service = txn.GetService("shop", "dev");
    EXPECT_TRUE(service.ok() && service->has_value());
    auto versions = txn.ListVersions("fn");
    EXPECT_TRUE(versions.ok());
    EXPECT_EQ(versions->size(), 2u);
    auto live = txn.GetAlias("fn", "Live");
    EXPECT_TRUE(live.ok() && live->has_value());
    if (live.ok() && live->has_value()) {
      EXPECT_EQ((*live)->primary_version, 1u);
      EXPECT_EQ((*live)->additional_version, 2u);
      EXPECT_EQ((*live)->additional_weight, 0.25);
    }
    EXPECT_TRUE(txn.ListAlarmStates()->empty());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  // ... and the new tables work.
  st = store->Write([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.PutAlarmState(AlarmState("errors", "ALARM")));
    return txn.AppendAlarmHistory(History("errors", 1000));
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  store.reset();

  {
    RawDb raw(file);
    auto version = ReadSchemaVersion(raw.get());
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    EXPECT_EQ(*version, LatestSchemaVersion());
    // Migration 1's row is kept; the later migrations add their own.
    EXPECT_EQ(raw.QueryText("SELECT group_concat(version || '@' || (applied_ms = 111)) FROM "
                            "(SELECT * FROM schema_version ORDER BY version)"),
              "1@1,2@0,3@0,4@0");
    EXPECT_EQ(raw.QueryText("SELECT count(*) FROM alarm_history"), "1");
  }
  // An upgraded database has exactly the schema of a fresh one.
  const fs::path fresh = dir.path() / "fresh.db";
  ASSERT_NE(OpenSqliteOrDie(fresh), nullptr);
  EXPECT_EQ(SchemaOf(file), SchemaOf(fresh));
  EXPECT_NE(SchemaOf(fresh).find("alarm_history_by_name_time"), std::string::npos);
  // Reopening an upgraded database migrates nothing more.
  ASSERT_NE(OpenSqliteOrDie(file), nullptr);
  RawDb raw(file);
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM schema_version"),
            std::to_string(LatestSchemaVersion()));
}

TEST(SqliteStoreTest, FailedUpgradeLeavesTheSchemaV1DatabaseUntouched) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  // A table in the way of migration 2 makes it fail half way (after alarm_states is created).
  WriteSchemaV1Database(file, "CREATE TABLE alarm_history (x INTEGER);");
  auto store = OpenSqliteStore(file);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("schema migration 2"), std::string::npos)
      << store.status().ToString();
  RawDb raw(file);
  auto version = ReadSchemaVersion(raw.get());
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version, 1);
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM sqlite_master WHERE name = 'alarm_states'"), "0");
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM versions"), "2");
}

// Schema version 2 (migration 2) exactly as it shipped, frozen like kShippedSchemaV1; applied on
// top of it, with migration 2's row recorded at applied_ms 222.
constexpr const char* kShippedSchemaV2 = R"sql(
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

INSERT INTO schema_version (version, applied_ms) VALUES (2, 222);
)sql";

// A schema-2 database: the schema-1 records plus an alarm state and two history entries.
void WriteSchemaV2Database(const fs::path& file, const std::string& extra_sql = "") {
  const std::string v2 =
      std::string(kShippedSchemaV2) +
      "INSERT INTO alarm_states VALUES ('errors', 'ALARM', 'r', '{}', 5000, 'def');"
      "INSERT INTO alarm_history (name, timestamp_ms, old_state, new_state, reason, reason_data) "
      "VALUES ('errors', 1000, 'INSUFFICIENT_DATA', 'OK', 'h1', '');"
      "INSERT INTO alarm_history (name, timestamp_ms, old_state, new_state, reason, reason_data) "
      "VALUES ('errors', 5000, 'OK', 'ALARM', 'h2', '');" +
      extra_sql;
  WriteSchemaV1Database(file, v2.c_str());
}

TEST(SqliteStoreTest, SchemaV2DatabaseIsUpgradedInPlace) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  WriteSchemaV2Database(file);
  {
    RawDb raw(file);
    auto version = ReadSchemaVersion(raw.get());
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    ASSERT_EQ(*version, 2);
  }

  auto store = OpenSqliteOrDie(file);
  ASSERT_NE(store, nullptr);
  // The schema-2 records read back unchanged ...
  Status st = store->Read([](StoreTxn& txn) {
    EXPECT_EQ(txn.ListVersions("fn")->size(), 2u);
    auto state = txn.GetAlarmState("errors");
    EXPECT_TRUE(state.ok() && state->has_value());
    if (state.ok() && state->has_value()) {
      EXPECT_EQ((*state)->state, "ALARM");
      EXPECT_EQ((*state)->definition_sha256, "def");
    }
    auto history = txn.ListAlarmHistory("errors", 10);
    EXPECT_TRUE(history.ok());
    std::vector<std::string> reasons;
    for (const auto& h : *history) reasons.push_back(h.reason);
    EXPECT_EQ(reasons, (std::vector<std::string>{"h2", "h1"}));
    EXPECT_TRUE(txn.ListMetricRollups("m", 0, 100)->empty());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  // ... the old tables still take writes, and the new one works.
  st = store->Write([](StoreTxn& txn) {
    CUTOVER_RETURN_IF_ERROR(txn.AppendAlarmHistory(History("errors", 6000, "ALARM", "OK", "h3")));
    return txn.PutMetricRollups({Rollup("m", 1), Rollup("m", 2)});
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  store.reset();

  {
    RawDb raw(file);
    auto version = ReadSchemaVersion(raw.get());
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    EXPECT_EQ(*version, LatestSchemaVersion());
    // Rows of migrations 1 and 2 are kept; the later migrations add their own.
    EXPECT_EQ(raw.QueryText("SELECT group_concat(version || '@' || (applied_ms IN (111, 222))) "
                            "FROM (SELECT * FROM schema_version ORDER BY version)"),
              "1@1,2@1,3@0,4@0");
    EXPECT_EQ(raw.QueryText("SELECT count(*) FROM metric_rollups"), "2");
    EXPECT_EQ(raw.QueryText("SELECT count(*) FROM alarm_history"), "3");
  }
  // An upgraded database has exactly the schema of a fresh one.
  const fs::path fresh = dir.path() / "fresh.db";
  ASSERT_NE(OpenSqliteOrDie(fresh), nullptr);
  EXPECT_EQ(SchemaOf(file), SchemaOf(fresh));
  EXPECT_NE(SchemaOf(fresh).find("metric_rollups_by_minute"), std::string::npos);
  // Reopening an upgraded database migrates nothing more, and the rollups are still there.
  auto reopened = OpenSqliteOrDie(file);
  ASSERT_NE(reopened, nullptr);
  st = reopened->Read([](StoreTxn& txn) {
    EXPECT_EQ(Describe(*txn.ListMetricRollups("m", 0, 100)),
              (std::vector<std::string>{"m@1=m@1", "m@2=m@2"}));
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  RawDb raw(file);
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM schema_version"),
            std::to_string(LatestSchemaVersion()));
}

TEST(SqliteStoreTest, FailedUpgradeLeavesTheSchemaV2DatabaseUntouched) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  // A table named like migration 3's index makes it fail half way (after metric_rollups exists).
  WriteSchemaV2Database(file, "CREATE TABLE metric_rollups_by_minute (x INTEGER);");
  auto store = OpenSqliteStore(file);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("schema migration 3"), std::string::npos)
      << store.status().ToString();
  RawDb raw(file);
  auto version = ReadSchemaVersion(raw.get());
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version, 2);
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM sqlite_master WHERE name = 'metric_rollups'"), "0");
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM alarm_history"), "2");
}

// The query plan of `sql` (EXPLAIN QUERY PLAN's detail column, one step per line).
std::string QueryPlan(RawDb& raw, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  const std::string explain = std::string("EXPLAIN QUERY PLAN ") + sql;
  if (sqlite3_prepare_v2(raw.get(), explain.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(raw.get());
    return "";
  }
  std::string plan;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    plan += "\n";
  }
  sqlite3_finalize(stmt);
  return plan;
}

TEST(SqliteStoreTest, MetricRollupsAreReadByKeyAndPrunedThroughTheMinuteIndex) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  ASSERT_NE(OpenSqliteOrDie(file), nullptr);
  RawDb raw(file);
  // The same statements as ListMetricRollups and DeleteMetricRollupsBefore in sqlite_store.cc.
  const std::string list = QueryPlan(raw,
                                     "SELECT metric, minute, data FROM metric_rollups "
                                     "WHERE metric = ?1 AND minute >= ?2 AND minute < ?3 "
                                     "ORDER BY minute");
  EXPECT_NE(list.find("PRIMARY KEY"), std::string::npos) << list;
  EXPECT_EQ(list.find("TEMP B-TREE"), std::string::npos) << list;
  const std::string prune = QueryPlan(raw, "DELETE FROM metric_rollups WHERE minute < ?1");
  EXPECT_NE(prune.find("metric_rollups_by_minute"), std::string::npos) << prune;
}

TEST(SqliteStoreTest, MetricRollupsPersistAcrossCloseAndReopen) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  const std::string blob("\x01\x00\x02", 3);
  {
    auto store = OpenSqliteOrDie(file);
    ASSERT_NE(store, nullptr);
    Status st = store->Write([&](StoreTxn& txn) {
      return txn.PutMetricRollups({Rollup("a", 1, blob), Rollup("a", 2), Rollup("b", 1)});
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto store = OpenSqliteOrDie(file);
  ASSERT_NE(store, nullptr);
  Status st = store->Read([&](StoreTxn& txn) {
    auto a = txn.ListMetricRollups("a", 0, 10);
    EXPECT_TRUE(a.ok());
    EXPECT_EQ(a->size(), 2u);
    if (a.ok() && !a->empty()) {
      EXPECT_EQ(a->front().data, blob);
    }
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  // Stored as a BLOB (typeof), not as text.
  RawDb raw(file);
  EXPECT_EQ(
      raw.QueryText("SELECT typeof(data) FROM metric_rollups WHERE metric = 'a' AND minute = 1"),
      "blob");
}

TEST(SqliteStoreTest, AlarmStateChecksAreEnforcedBySqliteItself) {
  // The stores check records first; the schema would catch a direct write as well.
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  ASSERT_NE(OpenSqliteOrDie(file), nullptr);
  RawDb raw(file);
  sqlite3_extended_result_codes(raw.get(), 1);
  for (const char* sql : {
           "INSERT INTO alarm_states VALUES ('a', 'PENDING', '', '', 0, '')",
           "INSERT INTO alarm_states VALUES ('', 'OK', '', '', 0, '')",
           "INSERT INTO alarm_history (name, timestamp_ms, old_state, new_state, reason, "
           "reason_data) VALUES ('a', 0, 'OK', 'ok', '', '')",
           "INSERT INTO alarm_history (name, timestamp_ms, old_state, new_state, reason, "
           "reason_data) VALUES ('a', 0, '', 'OK', '', '')",
       }) {
    EXPECT_EQ(sqlite3_exec(raw.get(), sql, nullptr, nullptr, nullptr), SQLITE_CONSTRAINT_CHECK)
        << sql;
  }
  EXPECT_EQ(sqlite3_exec(raw.get(), "INSERT INTO alarm_states VALUES ('a', 'OK', '', '', 0, '')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(raw.get(), "INSERT INTO alarm_states VALUES ('a', 'OK', '', '', 0, '')",
                         nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT_PRIMARYKEY);
}

TEST(SqliteStoreTest, AlarmHistoryIsReadNewestFirstThroughTheIndexWithoutASort) {
  TempDir dir;
  const fs::path file = dir.path() / "state.db";
  ASSERT_NE(OpenSqliteOrDie(file), nullptr);
  RawDb raw(file);
  // The same query as ListAlarmHistory in sqlite_store.cc.
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw.get(),
                               "EXPLAIN QUERY PLAN SELECT name, timestamp_ms, old_state, "
                               "new_state, reason, reason_data FROM alarm_history WHERE name = ?1 "
                               "ORDER BY timestamp_ms DESC, id DESC LIMIT ?2",
                               -1, &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(raw.get());
  std::string plan;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    plan += "\n";
  }
  sqlite3_finalize(stmt);
  EXPECT_NE(plan.find("alarm_history_by_name_time"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
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
