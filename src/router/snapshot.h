// RouteTableSnapshot: publishes the current RouteTable to gateway workers.
//
// Publish() is called by the control loop; Load() by any thread. In steady state Load() is one relaxed
// atomic load plus a compare against the caller's cached generation: no lock and no refcount traffic on the
// request path. Only when a new table was published does a reader take the mutex once to refresh its cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "router/route_table.h"

namespace cutover::router {

class RouteTableSnapshot final {
 public:
  RouteTableSnapshot();

  void Publish(std::shared_ptr<const RouteTable> table);

  // Any thread; takes the lock. Use Reader on hot paths.
  std::shared_ptr<const RouteTable> Current() const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // A per-thread cache of the snapshot. Not thread-safe itself: one Reader per worker thread.
  class Reader {
   public:
    explicit Reader(const RouteTableSnapshot& snapshot) : snapshot_(&snapshot) {}
    // The table stays valid until the next Get() on this reader.
    const RouteTable& Get();

   private:
    const RouteTableSnapshot* snapshot_;
    uint64_t seen_generation_ = 0;
    std::shared_ptr<const RouteTable> cached_;
  };

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const RouteTable> table_;  // guarded by mu_
  std::atomic<uint64_t> generation_{0};
};

}  // namespace cutover::router
