// Clock: the one seam through which cutover reads the time of day.
//
// Schedules, metric buckets, alarm periods and hook timeouts read a Clock so tests can drive them
// with a FakeClock and demos can compress them with a ScaledClock (`cutover serve --time-scale N`).
// Latency measurement and I/O deadlines on the request path use the monotonic steady clock
// directly: those are durations of real work and must not be scaled.
//
// Thread-safety: every implementation is safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cutover {

using SystemTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime Now() const = 0;
  // How many clock seconds pass per real second (1 for the real clock).
  virtual double Scale() const { return 1.0; }
};

int64_t ToEpochMillis(SystemTime t);
SystemTime FromEpochMillis(int64_t ms);

class RealClock final : public Clock {
 public:
  SystemTime Now() const override { return std::chrono::system_clock::now(); }
};

// Time that only moves when a test says so.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime start = FromEpochMillis(1'700'000'000'000))
      : now_ms_(ToEpochMillis(start)) {}
  SystemTime Now() const override { return FromEpochMillis(now_ms_.load()); }
  void Advance(Millis d) { now_ms_.fetch_add(d.count()); }
  void Set(SystemTime t) { now_ms_.store(ToEpochMillis(t)); }

 private:
  std::atomic<int64_t> now_ms_;
};

// Runs `scale` times faster than the real clock from the moment it is created: a 10-minute schedule
// takes 10 s at scale 60. The origin is the real time at construction, so timestamps stay near
// today.
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(double scale);
  SystemTime Now() const override;
  double Scale() const override { return scale_; }

 private:
  const double scale_;
  const SystemTime origin_wall_;
  const std::chrono::steady_clock::time_point origin_steady_;
};

}  // namespace cutover
