#include "metrics/series_store.h"

#include <fmt/format.h>

#include <algorithm>

namespace cutover::metrics {
namespace {


int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

std::string MetricKey::ToString() const {
  std::string dims_text;
  for (const auto& [n, v] : dims) {
    if (!dims_text.empty()) dims_text += ',';
    dims_text += n + "=" + v;
  }
  return fmt::format("{} {} {{{}}}", ns, name, dims_text);
}

bool IsLatencyMetric(const MetricKey& key) {
  if (key.ns == "AWS/Lambda") return key.name == "Duration";
  if (key.ns == "AWS/ApiGateway") return key.name == "Latency" || key.name == "IntegrationLatency";
  if (key.ns == "Cutover") return key.name == "Latency";
  return false;
}

MetricKey MakeKey(std::string ns, std::string name, Dimensions dims) {
  std::sort(dims.begin(), dims.end());
  return MetricKey{std::move(ns), std::move(name), std::move(dims)};
}

void Series::Add(int64_t second, double value, uint64_t count) {
  if (count == 0) return;
  last_second_ = std::max(last_second_, second);
  total_count_ += count;
  total_sum_ += value * static_cast<double>(count);
  if (!latency_buckets_.empty()) {
    const auto* bound = std::lower_bound(std::begin(kLatencyBucketBoundsMs),
                                         std::end(kLatencyBucketBoundsMs), value);
    latency_buckets_[static_cast<size_t>(bound - std::begin(kLatencyBucketBoundsMs))] += count;
  }

  Summary& s = summaries_.Write(second);
  if (s.second != second) s = Summary{second, 0, 0, value, value};
  s.count += count;
  s.sum += value * static_cast<double>(count);
  s.min = std::min(s.min, value);
  s.max = std::max(s.max, value);

  Full& f = seconds_.Write(second);
  if (f.at != second) {
    f.at = second;
    f.aggregate = Aggregate{};
  }
  f.aggregate.Add(value, count);

  const int64_t minute = FloorDiv(second, 60);
  Full& m = minutes_.Write(minute);
  if (m.at != minute) {
    m.at = minute;
    m.aggregate = Aggregate{};
  }
  m.aggregate.Add(value, count);
}

Datapoint Series::Compute(const Statistic& statistic, int64_t start_s, int64_t end_s) const {
  Datapoint dp;
  dp.timestamp_ms = start_s * 1000;
  if (last_second_ == INT64_MIN || end_s <= start_s) return dp;  // never written
  const int64_t newest = last_second_;
  // Nothing newer than the window can be answered: seconds past the newest sample are empty.
  if (!NeedsDistribution(statistic)) {  // the per-second summaries answer it
    const int64_t oldest = newest - static_cast<int64_t>(summaries_.size()) + 1;
    Aggregate total;
    bool any = false;
    for (int64_t t = std::max(start_s, oldest); t < end_s && t <= newest; ++t) {
      const Summary* slot = summaries_.Read(t);
      if (slot == nullptr || slot->second != t || slot->count == 0) continue;
      const Summary& s = *slot;
      if (!any) {
        total.min = s.min;
        total.max = s.max;
        any = true;
      }
      total.count += s.count;
      total.sum += s.sum;
      total.min = std::min(total.min, s.min);
      total.max = std::max(total.max, s.max);
    }
    dp.sample_count = total.count;
    if (any) dp.value = metrics::Compute(statistic, total);
    return dp;
  }

  Aggregate total;
  const int64_t oldest_second = newest - static_cast<int64_t>(seconds_.size()) + 1;
  if (start_s >= oldest_second) {
    for (int64_t t = start_s; t < end_s && t <= newest; ++t) {
      const Full* f = seconds_.Read(t);
      if (f != nullptr && f->at == t) total.Merge(f->aggregate);
    }
  } else if (start_s % 60 == 0 && end_s % 60 == 0) {
    const int64_t newest_minute = FloorDiv(newest, 60);
    const int64_t oldest_minute = newest_minute - static_cast<int64_t>(minutes_.size()) + 1;
    for (int64_t m = std::max(start_s / 60, oldest_minute); m < end_s / 60 && m <= newest_minute;
         ++m) {
      const Full* f = minutes_.Read(m);
      if (f != nullptr && f->at == m) total.Merge(f->aggregate);
    }
  } else {
    return dp;  // finer than a minute and older than the per-second sketches: unavailable
  }
  dp.sample_count = total.count;
  if (total.count > 0) dp.value = metrics::Compute(statistic, total);
  return dp;
}

const Aggregate* Series::MinuteAggregate(int64_t minute) const {
  const Full* f = minutes_.Read(minute);
  if (f == nullptr || f->at != minute || f->aggregate.count == 0) return nullptr;
  return &f->aggregate;
}

size_t Series::MemoryBytes() const {
  size_t bytes = sizeof(*this) + summaries_.MemoryBytes() + seconds_.MemoryBytes() +
                 minutes_.MemoryBytes() + latency_buckets_.capacity() * sizeof(uint64_t);
  // The sketches' buckets beyond the object itself, which the slots count.
  auto sketch = [&bytes](const Full& f) {
    bytes += f.aggregate.sketch.MemoryBytes() - sizeof(f.aggregate.sketch);
  };
  seconds_.ForEachAllocated(sketch);
  minutes_.ForEachAllocated(sketch);
  return bytes;
}

void MetricsStore::Add(const MetricKey& key, int64_t time_ms, double value, uint64_t count) {
  Series* series;
  if (last_key_ != nullptr && *last_key_ == key) {
    series = last_series_;
  } else {
    auto it = FindOrCreate(key);
    series = it->second.get();
    last_key_ = &it->first;
    last_series_ = series;
  }
  series->Add(SecondOf(time_ms), value, count);
}

std::map<MetricKey, std::unique_ptr<Series>>::iterator MetricsStore::FindOrCreate(
    const MetricKey& key) {
  auto it = series_.find(key);
  if (it == series_.end()) {
    it = series_.emplace(key, std::make_unique<Series>()).first;
    if (IsLatencyMetric(key)) it->second->KeepLatencyBuckets();
  }
  return it;
}

Series& MetricsStore::GetOrCreate(const MetricKey& key) { return *FindOrCreate(key)->second; }

const Series* MetricsStore::Find(const MetricKey& key) const {
  auto it = series_.find(key);
  return it == series_.end() ? nullptr : it->second.get();
}

std::vector<Datapoint> MetricsStore::Query(const MetricKey& key, const Statistic& statistic,
                                           int64_t start_ms, int64_t end_ms, int period_s) const {
  std::vector<Datapoint> out;
  if (period_s <= 0 || end_ms <= start_ms) return out;
  const int64_t start_s = FloorDiv(SecondOf(start_ms), period_s) * period_s;
  const int64_t end_s = SecondOf(end_ms + 999);
  const Series* series = Find(key);
  for (int64_t t = start_s; t < end_s; t += period_s) {
    if (series == nullptr) {
      out.push_back(Datapoint{t * 1000, std::nullopt, 0});
    } else {
      out.push_back(series->Compute(statistic, t, t + period_s));
    }
  }
  return out;
}

std::vector<MetricKey> MetricsStore::Keys() const {
  std::vector<MetricKey> keys;
  keys.reserve(series_.size());
  for (const auto& [k, s] : series_) keys.push_back(k);
  return keys;
}

std::vector<std::pair<const MetricKey*, const Aggregate*>> MetricsStore::MinuteAggregates(
    int64_t minute) const {
  std::vector<std::pair<const MetricKey*, const Aggregate*>> out;
  for (const auto& [k, s] : series_) {
    if (const Aggregate* a = s->MinuteAggregate(minute)) out.emplace_back(&k, a);
  }
  return out;
}

size_t MetricsStore::EvictIdle(int64_t now_s) {
  const size_t before = series_.size();
  std::erase_if(series_, [&](const auto& entry) {
    const int64_t last = entry.second->last_second();
    return last == INT64_MIN || last < now_s - Series::kSummarySeconds;
  });
  if (series_.size() != before) last_key_ = nullptr, last_series_ = nullptr;
  return before - series_.size();
}

size_t MetricsStore::MemoryBytes() const {
  size_t bytes = 0;
  for (const auto& [k, s] : series_) bytes += s->MemoryBytes();
  return bytes;
}

}  // namespace cutover::metrics
