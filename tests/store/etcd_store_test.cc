// What only the etcd store promises, against a real etcd started per test: two nodes (two stores on
// one etcd) see each other's writes; a transaction that lost to another node's write runs again on
// the new state, so two nodes never both apply the same step; the documented key layout; etcd
// going away and coming back; `--store` parsing. The contract shared with the other stores is in
// state_store_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "etcd_server.h"
#include "store/etcd_client.h"
#include "store/state_store.h"

namespace cutover::store {
namespace {

namespace fs = std::filesystem;
using test_support::EtcdServer;

class EtcdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::Installed()) {
      GTEST_SKIP() << EtcdServer::kBinary << " is not installed (scripts/install-deps)";
    }
    char tmpl[] = "/tmp/cutover-etcd-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    etcd_ = std::make_unique<EtcdServer>(dir_ / "etcd");
    ASSERT_TRUE(etcd_->started()) << etcd_->log();
  }

  void TearDown() override {
    etcd_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // A node: the etcd store with its own local rollup store.
  std::unique_ptr<StateStore> OpenNode(const std::string& name,
                                       const std::string& url_suffix = "") {
    auto location = ParseStoreLocation("etcd://" + etcd_->endpoint() + url_suffix);
    EXPECT_TRUE(location.ok()) << location.status().ToString();
    if (!location.ok()) return nullptr;
    auto local = OpenSqliteStore(dir_ / (name + ".db"));
    EXPECT_TRUE(local.ok()) << local.status().ToString();
    if (!local.ok()) return nullptr;
    auto store = OpenEtcdStore(*location, std::move(local).value());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return nullptr;
    return std::move(store).value();
  }

  std::unique_ptr<EtcdClient> Client() {
    auto client = EtcdClient::Create(etcd_->endpoint());
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  fs::path dir_;
  std::unique_ptr<EtcdServer> etcd_;
};

VersionRecord Version(const std::string& fn, uint32_t v) {
  VersionRecord r;
  r.function_name = fn;
  r.version = v;
  r.service = "svc";
  r.stage = "dev";
  r.code_sha256 = "code" + std::to_string(v);
  r.config_sha256 = "config";
  r.config_json = "{}";
  r.created_ms = 1000 + v;
  return r;
}

DeploymentRecord Deployment(const std::string& id) {
  DeploymentRecord d;
  d.id = id;
  d.function_name = "fn";
  d.alias = "Live";
  d.status = "InProgress";
  d.created_ms = 1;
  d.updated_ms = 1;
  d.data = "{}";
  return d;
}

// Appends the deployment's next event, numbered from what the transaction reads.
Status AppendNext(StateStore& store, const std::string& id, const std::string& type,
                  int* runs = nullptr) {
  return store.Write([&](StoreTxn& txn) -> Status {
    if (runs) ++*runs;
    auto events = txn.ListDeploymentEvents(id, 0);
    if (!events.ok()) return events.status();
    const uint64_t next = events->empty() ? 1 : events->back().seq + 1;
    return txn.AppendDeploymentEvent({id, next, 0, type, "{}"});
  });
}

std::vector<DeploymentEventRecord> Events(StateStore& store, const std::string& id) {
  std::vector<DeploymentEventRecord> out;
  Status st = store.Read([&](StoreTxn& txn) -> Status {
    auto events = txn.ListDeploymentEvents(id, 0);
    if (!events.ok()) return events.status();
    out = std::move(*events);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST_F(EtcdStoreTest, TwoNodesSeeEachOthersWrites) {
  auto a = OpenNode("a");
  auto b = OpenNode("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Write([](StoreTxn& txn) {
                 CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 1)));
                 CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("fn", 2)));
                 return txn.PutAlias({"fn", "Live", 1, 2, 0.25, 5});
               }).ok());
  std::optional<AliasRecord> seen;
  ASSERT_TRUE(b->Read([&](StoreTxn& txn) -> Status {
                 auto alias = txn.GetAlias("fn", "Live");
                 if (!alias.ok()) return alias.status();
                 seen = *alias;
                 return Status::Ok();
               }).ok());
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->primary_version, 1u);
  EXPECT_EQ(seen->additional_version, 2u);
  EXPECT_EQ(seen->additional_weight, 0.25);
  // A version B publishes is immutable for A too.
  Status again = a->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 2)); });
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
}

TEST_F(EtcdStoreTest, ATransactionThatLostToAnotherNodeRunsAgainOnTheNewState) {
  auto a = OpenNode("a");
  auto b = OpenNode("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Write([](StoreTxn& txn) { return txn.PutDeployment(Deployment("d-1")); }).ok());
  int runs = 0;
  Status st = a->Write([&](StoreTxn& txn) -> Status {
    ++runs;
    auto events = txn.ListDeploymentEvents("d-1", 0);
    if (!events.ok()) return events.status();
    if (runs == 1) {
      // Node B applies step 1 after A read the log but before A commits.
      Status b_step = AppendNext(*b, "d-1", "FromB");
      EXPECT_TRUE(b_step.ok()) << b_step.ToString();
    }
    const uint64_t next = events->empty() ? 1 : events->back().seq + 1;
    return txn.AppendDeploymentEvent({"d-1", next, 0, "FromA", "{}"});
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(runs, 2);  // the first run's commit lost; the second saw B's event
  auto events = Events(*a, "d-1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].seq, 1u);
  EXPECT_EQ(events[0].type, "FromB");
  EXPECT_EQ(events[1].seq, 2u);
  EXPECT_EQ(events[1].type, "FromA");
}

TEST_F(EtcdStoreTest, ConcurrentNodesNeverApplyTheSameStepTwice) {
  auto a = OpenNode("a");
  auto b = OpenNode("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Write([](StoreTxn& txn) { return txn.PutDeployment(Deployment("d-1")); }).ok());
  constexpr int kEach = 40;
  std::atomic<int> failures{0};
  auto node = [&](StateStore* store, std::string type) {
    for (int i = 0; i < kEach; ++i) {
      if (!AppendNext(*store, "d-1", type).ok()) ++failures;
    }
  };
  std::thread ta(node, a.get(), "A");
  std::thread tb(node, b.get(), "B");
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  auto events = Events(*b, "d-1");
  ASSERT_EQ(events.size(), 2u * kEach);
  int from_a = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, i + 1);  // no gap, no step applied twice
    from_a += events[i].type == "A";
  }
  EXPECT_EQ(from_a, kEach);
}

TEST_F(EtcdStoreTest, RecordsLiveUnderTheDocumentedKeys) {
  auto a = OpenNode("a");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->Write([](StoreTxn& txn) {
                 CUTOVER_RETURN_IF_ERROR(txn.PutService({"svc", "dev", "{}", "abc", 1}));
                 CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(Version("svc-dev/fn", 7)));
                 CUTOVER_RETURN_IF_ERROR(txn.PutAlias({"svc-dev/fn", "Live", 7, 0, 0, 2}));
                 return txn.PutDeployment(Deployment("d-ABC"));
               }).ok());
  auto client = Client();
  ASSERT_TRUE(client);
  auto all = client->Range("/cutover/", EtcdClient::PrefixEnd("/cutover/"));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::set<std::string> keys;
  for (const auto& kv : all->kvs) keys.insert(kv.key);
  EXPECT_EQ(keys, (std::set<std::string>{
                      "/cutover/format",
                      "/cutover/txn",
                      "/cutover/services/svc/dev",
                      "/cutover/versions/svc-dev%2Ffn/0000000007",
                      "/cutover/aliases/svc-dev%2Ffn/Live",
                      "/cutover/deployments/d-ABC",
                  }));
  auto alias = client->Range("/cutover/aliases/svc-dev%2Ffn/Live", "");
  ASSERT_TRUE(alias.ok());
  ASSERT_EQ(alias->kvs.size(), 1u);
  EXPECT_NE(alias->kvs[0].value.find("\"primary_version\":7"), std::string::npos)
      << alias->kvs[0].value;
}

TEST_F(EtcdStoreTest, PrefixesKeepTwoPlatformsApart) {
  auto blue = OpenNode("blue", "/blue");
  auto green = OpenNode("green", "/green/");
  ASSERT_TRUE(blue && green);
  ASSERT_TRUE(blue->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 1)); }).ok());
  size_t green_versions = 99;
  ASSERT_TRUE(green
                  ->Read([&](StoreTxn& txn) -> Status {
                    auto list = txn.ListVersions("");
                    if (!list.ok()) return list.status();
                    green_versions = list->size();
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(green_versions, 0u);
  auto client = Client();
  ASSERT_TRUE(client);
  auto v = client->Range("/blue/versions/fn/0000000001", "");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kvs.size(), 1u);
}

TEST_F(EtcdStoreTest, EtcdGoneIsUnavailableAndNothingIsLostWhenItReturns) {
  auto a = OpenNode("a");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 1)); }).ok());
  etcd_->Stop();
  Status down = a->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 2)); });
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.ToString();
  EXPECT_NE(down.message().find(etcd_->endpoint()), std::string::npos) << down.ToString();
  Status read = a->Read([](StoreTxn& txn) { return txn.ListVersions("").status(); });
  EXPECT_EQ(read.code(), StatusCode::kUnavailable) << read.ToString();

  ASSERT_TRUE(etcd_->Start()) << etcd_->log();
  std::vector<uint32_t> versions;
  ASSERT_TRUE(a->Read([&](StoreTxn& txn) -> Status {
                 auto list = txn.ListVersions("fn");
                 if (!list.ok()) return list.status();
                 for (const auto& v : *list) versions.push_back(v.version);
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(versions, std::vector<uint32_t>{1});  // the failed write left nothing
  EXPECT_TRUE(a->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 2)); }).ok());
}

TEST_F(EtcdStoreTest, OpeningWithoutEtcdSaysWhereItLooked) {
  const uint16_t nobody = test_support::FreeLoopbackPort();
  auto location = ParseStoreLocation("etcd://127.0.0.1:" + std::to_string(nobody));
  ASSERT_TRUE(location.ok());
  auto local = OpenSqliteStore(dir_ / "node.db");
  ASSERT_TRUE(local.ok());
  auto store = OpenEtcdStore(*location, std::move(local).value());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find("cannot reach etcd at http://127.0.0.1:" +
                                          std::to_string(nobody)),
            std::string::npos)
      << store.status().ToString();
}

TEST_F(EtcdStoreTest, AKeyspaceFromANewerLayoutIsRefused) {
  auto client = Client();
  ASSERT_TRUE(client);
  auto put = client->Txn({}, {{"/cutover/format", std::string("2")}});
  ASSERT_TRUE(put.ok() && put->succeeded);
  auto location = ParseStoreLocation("etcd://" + etcd_->endpoint());
  ASSERT_TRUE(location.ok());
  auto local = OpenSqliteStore(dir_ / "node.db");
  ASSERT_TRUE(local.ok());
  auto store = OpenEtcdStore(*location, std::move(local).value());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("format '2'"), std::string::npos)
      << store.status().ToString();
}

TEST_F(EtcdStoreTest, AnotherEndpointIsTriedWhenOneCannotBeReached) {
  const uint16_t nobody = test_support::FreeLoopbackPort();
  auto location =
      ParseStoreLocation("etcd://127.0.0.1:" + std::to_string(nobody) + "," + etcd_->endpoint());
  ASSERT_TRUE(location.ok()) << location.status().ToString();
  auto local = OpenSqliteStore(dir_ / "node.db");
  ASSERT_TRUE(local.ok());
  auto store = OpenEtcdStore(*location, std::move(local).value());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(
      (*store)->Write([](StoreTxn& txn) { return txn.InsertVersion(Version("fn", 1)); }).ok());
}

TEST(StoreLocationTest, ParsesSqliteAndEtcdAndRefusesTheRest) {
  auto sqlite = ParseStoreLocation("");
  ASSERT_TRUE(sqlite.ok());
  EXPECT_EQ(sqlite->kind, StoreLocation::Kind::kSqlite);
  ASSERT_TRUE(ParseStoreLocation("sqlite").ok());

  auto etcd = ParseStoreLocation("etcd://10.0.0.1:2379,10.0.0.2:2379/fleet");
  ASSERT_TRUE(etcd.ok()) << etcd.status().ToString();
  EXPECT_EQ(etcd->kind, StoreLocation::Kind::kEtcd);
  EXPECT_EQ(etcd->etcd_endpoints, "10.0.0.1:2379,10.0.0.2:2379");
  EXPECT_EQ(etcd->etcd_prefix, "/fleet/");
  auto bare = ParseStoreLocation("etcd://127.0.0.1:2379");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->etcd_prefix, "/cutover/");

  for (const char* bad : {"etcd://", "etcd://,127.0.0.1:2379", "postgres://x", "etcd://h:notaport",
                          "etcd://127.0.0.1:2379,"}) {
    auto r = ParseStoreLocation(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(EtcdClientTest, PrefixEndIsTheFirstKeyAfterThePrefix) {
  EXPECT_EQ(EtcdClient::PrefixEnd("/a/"), "/a0");
  EXPECT_EQ(EtcdClient::PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(EtcdClient::PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

}  // namespace
}  // namespace cutover::store
