// EtcdElection against a real etcd: one leader among several nodes; a node that resigns is
// replaced at once, one that dies (SIGKILL, no resignation) once its lease has run out; a leader
// cut off from etcd steps down by itself, and a leader is elected again when etcd returns.
#include "store/etcd_election.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "etcd_server.h"

namespace cutover::store {
namespace {

namespace fs = std::filesystem;
using test_support::EtcdServer;
using Clock = std::chrono::steady_clock;
constexpr auto kTtl = std::chrono::seconds(2);

template <typename F>
bool WaitFor(F condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
  }
  return true;
}

class EtcdElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::Installed()) GTEST_SKIP() << EtcdServer::kBinary << " is not installed";
    char tmpl[] = "/tmp/cutover-election-test-XXXXXX";
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

  std::unique_ptr<EtcdElection> Node(const std::string& id, EtcdElectionCallbacks callbacks = {}) {
    auto e = EtcdElection::Start(etcd_->endpoint(), "/cutover/", id, kTtl, std::move(callbacks));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  fs::path dir_;
  std::unique_ptr<EtcdServer> etcd_;
};

int Leaders(const std::vector<std::unique_ptr<EtcdElection>>& nodes) {
  int n = 0;
  for (const auto& node : nodes) n += node && node->leading();
  return n;
}

TEST_F(EtcdElectionTest, ExactlyOneOfThreeLeadsAndAllKnowWhich) {
  std::atomic<int> elected{0};
  std::vector<std::unique_ptr<EtcdElection>> nodes;
  for (const char* id : {"a", "b", "c"})
    nodes.push_back(Node(id, {[&](int64_t) { ++elected; }, nullptr}));
  ASSERT_TRUE(WaitFor([&] { return Leaders(nodes) == 1; }, std::chrono::seconds(10)));
  std::string leader;
  for (const auto& n : nodes) {
    if (n->leading()) leader = n->leader();
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& n : nodes) {
          if (n->leader() != leader) return false;
        }
        return true;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(Leaders(nodes), 1);
  EXPECT_EQ(elected.load(), 1);  // one term, one node told it leads
}

TEST_F(EtcdElectionTest, AResigningLeaderIsReplacedWithoutWaitingForItsLease) {
  auto first = Node("first");
  ASSERT_TRUE(WaitFor([&] { return first->leading(); }, std::chrono::seconds(10)));
  std::atomic<int> elected{0};
  auto second = Node("second", {[&](int64_t) { ++elected; }, nullptr});
  ASSERT_TRUE(WaitFor([&] { return second->leader() == "first"; }, std::chrono::seconds(10)));
  EXPECT_FALSE(second->leading());
  const auto resigned = Clock::now();
  first.reset();
  ASSERT_TRUE(WaitFor([&] { return second->leading(); }, std::chrono::seconds(10)));
  std::printf("took over %.0f ms after the resignation (TTL %lld s)\n",
              std::chrono::duration<double, std::milli>(Clock::now() - resigned).count(),
              static_cast<long long>(kTtl.count()));
  EXPECT_EQ(elected.load(), 1);
  EXPECT_EQ(second->leader(), "second");
}

TEST_F(EtcdElectionTest, ADeadLeaderIsReplacedOnceItsLeaseRunsOut) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    auto e = EtcdElection::Start(etcd_->endpoint(), "/cutover/", "doomed", kTtl, {});
    if (!e.ok()) ::_exit(1);
    while (!(*e)->leading()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    char c = 'x';
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child never led";
  ::close(ready[0]);
  auto survivor = Node("survivor");
  ASSERT_TRUE(WaitFor([&] { return survivor->leader() == "doomed"; }, std::chrono::seconds(10)));
  const auto killed = Clock::now();
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WaitFor([&] { return survivor->leading(); }, std::chrono::seconds(15)));
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
  std::printf("took over %.0f ms after SIGKILL (TTL %lld s)\n", ms,
              static_cast<long long>(kTtl.count()));
}

TEST_F(EtcdElectionTest, ALeaderCutOffFromEtcdStepsDownAndOneIsElectedWhenItReturns) {
  std::atomic<int> lost{0};
  auto node = Node("only", {nullptr, [&](const std::string&) { ++lost; }});
  ASSERT_TRUE(WaitFor([&] { return node->leading(); }, std::chrono::seconds(10)));
  etcd_->Stop();
  ASSERT_TRUE(WaitFor([&] { return !node->leading(); }, std::chrono::seconds(10)));
  EXPECT_EQ(lost.load(), 1);
  ASSERT_TRUE(etcd_->Start()) << etcd_->log();
  EXPECT_TRUE(WaitFor([&] { return node->leading(); }, std::chrono::seconds(15)));
}

TEST(EtcdElectionArgsTest, RefusesAZeroTtlAndAnEmptyId) {
  EXPECT_FALSE(EtcdElection::Start("127.0.0.1:2379", "/p/", "n", std::chrono::seconds(0), {}).ok());
  EXPECT_FALSE(EtcdElection::Start("127.0.0.1:2379", "/p/", "", std::chrono::seconds(2), {}).ok());
}

}  // namespace
}  // namespace cutover::store
