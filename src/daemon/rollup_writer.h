// RollupWriter: persists each completed minute of every metric to the store as a 1-minute rollup,
// and keeps 15 days of them (metrics/rollup.h). Memory holds 3 h; the rollups answer older queries.
//
// A minute m is written once the daemon's clock is kSettleSeconds into minute m + 1, so samples
// drained on the ticks just after the minute ended are in it, and written again on the next
// kRewriteMinutes writes (late samples), or as many minutes as kRewriteRealSeconds of wall time
// span under a fast --time-scale, where one late tick runs many minutes. A restarted daemon starts with the
// minute it starts in (what happened before was written by its predecessor, or is lost with it).
//
// Thread-safety: control loop only.
#pragma once

#include <cstdint>

#include "common/clock.h"
#include "metrics/series_store.h"
#include "store/state_store.h"

namespace cutover::daemon {

class RollupWriter {
 public:
  static constexpr int64_t kSettleSeconds = 5;
  static constexpr int64_t kRewriteMinutes = 3;
  static constexpr double kRewriteRealSeconds = 5;

  RollupWriter(const metrics::MetricsStore& metrics, store::StateStore& store, const Clock& clock);

  // Writes every minute that completed since the last call; once an hour deletes rollups older
  // than 15 days. Store errors are logged, never fatal.
  void Tick();

  int64_t last_written_minute() const { return last_written_; }

 private:
  const metrics::MetricsStore& metrics_;
  store::StateStore& store_;
  const Clock& clock_;
  int64_t last_written_;  // minutes up to this one are handled
  int64_t last_prune_minute_ = 0;
};

}  // namespace cutover::daemon
