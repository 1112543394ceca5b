#include "alarms/webhook.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <deque>
#include <map>

#include "common/status.h"

namespace cutover::alarms {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// ---- Targets

struct Target {
  bool tls = false;
  std::string host;         // name or address, IPv6 without brackets: what is resolved and verified
  std::string port;         // "443"
  std::string host_header;  // "example.com:8443", "[::1]:80"
  std::string path;         // "/hook?x=1"
  bool host_is_ip = false;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Result<Target> ParseTarget(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return InvalidArgument(fmt::format("'{}' is not a URL", url));
  const boost::urls::url_view& u = *parsed;
  Target t;
  if (EqualsIgnoreCase(u.scheme(), "https")) {
    t.tls = true;
  } else if (!EqualsIgnoreCase(u.scheme(), "http")) {
    return InvalidArgument(fmt::format("'{}': only http:// and https:// URLs are supported", url));
  }
  // Credentials in the URL would end up in logs and the delivery log.
  if (u.has_userinfo()) return InvalidArgument("user info in a webhook URL is not supported");
  t.host = u.host_address();
  if (t.host.empty()) return InvalidArgument(fmt::format("'{}' has no host", url));
  error_code ec;
  asio::ip::make_address(t.host, ec);
  t.host_is_ip = !ec;
  t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
  if (u.has_port() && (t.port.empty() || t.port.size() > 5 || std::stoul(t.port) == 0 ||
                       std::stoul(t.port) > 65535)) {
    return InvalidArgument(fmt::format("'{}' has an invalid port", url));
  }
  t.host_header = std::string(u.has_port() ? u.encoded_host_and_port() : u.encoded_host());
  t.path = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) t.path += "?" + std::string(u.encoded_query());
  return t;
}

// ---- Deliveries

// One attempt's connection, shared by the attempt and its watchdog so that whichever completes
// last finds it alive.
struct Connection {
  explicit Connection(const asio::any_io_executor& ex) : resolver(ex) {}
  beast::tcp_stream& Lowest() { return tls ? tls->next_layer() : *plain; }
  // Fails every pending operation of the attempt with operation_aborted.
  void Abort() {
    resolver.cancel();
    Lowest().close();
  }

  tcp::resolver resolver;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<ssl::stream<beast::tcp_stream>> tls;
  bool done = false;       // the attempt is over; the watchdog must not touch it
  bool timed_out = false;  // the watchdog aborted it
};

struct Delivery {
  WebhookMessage message;
  Target target;

  bool started = false;
  // Decided (or given up on): the coroutine running it must return without touching the
  // sender, which may be gone.
  bool finished = false;
  int attempts = 0;
  int http_status = 0;
  std::string error;
  std::weak_ptr<Connection> connection;         // the attempt in flight
  std::unique_ptr<asio::steady_timer> backoff;  // the wait before the next attempt
};

struct AttemptResult {
  int status = 0;
  std::string error;  // empty: delivered
  bool retry = false;
};

AttemptResult Retry(std::string error, int status = 0) { return {status, std::move(error), true}; }
AttemptResult Final(std::string error, int status = 0) { return {status, std::move(error), false}; }

std::string ErrorText(std::string_view phase, const error_code& ec) {
  return fmt::format("{}: {}", phase, ec.message());
}

template <class Stream>
asio::awaitable<AttemptResult> SendRequest(Stream& stream, const Delivery& d) {
  http::request<http::string_body> req{http::verb::post, d.target.path, 11};
  req.set(http::field::host, d.target.host_header);
  req.set(http::field::user_agent, d.message.user_agent);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  req.body() = *d.message.body;
  req.prepare_payload();
  auto [wec, written] = co_await http::async_write(stream, req, kTuple);
  if (wec) co_return Retry(ErrorText("write", wec));
  // The status decides; the body is not read.
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  auto [rec, read] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  if (rec) co_return Retry(ErrorText("read", rec));
  const int status = static_cast<int>(parser.get().result_int());
  if (status >= 200 && status < 300) co_return AttemptResult{status, "", false};
  const std::string error = fmt::format("HTTP {}", status);
  if (status == 429 || status >= 500) co_return Retry(error, status);
  co_return Final(error, status);  // 1xx, 3xx (redirects are not followed), other 4xx
}

// REQUIRES: c.tls set. Configures SNI and certificate verification for `t`.
void PrepareTls(Connection& c, const Target& t) {
  SSL* ssl = c.tls->native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (t.host_is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, t.host.c_str());  // no SNI for addresses (RFC 6066)
  } else {
    SSL_set_tlsext_host_name(ssl, t.host.c_str());
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, t.host.c_str());
  }
  c.tls->set_verify_mode(ssl::verify_peer);
}

asio::awaitable<AttemptResult> Exchange(Connection& c, const Delivery& d) {
  auto [rec, endpoints] = co_await c.resolver.async_resolve(d.target.host, d.target.port, kTuple);
  if (rec) co_return Retry(ErrorText("resolve", rec));
  auto [cec, endpoint] = co_await c.Lowest().async_connect(endpoints, kTuple);
  if (cec) co_return Retry(ErrorText("connect", cec));
  if (!c.tls) co_return co_await SendRequest(*c.plain, d);
  PrepareTls(c, d.target);
  auto [hec] = co_await c.tls->async_handshake(ssl::stream_base::client, kTuple);
  if (hec) {
    // An OpenSSL error (a certificate that does not verify, no common protocol, plain HTTP on an
    // https:// URL) will not go away by trying again; a dropped connection might.
    if (hec.category() != asio::error::get_ssl_category())
      co_return Retry(ErrorText("TLS handshake", hec));
    const long verify = SSL_get_verify_result(c.tls->native_handle());
    if (verify != X509_V_OK) {
      co_return Final(
          fmt::format("TLS: certificate verify failed: {}", X509_verify_cert_error_string(verify)));
    }
    co_return Final(ErrorText("TLS handshake", hec));
  }
  co_return co_await SendRequest(*c.tls, d);
}

// One attempt under a deadline. Touches only `d` and `tls_context` (never the sender).
asio::awaitable<AttemptResult> Attempt(std::shared_ptr<Delivery> d,
                                       std::shared_ptr<ssl::context> tls_context,
                                       std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto conn = std::make_shared<Connection>(ex);
  if (d->target.tls) {
    conn->tls = std::make_unique<ssl::stream<beast::tcp_stream>>(ex, *tls_context);
  } else {
    conn->plain = std::make_unique<beast::tcp_stream>(ex);
  }
  d->connection = conn;
  asio::steady_timer watchdog(ex);
  watchdog.expires_after(timeout);
  watchdog.async_wait([conn](const error_code& ec) {
    if (ec || conn->done) return;
    conn->timed_out = true;
    conn->Abort();
  });
  AttemptResult result = co_await Exchange(*conn, *d);
  conn->done = true;
  watchdog.cancel();
  error_code ignored;
  conn->Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  conn->Lowest().close();
  if (conn->timed_out) result = Retry(fmt::format("timed out after {} ms", timeout.count()));
  co_return result;
}

}  // namespace

std::string_view DeliveryOutcomeName(DeliveryOutcome outcome) {
  switch (outcome) {
    case DeliveryOutcome::kDelivered:
      return "delivered";
    case DeliveryOutcome::kFailed:
      return "failed";
    case DeliveryOutcome::kDropped:
      return "dropped";
    case DeliveryOutcome::kAbandoned:
      return "abandoned";
  }
  return "?";
}

// ---- The sender

class WebhookSender::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& ioc, const Clock& clock, WebhookSettings settings)
      : ioc_(ioc),
        clock_(clock),
        settings_(std::move(settings)),
        tls_(std::make_shared<ssl::context>(ssl::context::tls_client)) {
    settings_.max_attempts = std::max(1, settings_.max_attempts);
    settings_.max_pending = std::max<size_t>(1, settings_.max_pending);
    settings_.max_concurrent = std::max<size_t>(1, settings_.max_concurrent);
    error_code ec;
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                          ssl::context::no_tlsv1_1,
                      ec);
    tls_->set_verify_mode(ssl::verify_peer, ec);
    // The system store is loaded at the first https:// delivery (UseSystemStore): it costs tens of
    // milliseconds of start-up and over a megabyte per sender, and most daemons never send one.
    // The extra CA certificates are few and are checked here, so a bad one is reported at start.
    if (!settings_.extra_ca_pem.empty()) {
      tls_->add_certificate_authority(asio::buffer(settings_.extra_ca_pem), ec);
      if (ec) {
        tls_error_ = fmt::format("TLS: the extra CA certificates are unusable: {}", ec.message());
        spdlog::error("webhooks: {}", tls_error_);
      }
    }
  }

  void Post(WebhookMessage message) {
    if (stopped_) return;
    CUTOVER_CHECK(message.body != nullptr);
    auto d = std::make_shared<Delivery>();
    d->message = std::move(message);
    Result<Target> target = ParseTarget(d->message.url);
    if (!target.ok()) {
      d->error = target.status().message();
      Record(*d, DeliveryOutcome::kFailed);
      return;
    }
    d->target = std::move(*target);
    if (d->target.tls) UseSystemStore();
    if (d->target.tls && !tls_error_.empty()) {
      d->error = tls_error_;
      Record(*d, DeliveryOutcome::kFailed);
      return;
    }
    while (pending_.size() >= settings_.max_pending) {
      std::shared_ptr<Delivery> oldest = pending_.front();
      ++dropped_;
      oldest->error =
          fmt::format("dropped: more than {} deliveries pending", settings_.max_pending);
      Finish(*oldest, DeliveryOutcome::kDropped);
      Abort(*oldest);
    }
    pending_.push_back(std::move(d));
    Pump();
  }

  bool stopped() const { return stopped_; }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    std::deque<std::shared_ptr<Delivery>> all;
    all.swap(pending_);
    running_ = 0;
    for (const std::shared_ptr<Delivery>& d : all) {
      d->finished = true;
      Abort(*d);
      if (d->error.empty()) d->error = "abandoned at shutdown";
      Record(*d, DeliveryOutcome::kAbandoned);
    }
    if (!all.empty()) {
      spdlog::warn("webhooks: {} pending deliveries abandoned at shutdown", all.size());
    }
  }

  std::vector<WebhookDelivery> Deliveries(const std::string& log_key) const {
    auto it = log_.find(log_key);
    if (it == log_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }
  size_t pending() const { return pending_.size(); }
  uint64_t dropped() const { return dropped_; }

 private:
  // Starts queued deliveries, oldest first, up to max_concurrent.
  void Pump() {
    std::vector<std::shared_ptr<Delivery>> start;
    for (const std::shared_ptr<Delivery>& d : pending_) {
      if (running_ + start.size() >= settings_.max_concurrent) break;
      if (!d->started) start.push_back(d);
    }
    for (const std::shared_ptr<Delivery>& d : start) {
      d->started = true;
      ++running_;
      asio::co_spawn(ioc_, Run(d), [weak = weak_from_this(), d](std::exception_ptr e) {
        if (!e) return;
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          what = ex.what();
        } catch (...) {
        }
        auto self = weak.lock();
        if (!self || d->finished) return;
        d->error = "internal error: " + what;
        self->Finish(*d, DeliveryOutcome::kFailed);
      });
    }
  }

  // `this` is used only while !d->finished: Stop(), which the destructor runs, finishes every
  // pending delivery, so a coroutine resumed after the sender is gone returns at once.
  asio::awaitable<void> Run(std::shared_ptr<Delivery> d) {
    const std::shared_ptr<ssl::context> tls = tls_;
    const std::chrono::milliseconds timeout = settings_.attempt_timeout;
    for (;;) {
      ++d->attempts;
      AttemptResult r = co_await Attempt(d, tls, timeout);
      if (d->finished) co_return;
      d->http_status = r.status;
      d->error = r.error;
      if (r.error.empty()) {
        Finish(*d, DeliveryOutcome::kDelivered);
        co_return;
      }
      if (!r.retry || d->attempts >= settings_.max_attempts) {
        Finish(*d, DeliveryOutcome::kFailed);
        co_return;
      }
      const auto delay = settings_.backoff_base * (int64_t{1} << std::min(d->attempts - 1, 20));
      spdlog::info("{}: attempt {}/{} failed ({}); retrying in {} ms", LogPrefix(*d), d->attempts,
                   settings_.max_attempts, r.error, delay.count());
      d->backoff = std::make_unique<asio::steady_timer>(ioc_, delay);
      co_await d->backoff->async_wait(kTuple);
      if (d->finished) co_return;
    }
  }

  // Takes `d` out of the pending set and records its outcome.
  void Finish(Delivery& d, DeliveryOutcome outcome) {
    d.finished = true;
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [&](const std::shared_ptr<Delivery>& p) { return p.get() == &d; });
    if (it != pending_.end()) {
      if ((*it)->started) --running_;
      pending_.erase(it);
    }
    Record(d, outcome);
    Pump();
  }

  // Closes the connection of `d`'s attempt and cancels its backoff; the coroutine wakes up, sees
  // `finished` and returns.
  static void Abort(Delivery& d) {
    if (auto conn = d.connection.lock(); conn && !conn->done) conn->Abort();
    if (d.backoff) d.backoff->cancel();
  }

  void Record(const Delivery& d, DeliveryOutcome outcome) {
    const WebhookMessage& m = d.message;
    WebhookDelivery rec;
    rec.url = m.url;
    rec.event = m.event;
    rec.event_ms = m.event_ms;
    rec.outcome = outcome;
    rec.attempts = d.attempts;
    rec.http_status = d.http_status;
    rec.error = outcome == DeliveryOutcome::kDelivered ? "" : d.error;
    rec.finished_ms = ToEpochMillis(clock_.Now());
    std::deque<WebhookDelivery>& log = log_[m.log_key];
    log.push_front(std::move(rec));
    while (log.size() > std::max<size_t>(1, settings_.log_size)) log.pop_back();

    const std::string prefix = LogPrefix(d);
    switch (outcome) {
      case DeliveryOutcome::kDelivered:
        if (d.attempts > 1) {
          spdlog::info("{}: delivered (HTTP {}) after {} attempts", prefix, d.http_status,
                       d.attempts);
        } else {
          spdlog::debug("{}: delivered (HTTP {})", prefix, d.http_status);
        }
        break;
      case DeliveryOutcome::kFailed:
        if (d.attempts == 0) {
          spdlog::warn("{}: not sent: {}", prefix, d.error);
        } else {
          spdlog::warn("{}: failed after {} attempt{}: {}", prefix, d.attempts,
                       d.attempts == 1 ? "" : "s", d.error);
        }
        break;
      case DeliveryOutcome::kDropped:
        spdlog::warn("{}: {}", prefix, d.error);
        break;
      case DeliveryOutcome::kAbandoned:
        spdlog::debug("{}: abandoned at shutdown", prefix);
        break;
    }
  }

  // Adds the system's certificate store to the TLS context, once. Runs on the control loop before
  // the delivery that needs it starts, so no attempt is using the context yet.
  void UseSystemStore() {
    if (system_store_loaded_) return;
    system_store_loaded_ = true;
    error_code ec;
    tls_->set_default_verify_paths(ec);
    if (ec) spdlog::warn("webhooks: no system certificate store: {}", ec.message());
  }

  // "alarm errors: ALARM POST https://example.com/hook"
  static std::string LogPrefix(const Delivery& d) {
    const WebhookMessage& m = d.message;
    return fmt::format("{} {}: {} POST {}", m.kind.empty() ? "webhook" : m.kind, m.log_key, m.event,
                       m.url);
  }

  asio::io_context& ioc_;
  const Clock& clock_;
  WebhookSettings settings_;
  std::shared_ptr<ssl::context> tls_;              // shared with running attempts
  std::string tls_error_;                          // non-empty: https:// deliveries fail with it
  bool system_store_loaded_ = false;               // UseSystemStore() has run
  std::deque<std::shared_ptr<Delivery>> pending_;  // oldest first
  size_t running_ = 0;                             // started and not finished
  bool stopped_ = false;
  uint64_t dropped_ = 0;
  std::map<std::string, std::deque<WebhookDelivery>> log_;  // by log key, newest first
};

WebhookSender::WebhookSender(asio::io_context& ioc, const Clock& clock, WebhookSettings settings)
    : impl_(std::make_shared<Impl>(ioc, clock, std::move(settings))) {}

WebhookSender::~WebhookSender() { impl_->Stop(); }

void WebhookSender::Post(WebhookMessage message) { impl_->Post(std::move(message)); }

void WebhookSender::Stop() { impl_->Stop(); }

bool WebhookSender::stopped() const { return impl_->stopped(); }

std::vector<WebhookDelivery> WebhookSender::Deliveries(const std::string& log_key) const {
  return impl_->Deliveries(log_key);
}

size_t WebhookSender::pending() const { return impl_->pending(); }

uint64_t WebhookSender::dropped() const { return impl_->dropped(); }

}  // namespace cutover::alarms
