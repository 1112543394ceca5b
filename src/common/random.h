// Random: a small, fast, seedable generator (SplitMix64).
//
// Randomness is passed into pure functions as plain numbers (router/weighted_pick.h takes a
// uint64_t), so tests make the weighted split exact by choosing the numbers. Each worker thread
// owns its own Random; the class is not thread-safe.
#pragma once

#include <cstdint>

namespace cutover {

class Random final {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  // Seeds from the OS entropy source.
  static Random FromEntropy();

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace cutover
