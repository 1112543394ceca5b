// EtcdWatcher against a real etcd: it reports the revision of every change under its prefix and
// nothing outside it, replays what happened after a given revision, and comes back on its own
// after etcd was down, without missing a change.
#include "store/etcd_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <vector>

#include "etcd_server.h"
#include "store/etcd_client.h"

namespace cutover::store {
namespace {

namespace fs = std::filesystem;
using test_support::EtcdServer;
constexpr auto kDeadline = std::chrono::seconds(15);

// What the watcher reported, waited on with a deadline.
class Reports {
 public:
  EtcdWatchCallbacks Callbacks() {
    return {[this](int64_t revision) {
              std::lock_guard<std::mutex> lock(mu_);
              revisions_.push_back(revision);
              cv_.notify_all();
            },
            [this](bool connected, const std::string&) {
              std::lock_guard<std::mutex> lock(mu_);
              connected_ = connected;
              cv_.notify_all();
            }};
  }
  bool WaitForRevision(int64_t at_least) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline,
                        [&] { return !revisions_.empty() && revisions_.back() >= at_least; });
  }
  bool WaitForConnected(bool want) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return connected_ == want; });
  }
  std::vector<int64_t> revisions() {
    std::lock_guard<std::mutex> lock(mu_);
    return revisions_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> revisions_;
  bool connected_ = false;
};

class EtcdWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::Installed()) GTEST_SKIP() << EtcdServer::kBinary << " is not installed";
    char tmpl[] = "/tmp/cutover-watch-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    etcd_ = std::make_unique<EtcdServer>(dir_ / "etcd");
    ASSERT_TRUE(etcd_->started()) << etcd_->log();
    auto client = EtcdClient::Create(etcd_->endpoint());
    ASSERT_TRUE(client.ok());
    client_ = std::move(client).value();
  }
  void TearDown() override {
    etcd_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Puts key=value; the store's revision after it.
  int64_t Put(const std::string& key, const std::string& value) {
    auto r = client_->Txn({}, {{key, value}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->revision : 0;
  }

  fs::path dir_;
  std::unique_ptr<EtcdServer> etcd_;
  std::unique_ptr<EtcdClient> client_;
};

TEST_F(EtcdWatchTest, ReportsChangesUnderThePrefixOnly) {
  Reports reports;
  auto watcher = EtcdWatcher::Start(etcd_->endpoint(), "/cutover/", 0, reports.Callbacks());
  ASSERT_TRUE(watcher.ok()) << watcher.status().ToString();
  ASSERT_TRUE(reports.WaitForConnected(true));
  EXPECT_TRUE((*watcher)->connected());
  const int64_t outside = Put("/other/x", "1");
  const int64_t inside = Put("/cutover/aliases/fn/Live", "{}");
  ASSERT_GT(inside, outside);
  ASSERT_TRUE(reports.WaitForRevision(inside));
  for (int64_t r : reports.revisions()) EXPECT_NE(r, outside);
  // A delete is a change too.
  auto del = client_->Txn({}, {{"/cutover/aliases/fn/Live", std::nullopt}});
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(reports.WaitForRevision(del->revision));
}

TEST_F(EtcdWatchTest, ReplaysWhatHappenedAfterTheGivenRevision) {
  const int64_t before = Put("/cutover/a", "1");
  const int64_t change = Put("/cutover/b", "2");
  Reports reports;
  auto watcher = EtcdWatcher::Start(etcd_->endpoint(), "/cutover/", before, reports.Callbacks());
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE(reports.WaitForRevision(change));
  EXPECT_EQ(reports.revisions().front(), change);  // not `before`, which the caller already has
}

TEST_F(EtcdWatchTest, ComesBackAfterEtcdWasDownWithoutMissingAChange) {
  Reports reports;
  auto watcher = EtcdWatcher::Start(etcd_->endpoint(), "/cutover/", 0, reports.Callbacks());
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE(reports.WaitForConnected(true));
  const int64_t first = Put("/cutover/a", "1");
  ASSERT_TRUE(reports.WaitForRevision(first));

  etcd_->Stop();
  ASSERT_TRUE(reports.WaitForConnected(false));
  EXPECT_FALSE((*watcher)->connected());
  ASSERT_TRUE(etcd_->Start()) << etcd_->log();
  // Written before the watcher is back (it may or may not have reconnected yet): still reported.
  const int64_t second = Put("/cutover/b", "2");
  EXPECT_TRUE(reports.WaitForRevision(second));
  EXPECT_TRUE(reports.WaitForConnected(true));
}

TEST_F(EtcdWatchTest, BadEndpointsAreRefusedAtStart) {
  Reports reports;
  auto watcher = EtcdWatcher::Start("127.0.0.1:notaport", "/cutover/", 0, reports.Callbacks());
  EXPECT_FALSE(watcher.ok());
}

}  // namespace
}  // namespace cutover::store
