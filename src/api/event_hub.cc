#include "api/event_hub.h"

#include <algorithm>

namespace cutover::api {

void EventHub::Publish(std::string type, std::string topic, std::string data) {
  events_.push_back({next_id_++, std::move(type), std::move(topic), std::move(data)});
  while (events_.size() > keep_) events_.pop_front();
  // Waking a stream is cancelling its wait; each removes itself when it resumes.
  for (boost::asio::steady_timer* timer : waiters_) timer->cancel();
}

std::vector<HubEvent> EventHub::Since(uint64_t after) const {
  auto first = std::upper_bound(events_.begin(), events_.end(), after,
                                [](uint64_t id, const HubEvent& e) { return id < e.id; });
  return std::vector<HubEvent>(first, events_.end());
}

}  // namespace cutover::api
