// WebhookSender: delivers JSON notifications by HTTP POST, without ever blocking its caller. The
// engine behind alarm actions (alarms/actions.h) and CodeDeploy triggers (deploy/triggers.h); the
// callers build the JSON, this class gets it to an http:// or https:// URL.
//
// Post() only enqueues; the requests run asynchronously on the io_context given at construction
// (the control loop's), with a Beast client. Each attempt has a deadline (resolve, connect, TLS
// handshake, write, read of the response header). An attempt that fails to connect, times out or
// gets 5xx/429 is retried after backoff_base * 2^(n-1), up to max_attempts attempts; 2xx is
// success; any other status, and a TLS certificate that does not verify, is final. https://
// verifies the server's certificate against the system store (plus extra_ca_pem) and its host
// name, and sends SNI. The system store is read at the first https:// delivery, not at
// construction: it takes longer to load than the rest of the daemon's start-up, and over a
// megabyte. Redirects are not followed. The response body is not read.
//
// Bounds: at most max_pending deliveries are pending (queued, in flight or waiting to retry); a
// new one beyond that drops the oldest, with a warning. At most max_concurrent run at once; the
// rest wait in order. Stop() abandons everything pending at once (sockets closed, timers cancelled)
// and ignores later Post() calls.
//
// Every finished delivery (delivered, failed, dropped, abandoned) is logged with spdlog and kept in
// a per-key log (WebhookMessage::log_key: an alarm name, a deployment id) of the last log_size
// deliveries, newest first, for the admin API.
//
// Thread-safety: control loop only — call every member on the thread that runs the io_context (or
// while nothing runs it). The io_context must outlive the sender; the sender may be destroyed
// before the io_context has run the completions of what Stop() abandoned.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace boost::asio {
class io_context;
}

namespace cutover::alarms {

struct WebhookSettings {
  // One attempt's deadline, from resolving the host to reading the response header.
  std::chrono::milliseconds attempt_timeout{5000};
  // Attempt n + 1 starts backoff_base * 2^(n-1) after attempt n failed: 1 s, 2 s, 4 s, 8 s.
  std::chrono::milliseconds backoff_base{1000};
  int max_attempts = 5;
  size_t max_pending = 1000;
  size_t max_concurrent = 16;
  size_t log_size = 20;  // deliveries kept per log key
  // PEM certificates trusted in addition to the system store (a private CA; tests).
  std::string extra_ca_pem;
};

enum class DeliveryOutcome {
  kDelivered,  // a 2xx answer
  kFailed,     // a final error, or the last attempt failed
  kDropped,    // pushed out by the max_pending bound
  kAbandoned,  // still pending at Stop()
};
// "delivered", "failed", "dropped", "abandoned".
std::string_view DeliveryOutcomeName(DeliveryOutcome outcome);

// One notification to deliver to one URL.
struct WebhookMessage {
  std::string log_key;   // the delivery log it is kept in: an alarm name, a deployment id
  std::string event;     // what it reports ("ALARM", "DeploymentStart"): logs and the record
  int64_t event_ms = 0;  // when that happened (epoch ms), copied to the record
  std::string url;       // http:// or https://; anything else fails without an attempt
  std::shared_ptr<const std::string> body;  // JSON; the targets of one event share it
  std::string user_agent;                   // "cutover-alarms"
  std::string kind;  // names the sender in log lines: "alarm" gives "alarm errors: ALARM POST ..."
};

struct WebhookDelivery {
  std::string url;
  std::string event;     // WebhookMessage::event
  int64_t event_ms = 0;  // WebhookMessage::event_ms
  DeliveryOutcome outcome = DeliveryOutcome::kFailed;
  int attempts = 0;     // attempts started (0: refused, dropped or abandoned before the first)
  int http_status = 0;  // the last answer's status; 0 when none came
  std::string error;    // why the last attempt failed ("HTTP 500", "connect: Connection refused")
  int64_t finished_ms = 0;  // when the outcome was decided (the sender's clock)
};

class WebhookSender final {
 public:
  WebhookSender(boost::asio::io_context& ioc, const Clock& clock, WebhookSettings settings = {});
  ~WebhookSender();  // Stop()
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Enqueues one delivery. A URL that does not parse, or an https:// URL when extra_ca_pem is
  // unusable, is recorded as kFailed at once with 0 attempts. Nothing after Stop().
  // REQUIRES: message.body set.
  void Post(WebhookMessage message);

  // Abandons every pending delivery (recorded as kAbandoned) and refuses new ones. Returns without
  // waiting for the network. Idempotent.
  void Stop();
  bool stopped() const;

  // The last log_size finished deliveries kept under `log_key`, newest first.
  std::vector<WebhookDelivery> Deliveries(const std::string& log_key) const;
  // Deliveries queued, in flight or waiting to retry.
  size_t pending() const;
  // Deliveries dropped by the max_pending bound since construction.
  uint64_t dropped() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;  // shared: running coroutines hold a weak reference
};

}  // namespace cutover::alarms
