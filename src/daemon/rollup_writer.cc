#include "daemon/rollup_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "metrics/rollup.h"

namespace cutover::daemon {
namespace {

int64_t MinuteOf(int64_t second) { return second >= 0 ? second / 60 : -((-second + 59) / 60); }

}  // namespace

RollupWriter::RollupWriter(const metrics::MetricsStore& metrics, store::StateStore& store,
                           const Clock& clock)
    : metrics_(metrics), store_(store), clock_(clock) {
  const int64_t now_s = metrics::SecondOf(ToEpochMillis(clock_.Now()));
  last_written_ = MinuteOf(now_s) - 1;
  last_prune_minute_ = MinuteOf(now_s);
}

void RollupWriter::Tick() {
  const int64_t now_s = metrics::SecondOf(ToEpochMillis(clock_.Now()));
  // The newest minute that is complete and settled.
  const int64_t ready = MinuteOf(now_s - kSettleSeconds) - 1;
  if (ready > last_written_) {
    std::vector<store::MetricRollupRecord> records;
    // A long stall (or a fast --time-scale) may have skipped minutes; the per-minute ring holds
    // 3 h of them, so write whatever is still there.
    // The last kRewriteMinutes are written again: a sample stamped late in a minute may be
    // drained on a tick after that minute was first written (at a fast --time-scale a 100 ms tick
    // spans minutes), and a rewrite replaces the row.
    // Under --time-scale a late tick (a loaded machine) spans many minutes: rewrite as many minutes
    // as kRewriteRealSeconds of wall time cover, and never fewer than kRewriteMinutes.
    const auto rewrite = std::max<int64_t>(
        kRewriteMinutes,
        static_cast<int64_t>(std::ceil(kRewriteRealSeconds * clock_.Scale() / 60.0)));
    for (int64_t m = std::max(last_written_ + 1 - rewrite, ready - 180); m <= ready; ++m) {
      for (const auto& [key, aggregate] : metrics_.MinuteAggregates(m)) {
        records.push_back(store::MetricRollupRecord{metrics::EncodeMetricKey(*key), m,
                                                    metrics::EncodeAggregate(*aggregate)});
      }
    }
    last_written_ = ready;
    if (!records.empty()) {
      Status st = store_.Write([&](store::StoreTxn& txn) { return txn.PutMetricRollups(records); });
      if (!st.ok()) spdlog::warn("metric rollups up to minute {} not stored: {}", ready, st.ToString());
    }
  }
  const int64_t now_minute = MinuteOf(now_s);
  if (now_minute - last_prune_minute_ >= 60) {
    last_prune_minute_ = now_minute;
    Status st = store_.Write([&](store::StoreTxn& txn) {
      return txn.DeleteMetricRollupsBefore(now_minute - metrics::kRollupRetentionMinutes);
    });
    if (!st.ok()) spdlog::warn("old metric rollups not deleted: {}", st.ToString());
  }
}

}  // namespace cutover::daemon
