// Many invocations in flight on a small pool, with the cheapest possible function
// (testdata/echo_bootstrap.cc): none is lost, none is answered twice, every one is logged. Speed is
// measured by bench/runtime_bench (make bench), never asserted here.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "runtime/runtime_service.h"
#include "runtime_fixture.h"

namespace cutover::runtime {
namespace {

using testing::RuntimeFixture;

class RuntimeThroughputTest : public RuntimeFixture {
 protected:
  VersionKey RegisterEcho(int concurrency) {
    std::filesystem::path root = dir() / "echo-task";
    std::filesystem::create_directories(root);
    std::filesystem::copy_file(CUTOVER_ECHO_BOOTSTRAP, root / "bootstrap");
    InstanceConfig config = Config("echo", 1, root);
    config.max_concurrency = concurrency;
    config.max_queue = 1000;
    service().Register(config);
    VersionKey key{"echo", 1};
    EXPECT_TRUE(service().Prewarm(key, concurrency).ok());
    return key;
  }
};

// Keeps `window` invocations in flight until `total` completed; each completion issues the next
// one.
struct Driver {
  Driver(RuntimeService* s, VersionKey k, std::string p, int n)
      : service(s), key(std::move(k)), payload(std::move(p)), total(n) {}

  RuntimeService* service;
  VersionKey key;
  std::string payload;
  int total;
  std::atomic<int> issued{0};
  std::atomic<int> completed{0};
  std::atomic<int> failed{0};
  std::promise<void> done;

  void IssueOne() {
    if (issued.fetch_add(1) >= total) return;
    Invocation inv;
    inv.payload = payload;
    service->Invoke(key, std::move(inv), [this](InvokeResult r) {
      if (r.outcome != InvokeOutcome::kSuccess || r.payload != payload) failed.fetch_add(1);
      if (completed.fetch_add(1) + 1 == total) {
        done.set_value();
        return;
      }
      IssueOne();
    });
  }
};

TEST_F(RuntimeThroughputTest, SixteenInFlightOnTwoInstancesLoseNothing) {
  Start();
  VersionKey key = RegisterEcho(2);
  // Warm up: both instances initialized and used once.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Invoke(key, "{}").outcome, InvokeOutcome::kSuccess);

  Driver driver(&service(), key, R"({"path":"/hello","body":"0123456789abcdef"})", 5000);
  auto finished = driver.done.get_future();
  for (int i = 0; i < 16; ++i) driver.IssueOne();
  ASSERT_EQ(finished.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  EXPECT_EQ(driver.failed.load(), 0);
  EXPECT_EQ(driver.completed.load(), driver.total);
  service().Tick();  // flushes the log
  auto logs = ReadFunctionLogs(settings().data_dir, "echo", 1, size_t{1} << 30);
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(testing::CountOf(*logs, "REPORT RequestId:"), driver.total + 4);
}

}  // namespace
}  // namespace cutover::runtime
