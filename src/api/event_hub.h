// EventHub: the admin API's Server-Sent Events stream (`GET /v1/events`).
//
// The control loop publishes each event once; every open stream reads what it has not sent yet
// from a bounded ring (so a slow client costs memory only up to the ring, and a client that
// reconnects with Last-Event-ID gets what it missed while the ring still holds it). Streams wait
// on a timer that Publish() cancels, which wakes them without polling.
//
// Thread-safety: control loop only (the admin server runs there).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

namespace cutover::api {

struct HubEvent {
  uint64_t id = 0;    // 1, 2, 3 ... per daemon run
  std::string type;   // the SSE event name: "deployment"
  std::string topic;  // what a stream may filter on: the deployment id
  std::string data;   // one line of JSON
};

class EventHub final {
 public:
  explicit EventHub(size_t keep = 4096) : keep_(keep) {}

  void Publish(std::string type, std::string topic, std::string data);

  // The kept events with id > after (the oldest kept first).
  std::vector<HubEvent> Since(uint64_t after) const;
  uint64_t last_id() const { return next_id_ - 1; }

  // A stream waiting for the next Publish.
  void AddWaiter(boost::asio::steady_timer* timer) { waiters_.insert(timer); }
  void RemoveWaiter(boost::asio::steady_timer* timer) { waiters_.erase(timer); }

 private:
  size_t keep_;
  uint64_t next_id_ = 1;
  std::deque<HubEvent> events_;
  std::set<boost::asio::steady_timer*> waiters_;
};

}  // namespace cutover::api
