#include "cli/event_stream.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>

#include "cli/admin_client.h"

namespace cutover::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// How much of a refused stream's body is read for the error message.
constexpr uint64_t kErrorBodyLimit = 64 * 1024;

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

// ---- SseParser

bool SseParser::Feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (at_start_ && !bytes.empty()) {
    // The BOM may itself arrive in pieces; wait until three bytes are there to decide.
    line_.append(bytes);
    if (line_.size() < 3 && std::string_view("\xEF\xBB\xBF").starts_with(line_)) return true;
    at_start_ = false;
    std::string pending = std::move(line_);
    line_.clear();
    std::string_view rest(pending);
    if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
    return Feed(rest, out);
  }
  size_t start = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c != '\n' && c != '\r') continue;
    if (c == '\n' && after_cr_ && i == start && line_.empty()) {
      // The LF of a CRLF whose CR ended the previous line.
      after_cr_ = false;
      start = i + 1;
      continue;
    }
    if (line_.empty()) {
      Line(bytes.substr(start, i - start), out);
    } else {
      line_.append(bytes.substr(start, i - start));
      Line(line_, out);
      line_.clear();
    }
    after_cr_ = c == '\r';
    start = i + 1;
  }
  if (start < bytes.size()) {
    after_cr_ = false;
    line_.append(bytes.substr(start));
    if (line_.size() > kMaxLineBytes) return false;
  }
  return true;
}

void SseParser::Line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {  // dispatch
    if (!data_.empty()) {
      data_.pop_back();  // the "\n" after the last data line
      SseEvent event;
      event.id = last_event_id_;
      if (!type_.empty()) event.type = std::move(type_);
      event.data = std::move(data_);
      out.push_back(std::move(event));
    }
    data_.clear();
    type_.clear();
    return;
  }
  if (line.front() == ':') return;  // a comment: the daemon's keep-alive
  std::string_view field = line;
  std::string_view value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    type_ = value;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_event_id_ = value;
  } else if (field == "retry") {
    if (!value.empty() && value.size() < 12 &&
        value.find_first_not_of("0123456789") == std::string_view::npos) {
      retry_ms_ = std::stoll(std::string(value));
    }
  }
  // Any other field is ignored, as the standard says.
}

// ---- EventStream

struct EventStream::Connection {
  // Beast's timeouts work on asynchronous operations only, so each step is started asynchronously
  // and this thread runs the private io_context; Next() runs it for at most its wait, leaving a
  // read pending across calls. The io_context is declared first so it outlives the socket.
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> body;
  char chunk[16 * 1024];
  SseParser sse;
  bool reading = false;    // a read is pending
  bool completed = false;  // the pending read finished; its result is below
  error_code read_error;

  ~Connection() {
    // Let a cancelled read run its handler while everything it refers to still exists.
    error_code ec;
    stream.socket().close(ec);
    ioc.restart();
    ioc.poll();
  }

  void StartRead(std::chrono::milliseconds idle_timeout) {
    body->get().body().data = chunk;
    body->get().body().size = sizeof chunk;
    body->get().body().more = true;
    reading = true;
    completed = false;
    stream.expires_after(idle_timeout);
    http::async_read_some(stream, buffer, *body, [this](const error_code& ec, size_t) {
      reading = false;
      completed = true;
      read_error = ec;
    });
  }
};

EventStream::EventStream(Endpoint endpoint, std::optional<std::string> token, std::string target,
                         EventStreamOptions options)
    : endpoint_(std::move(endpoint)),
      token_(std::move(token)),
      target_(std::move(target)),
      options_(options) {}

EventStream::~EventStream() = default;

Status EventStream::Open(const std::string& last_event_id) {
  connection_.reset();
  end_reason_.clear();
  auto c = std::make_unique<Connection>();

  error_code ec;
  tcp::resolver resolver(c->ioc);
  tcp::resolver::results_type addresses =
      resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
  if (ec) return Unavailable(fmt::format("{}: {}", endpoint_.Url(), ec.message()));
  error_code connect_error;
  c->stream.expires_after(options_.connect_timeout);
  c->stream.async_connect(addresses,
                          [&](const error_code& e, const tcp::endpoint&) { connect_error = e; });
  c->ioc.run();
  if (connect_error) {
    return Unavailable(fmt::format("{}: {}", endpoint_.Url(), connect_error.message()));
  }

  http::request<http::empty_body> request{http::verb::get, endpoint_.base_path + target_, 11};
  const bool ipv6 = endpoint_.host.find(':') != std::string::npos;
  request.set(http::field::host, ipv6 ? fmt::format("[{}]:{}", endpoint_.host, endpoint_.port)
                                      : fmt::format("{}:{}", endpoint_.host, endpoint_.port));
  request.set(http::field::user_agent, "cutover-cli");
  request.set(http::field::accept, "text/event-stream");
  request.set(http::field::cache_control, "no-cache");
  if (!last_event_id.empty()) request.set("Last-Event-ID", last_event_id);
  if (token_.has_value()) request.set(http::field::authorization, "Bearer " + *token_);

  http::response_parser<http::empty_body> head;
  error_code io_error;
  c->stream.expires_after(options_.header_timeout);
  http::async_write(c->stream, request, [&](const error_code& e, size_t) {
    if (e) {
      io_error = e;
      return;
    }
    http::async_read_header(c->stream, c->buffer, head,
                            [&](const error_code& e2, size_t) { io_error = e2; });
  });
  c->ioc.restart();
  c->ioc.run();
  if (io_error) {
    return Internal(fmt::format("the event stream at {}{} broke before its first line: {}",
                                endpoint_.Url(), target_, io_error.message()));
  }

  const auto& fields = head.get();
  const std::string_view content_type = fields[http::field::content_type];
  if (fields.result() != http::status::ok ||
      (!content_type.empty() && !StartsWithIgnoreCase(content_type, "text/event-stream"))) {
    // Read what the daemon says (boundedly) to report it as any other admin API error.
    http::response_parser<http::string_body> rest{std::move(head)};
    rest.body_limit(kErrorBodyLimit);
    c->stream.expires_after(options_.header_timeout);
    c->ioc.restart();
    http::async_read(c->stream, c->buffer, rest, [](const error_code&, size_t) {});
    c->ioc.run();
    HttpResponse response;
    response.status = static_cast<int>(rest.get().result_int());
    for (const auto& field : rest.get()) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = rest.get().body();
    if (response.status == 200) {
      return Internal(fmt::format("{}{} is not an event stream (Content-Type: {})", endpoint_.Url(),
                                  target_, std::string(content_type)));
    }
    return ErrorFromResponse(response);
  }
  c->body.emplace(std::move(head));
  c->body->body_limit(boost::none);  // the stream is as long as the deployment
  connection_ = std::move(c);
  return Status::Ok();
}

Result<std::vector<SseEvent>> EventStream::Next(std::chrono::milliseconds max_wait) {
  if (connection_ == nullptr) {
    return Unavailable(end_reason_.empty() ? "the event stream is not open" : end_reason_);
  }
  Connection& c = *connection_;
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  std::vector<SseEvent> events;
  while (true) {
    if (!c.reading) c.StartRead(options_.idle_timeout);
    c.ioc.restart();
    c.ioc.run_until(deadline);
    if (!c.completed) return events;  // still waiting; the read stays pending

    c.completed = false;
    const size_t received = sizeof c.chunk - c.body->get().body().size;
    const bool fed = c.sse.Feed(std::string_view(c.chunk, received), events);
    if (!c.sse.last_event_id().empty()) last_event_id_ = c.sse.last_event_id();
    error_code ec = c.read_error;
    if (ec == http::error::need_buffer) ec = {};  // the chunk buffer is full; that is all
    if (!fed) {
      connection_.reset();
      end_reason_ = "the event stream sent a line longer than 8 MiB";
      return Unavailable(end_reason_);
    }
    if (ec || c.body->is_done()) {
      // Events completed before the break are still delivered; the next call reports the end.
      std::string why = "closed by the daemon";
      if (ec == beast::error::timeout) {
        why = fmt::format("silent for {} ms", options_.idle_timeout.count());
      } else if (ec) {
        why = ec.message();
      }
      connection_.reset();
      end_reason_ = fmt::format("the event stream ended ({})", why);
      if (!events.empty()) return events;
      return Unavailable(end_reason_);
    }
    if (!events.empty() || std::chrono::steady_clock::now() >= deadline) return events;
  }
}

}  // namespace cutover::cli
