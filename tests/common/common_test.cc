#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "common/clock.h"
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

}  // namespace
}  // namespace cutover
