#include "metrics/recorder.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <mutex>
#include <unordered_set>

namespace cutover::metrics {
namespace {

struct LabelsHash {
  size_t operator()(const std::unique_ptr<RouteLabels>& l) const {
    std::hash<std::string> h;
    size_t v = l->rest ? 1 : 2;
    for (const std::string* s : {&l->api_name, &l->api_id, &l->stage, &l->method, &l->resource,
                                 &l->function_name, &l->alias}) {
      v = v * 1099511628211ull ^ h(*s);
    }
    return v;
  }
};
struct LabelsEqual {
  bool operator()(const std::unique_ptr<RouteLabels>& a,
                  const std::unique_ptr<RouteLabels>& b) const {
    return *a == *b;
  }
};

}  // namespace

const RouteLabels* InternRouteLabels(const RouteLabels& labels) {
  // Never freed: one entry per distinct route the process ever served.
  static std::mutex mu;
  static auto* interned =
      new std::unordered_set<std::unique_ptr<RouteLabels>, LabelsHash, LabelsEqual>();
  auto candidate = std::make_unique<RouteLabels>(labels);
  std::lock_guard lock(mu);
  auto [it, inserted] = interned->insert(std::move(candidate));
  return it->get();
}

SampleRing::SampleRing(size_t capacity_pow2)
    : slots_(std::bit_ceil(std::max<size_t>(capacity_pow2, 2))), mask_(slots_.size() - 1) {}

Recorder::Recorder(size_t workers, size_t capacity_pow2) {
  for (size_t i = 0; i < std::max<size_t>(workers, 1); ++i) {
    shards_.push_back(std::make_unique<SampleRing>(capacity_pow2));
  }
}

uint64_t Recorder::dropped() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s->dropped();
  return n;
}

}  // namespace cutover::metrics
