#include "common/random.h"

#include <random>

namespace cutover {

Random Random::FromEntropy() {
  std::random_device rd;
  uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return Random(seed);
}

}  // namespace cutover
