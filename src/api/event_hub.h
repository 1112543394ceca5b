// EventHub: the admin API's Server-Sent Events stream (`GET /v1/events`).
//
// Two kinds of message go out:
//   - Events (Publish): each deployment event once, numbered. Every open stream reads what it has
//     not sent yet from a bounded ring (so a slow client costs memory only up to the ring, and a
//     client that reconnects with Last-Event-ID gets what it missed while the ring still holds it).
//   - Live posts (Post): the newest value of a topic a stream watches (a deployment's chart data,
//     once a second). Not numbered and not kept: each post replaces the topic's previous one, and a
//     stream sends the newest post it has not sent, so a slow client skips posts, never queues them.
//     Posts are made only for topics some stream watches (Watched).
// Streams wait on a timer that Publish() (every stream) or Post() (the topic's watchers) cancels,
// which wakes them without polling.
//
// Thread-safety: control loop only (the admin server runs there).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace cutover::api {

struct HubEvent {
  uint64_t id = 0;    // 1, 2, 3 ... per daemon run
  std::string type;   // the SSE event name: "deployment"
  std::string topic;  // what a stream may filter on: the deployment id
  std::string data;   // one line of JSON
};

struct LivePost {
  uint64_t generation = 0;  // grows with every post of any topic; 0: nothing posted yet
  std::string type;         // the SSE event name: "charts"
  std::string data;         // one line of JSON
};

class EventHub final {
 public:
  explicit EventHub(size_t keep = 4096) : keep_(keep) {}

  void Publish(std::string type, std::string topic, std::string data);

  // The kept events with id > after (the oldest kept first).
  std::vector<HubEvent> Since(uint64_t after) const;
  uint64_t last_id() const { return next_id_ - 1; }

  // A stream watching `topic` ("" for none) from now on, until Unwatch. Counted: several streams
  // may watch one topic.
  void Watch(const std::string& topic);
  void Unwatch(const std::string& topic);
  // The topics at least one stream watches, in order.
  std::vector<std::string> Watched() const;

  // Replaces `topic`'s newest post and wakes its watchers. A topic nobody watches is not kept.
  void Post(const std::string& topic, std::string type, std::string data);
  // `topic`'s newest post, or nullptr.
  const LivePost* Latest(const std::string& topic) const;

  // A stream waiting for the next Publish, or for the next Post of `topic` ("" for none).
  void AddWaiter(boost::asio::steady_timer* timer, const std::string& topic = "") {
    waiters_[timer] = topic;
  }
  void RemoveWaiter(boost::asio::steady_timer* timer) { waiters_.erase(timer); }

 private:
  struct Topic {
    int streams = 0;
    LivePost latest;
  };

  size_t keep_;
  uint64_t next_id_ = 1;
  uint64_t next_generation_ = 1;
  std::deque<HubEvent> events_;
  std::map<std::string, Topic> watched_;
  std::map<boost::asio::steady_timer*, std::string> waiters_;  // → the topic it watches
};

}  // namespace cutover::api
