#include "common/clock.h"

namespace cutover {

int64_t ToEpochMillis(SystemTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

SystemTime FromEpochMillis(int64_t ms) { return SystemTime(Millis(ms)); }

ScaledClock::ScaledClock(double scale)
    : scale_(scale),
      origin_wall_(std::chrono::system_clock::now()),
      origin_steady_(std::chrono::steady_clock::now()) {}

SystemTime ScaledClock::Now() const {
  auto real_elapsed = std::chrono::steady_clock::now() - origin_steady_;
  auto scaled = std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::duration<double, std::nano>(real_elapsed) * scale_);
  return origin_wall_ + scaled;
}

}  // namespace cutover
