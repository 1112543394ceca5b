#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "common/random.h"
#include "router/route_table.h"

namespace cutover::router {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

FunctionTarget Alias(uint32_t primary, uint32_t additional, double weight) {
  FunctionTarget target;
  target.function_key = "website";
  target.qualifier = "Live";
  target.is_alias = true;
  target.primary_version = primary;
  target.additional_version = additional;
  target.additional_weight = weight;
  return target;
}

TEST(PickVersionTest, WeightBoundaryIsExact) {
  // The double 0.3 is 5404319552844595 * 2^-54, so 0.3 * 2^64 = 5404319552844595 * 2^10 exactly.
  constexpr uint64_t kThreshold = 5404319552844595ULL * 1024ULL;
  static_assert(kThreshold == 5534023222112865280ULL);
  const FunctionTarget target = Alias(1, 2, 0.3);
  EXPECT_EQ(PickVersion(target, 0), 2u);
  EXPECT_EQ(PickVersion(target, kThreshold - 1), 2u);
  EXPECT_EQ(PickVersion(target, kThreshold), 1u);
  EXPECT_EQ(PickVersion(target, kThreshold + 1), 1u);
  EXPECT_EQ(PickVersion(target, kMax), 1u);
}

TEST(PickVersionTest, FractionalThresholdRoundsTheRightWay) {
  // w = 2^-70: w * 2^64 = 1/64, so only random 0 is below it.
  const FunctionTarget tiny = Alias(1, 2, 0x1p-70);
  EXPECT_EQ(PickVersion(tiny, 0), 2u);
  EXPECT_EQ(PickVersion(tiny, 1), 1u);
  // w = 0.5 + 2^-53 (a double): threshold 2^63 + 2^11 exactly.
  const FunctionTarget half_plus = Alias(1, 2, 0.5 + 0x1p-53);
  EXPECT_EQ(PickVersion(half_plus, (1ULL << 63) + 2047), 2u);
  EXPECT_EQ(PickVersion(half_plus, (1ULL << 63) + 2048), 1u);
}

TEST(PickVersionTest, WeightZeroNeverPicksAdditional) {
  const FunctionTarget target = Alias(3, 4, 0.0);
  for (uint64_t r : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 63, kMax}) {
    EXPECT_EQ(PickVersion(target, r), 3u) << r;
  }
}

TEST(PickVersionTest, WeightOneAlwaysPicksAdditional) {
  const FunctionTarget target = Alias(3, 4, 1.0);
  for (uint64_t r : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 63, kMax - 1, kMax}) {
    EXPECT_EQ(PickVersion(target, r), 4u) << r;
  }
}

TEST(PickVersionTest, LargestWeightBelowOneStillLeavesTheTopToPrimary) {
  const FunctionTarget target = Alias(3, 4, 1.0 - 0x1p-53);  // threshold 2^64 - 2^11
  EXPECT_EQ(PickVersion(target, kMax - 2048), 4u);
  EXPECT_EQ(PickVersion(target, kMax - 2047), 3u);
  EXPECT_EQ(PickVersion(target, kMax), 3u);
}

TEST(PickVersionTest, NoAdditionalVersionAlwaysPicksPrimary) {
  const FunctionTarget target = Alias(7, 0, 0.9);
  EXPECT_EQ(PickVersion(target, 0), 7u);
  EXPECT_EQ(PickVersion(target, kMax), 7u);
}

TEST(PickVersionTest, OutOfRangeWeightsAreClamped) {
  EXPECT_EQ(PickVersion(Alias(1, 2, -0.5), 0), 1u);
  EXPECT_EQ(PickVersion(Alias(1, 2, 1.5), kMax), 2u);
  EXPECT_EQ(PickVersion(Alias(1, 2, std::numeric_limits<double>::quiet_NaN()), 0), 1u);
}

TEST(PickVersionTest, SplitIsCloseToWeightOverManyDraws) {
  Random random(42);
  const FunctionTarget target = Alias(1, 2, 0.1);
  int additional = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) additional += PickVersion(target, random.Next()) == 2 ? 1 : 0;
  // 0.1 * 100000 = 10000, standard deviation ~95: 6 sigma either way.
  EXPECT_NEAR(additional, 10000, 600);
}

}  // namespace
}  // namespace cutover::router
