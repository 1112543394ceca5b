#include "api/event_hub.h"

#include <algorithm>

namespace cutover::api {

void EventHub::Publish(std::string type, std::string topic, std::string data) {
  events_.push_back({next_id_++, std::move(type), std::move(topic), std::move(data)});
  while (events_.size() > keep_) events_.pop_front();
  // Waking a stream is cancelling its wait; each removes itself when it resumes.
  for (auto& [timer, watching] : waiters_) timer->cancel();
}

std::vector<HubEvent> EventHub::Since(uint64_t after) const {
  auto first = std::upper_bound(events_.begin(), events_.end(), after,
                                [](uint64_t id, const HubEvent& e) { return id < e.id; });
  return std::vector<HubEvent>(first, events_.end());
}

void EventHub::Watch(const std::string& topic) {
  if (!topic.empty()) ++watched_[topic].streams;
}

void EventHub::Unwatch(const std::string& topic) {
  auto it = watched_.find(topic);
  if (it != watched_.end() && --it->second.streams <= 0) watched_.erase(it);
}

std::vector<std::string> EventHub::Watched() const {
  std::vector<std::string> out;
  out.reserve(watched_.size());
  for (const auto& [topic, w] : watched_) out.push_back(topic);
  return out;
}

void EventHub::Post(const std::string& topic, std::string type, std::string data) {
  auto it = watched_.find(topic);
  if (it == watched_.end()) return;
  it->second.latest = LivePost{next_generation_++, std::move(type), std::move(data)};
  for (auto& [timer, watching] : waiters_) {
    if (watching == topic) timer->cancel();
  }
}

const LivePost* EventHub::Latest(const std::string& topic) const {
  auto it = watched_.find(topic);
  if (it == watched_.end() || it->second.latest.generation == 0) return nullptr;
  return &it->second.latest;
}

}  // namespace cutover::api
