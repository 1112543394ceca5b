#include "common/ids.h"

#include <random>

namespace cutover {

std::string NewRequestId(Random& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t a = random.Next(), b = random.Next();
  std::string out(36, '-');
  int bit = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    uint64_t& src = bit < 64 ? a : b;
    out[i] = kHex[(src >> (bit % 64)) & 0xF];
    bit += 4;
  }
  out[14] = '4';                          // version 4
  out[19] = kHex[8 + ((b >> 60) & 0x3)];  // variant 10xx
  return out;
}

std::string NewDeploymentId(Random& random) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out = "d-";
  uint64_t r = random.Next();
  for (int i = 0; i < 9; ++i) {
    out += kAlphabet[r % 36];
    r /= 36;
  }
  return out;
}

std::string NewSecretToken() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device os;  // libstdc++ reads getrandom(2) / /dev/urandom
  std::string out;
  for (int i = 0; i < 8; ++i) {
    uint32_t r = os();
    for (int j = 0; j < 8; ++j, r >>= 4) out += kHex[r & 0xF];
  }
  return out;
}

}  // namespace cutover
