// A Server-Sent Events client for the admin API's `GET /v1/events`, in two layers:
//
//   - SseParser turns the bytes of an event stream into events, following the WHATWG
//     "text/event-stream" rules: lines end in LF, CR or CRLF (a CRLF may be split between two
//     reads), `data:` lines of one event are joined with "\n", `id:` sets the last event id (which
//     stays in effect for later events), `:` starts a comment (the daemon's keep-alives), a blank
//     line dispatches, and an event without data is dropped. It is pure, so the tests feed it
//     arbitrary cuts of a stream.
//   - EventStream holds one HTTP connection and hands out the events as they arrive, waiting at
//     most a given time per call so the caller can redraw between events. The daemon's response has
//     no Content-Length (a body until close); Beast's parser also accepts a chunked one. The stream
//     counts as broken when nothing, not even a keep-alive comment, arrived for `idle_timeout`; the
//     caller then opens a new one with the last event id (Last-Event-ID) to get what it missed.
//
// Thread-safety: an SseParser or EventStream is used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_client.h"
#include "common/status.h"

namespace cutover::cli {

struct SseEvent {
  std::string id;                // the last event id in effect when it was dispatched; "" = none
  std::string type = "message";  // the `event:` field
  std::string data;              // the `data:` lines joined with "\n"
};

class SseParser final {
 public:
  // A line longer than this (no end of line in sight) means the peer is not sending an event
  // stream; Feed then fails rather than buffering without bound.
  static constexpr size_t kMaxLineBytes = size_t{8} << 20;

  // Parses the next bytes of the stream, which may end anywhere (inside a line, between CR and
  // LF). Appends each completed event to `out`. Returns false when a line exceeds kMaxLineBytes;
  // the parser must not be fed again.
  bool Feed(std::string_view bytes, std::vector<SseEvent>& out);

  const std::string& last_event_id() const { return last_event_id_; }
  // The last `retry:` value, in milliseconds.
  std::optional<int64_t> retry_ms() const { return retry_ms_; }

 private:
  void Line(std::string_view line, std::vector<SseEvent>& out);

  std::string line_;       // the unfinished line
  bool after_cr_ = false;  // the last byte was a CR: an LF that follows ends no line
  bool at_start_ = true;   // a UTF-8 BOM may open the stream
  std::string data_;       // the event being built: data lines, each followed by "\n"
  std::string type_;
  std::string last_event_id_;
  std::optional<int64_t> retry_ms_;
};

struct EventStreamOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds header_timeout{10000};  // from connecting to the response head
  // The daemon sends a keep-alive comment every 15 s; three missed ones mean the stream is dead.
  std::chrono::milliseconds idle_timeout{45000};
};

class EventStream final {
 public:
  // `target` is the path and query ("/v1/events?deployment=d-..."); `token` is sent as a bearer
  // token when set.
  EventStream(Endpoint endpoint, std::optional<std::string> token, std::string target,
              EventStreamOptions options = {});
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Connects (closing any previous connection) and reads the response head, sending
  // Last-Event-ID when `last_event_id` is not empty. Unavailable when no connection could be made
  // (the daemon may be restarting); the daemon's error (see ErrorFromResponse) when it answered
  // something other than an event stream, e.g. NotFound from a daemon without /v1/events.
  Status Open(const std::string& last_event_id);

  // Waits up to `max_wait` for events and returns those that arrived, possibly none. Fails with
  // Unavailable when the stream ended, broke or stayed silent for idle_timeout (events completed
  // before that are returned first, the failure on the next call); Open it again to resume.
  Result<std::vector<SseEvent>> Next(std::chrono::milliseconds max_wait);

  // The id of the last event received on any connection of this stream, for Last-Event-ID.
  const std::string& last_event_id() const { return last_event_id_; }

 private:
  struct Connection;

  Endpoint endpoint_;
  std::optional<std::string> token_;
  std::string target_;
  EventStreamOptions options_;
  std::string last_event_id_;
  std::unique_ptr<Connection> connection_;  // null until opened and after the stream ended
  std::string end_reason_;                  // why the last connection ended
};

}  // namespace cutover::cli
