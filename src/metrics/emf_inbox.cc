#include "metrics/emf_inbox.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "metrics/emf.h"

namespace cutover::metrics {

void EmfInbox::Offer(std::string_view function_name, uint32_t version, std::string_view line) {
  if (!LooksLikeEmf(line)) return;
  // Copied before taking the lock: the critical section is a few pointer moves.
  Line copy{std::string(function_name), version, std::string(line)};
  std::lock_guard lock(mu_);
  if (lines_.size() >= options_.max_lines || bytes_ + line.size() > options_.max_bytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bytes_ += line.size();
  lines_.push_back(std::move(copy));
}

size_t EmfInbox::Drain(MetricsStore& store, int64_t now_ms) {
  draining_.clear();
  {
    std::lock_guard lock(mu_);
    if (lines_.empty()) return 0;
    std::swap(lines_, draining_);
    bytes_ = 0;
  }
  const int64_t oldest = now_ms - kMaxAge.count();
  const int64_t newest = now_ms + kMaxAhead.count();
  size_t added = 0;
  for (const Line& line : draining_) {
    Result<std::vector<EmfDatum>> data = ParseEmfLine(line.text, now_ms);
    if (!data.ok()) {
      malformed_.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("{}:{}: log line skipped: {}", line.function_name, line.version,
                    data.status().message());
      continue;
    }
    bool in_range = true;
    if (options_.use_line_timestamps) {
      for (const EmfDatum& d : *data) {
        if (d.timestamp_ms < oldest || d.timestamp_ms > newest) {
          in_range = false;
          spdlog::debug(
              "{}:{}: EMF line skipped: _aws.Timestamp {} is more than {} s before or "
              "{} s after now ({})",
              line.function_name, line.version, d.timestamp_ms, kMaxAge.count() / 1000,
              kMaxAhead.count() / 1000, now_ms);
          break;
        }
      }
    }
    if (!in_range) {
      malformed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    for (const EmfDatum& d : *data) {
      const int64_t t = options_.use_line_timestamps ? d.timestamp_ms : now_ms;
      for (double v : d.values) store.Add(d.key, t, v);
      added += d.values.size();
    }
  }
  // Keep the vector's capacity, drop the strings' memory.
  draining_.clear();
  return added;
}

}  // namespace cutover::metrics
