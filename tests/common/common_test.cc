#include <gtest/gtest.h>
#include <sched.h>

#include <regex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/cpu_affinity.h"
#include "common/ids.h"
#include "common/random.h"
#include "common/sha256.h"
#include "common/status.h"

namespace cutover {
namespace {

TEST(StatusTest, ResultCarriesValueOrError) {
  Result<int> ok = 7;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);
  Result<int> bad = NotFound("gone");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().ToString(), "NotFound: gone");
  EXPECT_EQ(bad.status().WithPrefix("x").message(), "x: gone");
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock clock(FromEpochMillis(1000));
  EXPECT_EQ(ToEpochMillis(clock.Now()), 1000);
  clock.Advance(Millis(250));
  EXPECT_EQ(ToEpochMillis(clock.Now()), 1250);
}

TEST(ClockTest, ScaledClockRunsFaster) {
  ScaledClock clock(1000.0);
  auto wall_before = std::chrono::system_clock::now();
  auto scaled_before = clock.Now();
  // Wait (with a deadline) until at least 2 ms of real time have passed.
  while (std::chrono::system_clock::now() - wall_before < std::chrono::milliseconds(2)) {
  }
  auto real = std::chrono::system_clock::now() - wall_before;
  auto scaled = clock.Now() - scaled_before;
  EXPECT_GT(scaled, real * 100);
  EXPECT_DOUBLE_EQ(clock.Scale(), 1000.0);
}

TEST(IdsTest, RequestIdsAreUuidV4Shaped) {
  Random random(42);
  std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewRequestId(random);
    EXPECT_TRUE(std::regex_match(id, uuid)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  std::string d = NewDeploymentId(random);
  EXPECT_TRUE(std::regex_match(d, std::regex("^d-[A-Z0-9]{9}$"))) << d;
}

TEST(Sha256Test, KnownDigest) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CpuAffinityTest, WorkersTakeTheAllowedCpusInTurn) {
  EXPECT_EQ(WorkerCpus(2, {0, 1}), (std::vector<int>{0, 1}));
  EXPECT_EQ(WorkerCpus(3, {2, 5}), (std::vector<int>{2, 5, 2}));
  EXPECT_EQ(WorkerCpus(1, {4, 6, 7}), (std::vector<int>{4}));
  // One core: nothing to gain, so nothing is pinned; no workers, no CPUs.
  EXPECT_TRUE(WorkerCpus(2, {3}).empty());
  EXPECT_TRUE(WorkerCpus(0, {0, 1}).empty());
  EXPECT_TRUE(WorkerCpus(2, {}).empty());
}

TEST(CpuAffinityTest, PinningAThreadLeavesTheOthersFree) {
  const std::vector<int> allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  const int target = allowed.back();
  std::vector<int> seen;
  Status pinned = Internal("not run");
  std::thread t([&] {
    pinned = PinThisThread(target);
    seen = AllowedCpus();  // sched_getaffinity(0) is the calling thread's mask
  });
  t.join();
  ASSERT_TRUE(pinned.ok()) << pinned.ToString();
  EXPECT_EQ(seen, std::vector<int>{target});
  EXPECT_EQ(AllowedCpus(), allowed);
  EXPECT_FALSE(PinThisThread(-1).ok());
  EXPECT_FALSE(PinThisThread(CPU_SETSIZE).ok());
}

}  // namespace
}  // namespace cutover
