// Recording on the request path: each gateway worker appends one fixed-size RequestSample per
// request to a ring of its own; the control loop drains every ring on its tick and turns the
// samples into metric data (platform_metrics.h). A request costs a few stores and one release
// store: no lock, no allocation, no shared cache line with another worker.
//
// The labels of a route (which API, stage, route template, function, alias) are interned once,
// when a worker first sees the route, and live as long as the process: a sample carries a pointer
// to them. A full ring (the control loop stalled for a long time) drops samples and counts them.
//
// Thread-safety: SampleRing is single-producer (its worker) single-consumer (the control loop).
// InternRouteLabels may be called from any thread (it takes a mutex; callers cache the result).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cutover::metrics {

// What a route's requests are counted under. Interned: equal labels have one address.
struct RouteLabels {
  bool rest = true;          // `http` event (REST API) or `httpApi` (HTTP API)
  std::string api_name;      // REST ApiName: provider.apiName or "${stage}-${service}"
  std::string api_id;        // HTTP API ApiId
  std::string stage;         // "dev" (REST); HTTP APIs use "$default"
  std::string method;        // route method, "ANY" included
  std::string resource;      // route template, "/{proxy+}"
  std::string function_name; // deployed name, "svc-dev-website"
  std::string alias;         // the alias the route invokes, or "" (a version)

  bool operator==(const RouteLabels&) const = default;
};

const RouteLabels* InternRouteLabels(const RouteLabels& labels);

// Outcome of the invocation behind a request, for AWS/Lambda metrics.
enum class InvokeKind : uint8_t {
  kNone,       // no invocation (the gateway answered by itself)
  kSuccess,    // the function answered (whatever status it chose)
  kError,      // function error, timeout, crash, init error: Lambda `Errors`
  kThrottled,  // Lambda `Throttles`
};

struct RequestSample {
  const RouteLabels* route = nullptr;
  int64_t time_ms = 0;          // when the request arrived (daemon clock, epoch ms)
  int64_t invoke_start_ms = 0;  // when the invocation started (daemon clock); Lambda's timestamp
  float latency_ms = 0;         // request in -> response ready
  float integration_ms = 0;     // invocation start -> its result
  float duration_ms = 0;        // the function's own duration (REPORT's Duration)
  uint32_t version = 0;         // executed version, 0 when none
  uint16_t status = 0;          // HTTP status sent
  InvokeKind invoke = InvokeKind::kNone;
  // Request body + response body bytes (HTTP APIs' DataProcessed), saturating. It fits in what was
  // padding: a sample stays 48 bytes.
  uint32_t data_bytes = 0;
};
static_assert(sizeof(RequestSample) <= 48, "a ring slot per request: keep samples small");

class SampleRing {
 public:
  explicit SampleRing(size_t capacity_pow2 = 1 << 16);

  // Producer only. False (and counted) when the ring is full.
  bool Push(const RequestSample& sample) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ >= slots_.size()) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ >= slots_.size()) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    }
    slots_[head & mask_] = sample;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer only: calls f(sample) for everything pushed so far; returns how many.
  template <typename F>
  size_t Drain(F&& f) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    for (uint64_t i = tail; i != head; ++i) f(slots_[i & mask_]);
    tail_.store(head, std::memory_order_release);
    return static_cast<size_t>(head - tail);
  }

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  std::vector<RequestSample> slots_;
  const uint64_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};
  uint64_t tail_cache_ = 0;  // producer's last view of tail_
  alignas(64) std::atomic<uint64_t> tail_{0};
  std::atomic<uint64_t> dropped_{0};
};

// One ring per gateway worker, created up front.
class Recorder {
 public:
  explicit Recorder(size_t workers, size_t capacity_pow2 = 1 << 16);
  SampleRing& shard(size_t worker) { return *shards_[worker]; }
  size_t shards() const { return shards_.size(); }

  // Control loop: every sample recorded since the last call, worker by worker.
  template <typename F>
  size_t DrainAll(F&& f) {
    size_t n = 0;
    for (auto& s : shards_) n += s->Drain(f);
    return n;
  }
  uint64_t dropped() const;

 private:
  std::vector<std::unique_ptr<SampleRing>> shards_;
};

}  // namespace cutover::metrics
