#include "router/snapshot.h"

#include <utility>

// The table pointer and its generation change together under mu_, and a reader that refreshes
// copies both under mu_, so a Reader's (seen_generation_, cached_) pair always belongs together.
// The atomic generation is only the cheap "has anything changed?" probe; it is bumped after table_
// is replaced, so a reader that sees the new number and then takes the lock finds at least that
// table. Tables are immutable and reach readers only through shared_ptr copies made under the lock,
// so a reader never sees a partly built table.

namespace cutover::router {

RouteTableSnapshot::RouteTableSnapshot() : table_(RouteTable::Empty()) {}

void RouteTableSnapshot::Publish(std::shared_ptr<const RouteTable> table) {
  if (table == nullptr) table = RouteTable::Empty();
  std::shared_ptr<const RouteTable> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::exchange(table_, std::move(table));
    generation_.fetch_add(1, std::memory_order_release);
  }
  // `old` is released here, outside the lock: the last reference may run a large destructor.
}

std::shared_ptr<const RouteTable> RouteTableSnapshot::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_;
}

const RouteTable& RouteTableSnapshot::Reader::Get() {
  const uint64_t generation = snapshot_->generation_.load(std::memory_order_acquire);
  if (generation != seen_generation_ || cached_ == nullptr) {
    std::shared_ptr<const RouteTable> fresh;
    {
      std::lock_guard<std::mutex> lock(snapshot_->mu_);
      fresh = snapshot_->table_;
      seen_generation_ = snapshot_->generation_.load(std::memory_order_relaxed);
    }
    cached_ = std::move(fresh);  // drops the previous table outside the lock
  }
  return *cached_;
}

}  // namespace cutover::router
