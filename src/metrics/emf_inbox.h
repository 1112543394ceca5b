// EmfInbox: hands function log lines in Embedded Metric Format (metrics/emf.h) from the threads
// that read function output to the control loop, which owns the MetricsStore.
//
// Offer() runs for every line a function writes, so it first asks LooksLikeEmf (a scan of the line,
// no allocation, no lock) and only copies candidate lines into a bounded queue. Beyond max_lines
// lines or max_bytes bytes waiting, lines are dropped and counted: a function printing EMF in a
// tight loop while the control loop stalls costs bounded memory. Drain() parses what has arrived
// and adds every value to the store; a malformed line is counted and logged at debug level (the
// line itself is in the function's log already) and never reaches the store.
//
// Timestamps: with use_line_timestamps (the daemon's clock is real time) a value is recorded at the
// line's `_aws.Timestamp`, or at Drain's `now_ms` when it has none. The store's per-second rings
// expect time to move forward (an old second would land in the slot of a recent one), so a
// timestamp more than kMaxAge before `now_ms` or kMaxAhead after it rejects the line (counted as
// malformed). Without use_line_timestamps (`--time-scale`: the daemon's clock runs faster than the
// wall clock functions stamp their lines with) every value is recorded at `now_ms`, the line having
// been written at most one control tick earlier.
//
// Thread-safety: Offer, malformed, dropped and accepted from any thread; Drain from one thread at a
// time (the control loop).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/series_store.h"

namespace cutover::metrics {

struct EmfInboxOptions {
  size_t max_lines = 10'000;
  size_t max_bytes = 32 << 20;  // line bytes waiting; lines are at most 256 KiB each
  bool use_line_timestamps = true;
};

class EmfInbox final {
 public:
  static constexpr std::chrono::milliseconds kMaxAge = std::chrono::minutes(10);
  static constexpr std::chrono::milliseconds kMaxAhead = std::chrono::minutes(2);

  explicit EmfInbox(EmfInboxOptions options = {}) : options_(options) {}
  EmfInbox(const EmfInbox&) = delete;
  EmfInbox& operator=(const EmfInbox&) = delete;

  // Any thread. `line` without its newline; function_name and version name the log it came from.
  void Offer(std::string_view function_name, uint32_t version, std::string_view line);

  // Control loop. Parses every waiting line and adds its values to `store`. Returns the number of
  // values added.
  size_t Drain(MetricsStore& store, int64_t now_ms);

  // Lines rejected by Drain (invalid EMF or a timestamp out of range).
  uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }
  // Lines Offer dropped because the queue was full.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Lines Drain turned into metric data.
  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }

 private:
  struct Line {
    std::string function_name;
    uint32_t version = 0;
    std::string text;
  };

  const EmfInboxOptions options_;
  std::mutex mu_;
  std::vector<Line> lines_;     // guarded by mu_
  size_t bytes_ = 0;            // guarded by mu_: sum of lines_[i].text.size()
  std::vector<Line> draining_;  // Drain's own, kept to reuse its capacity
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> accepted_{0};
};

}  // namespace cutover::metrics
