#include "store/etcd_watch.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>

#include "common/base64.h"
#include "store/etcd_client.h"

namespace cutover::store {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr auto kConnectTimeout = std::chrono::seconds(3);
constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);

int64_t RevisionOf(const json::object& result) {
  const json::value* header = result.if_contains("header");
  if (header == nullptr || !header->is_object()) return 0;
  const json::value* rev = header->get_object().if_contains("revision");
  if (rev == nullptr || !rev->is_string()) return 0;
  int64_t out = 0;
  const json::string& s = rev->get_string();
  std::from_chars(s.data(), s.data() + s.size(), out);
  return out;
}

}  // namespace

Result<std::unique_ptr<EtcdWatcher>> EtcdWatcher::Start(std::string_view endpoints,
                                                        std::string prefix, int64_t after_revision,
                                                        EtcdWatchCallbacks callbacks) {
  // The same endpoint syntax as the client's, checked the same way.
  CUTOVER_ASSIGN_OR_RETURN(auto client, EtcdClient::Create(endpoints));
  (void)client;
  std::vector<Endpoint> parsed;
  size_t start = 0;
  while (start <= endpoints.size()) {
    size_t comma = std::min(endpoints.find(',', start), endpoints.size());
    CUTOVER_ASSIGN_OR_RETURN(Endpoint e, ParseEndpoint(endpoints.substr(start, comma - start)));
    parsed.push_back(std::move(e));
    start = comma + 1;
  }
  return std::unique_ptr<EtcdWatcher>(
      new EtcdWatcher(std::move(parsed), std::move(prefix), after_revision, std::move(callbacks)));
}

EtcdWatcher::EtcdWatcher(std::vector<Endpoint> endpoints, std::string prefix,
                         int64_t after_revision, EtcdWatchCallbacks callbacks)
    : endpoints_(std::move(endpoints)),
      prefix_(std::move(prefix)),
      callbacks_(std::move(callbacks)),
      next_revision_(after_revision > 0 ? after_revision + 1 : 0) {
  thread_ = std::thread([this] { Run(); });
}

EtcdWatcher::~EtcdWatcher() {
  stopping_.store(true);
  {
    std::lock_guard<std::mutex> lock(socket_mu_);
    if (socket_fd_ >= 0) ::shutdown(socket_fd_, SHUT_RDWR);  // ends a blocked read
  }
  if (thread_.joinable()) thread_.join();
}

void EtcdWatcher::SetConnected(bool connected, const std::string& why) {
  if (connected_.exchange(connected) == connected) return;
  if (callbacks_.on_connection) callbacks_.on_connection(connected, why);
}

void EtcdWatcher::Run() {
  auto backoff = std::chrono::milliseconds(50);
  size_t index = 0;
  while (!stopping_.load()) {
    std::string why;
    const auto began = std::chrono::steady_clock::now();
    WatchOnce(endpoints_[index], &why);
    if (stopping_.load()) break;
    SetConnected(false, why);
    // The next member, after a pause that grows while nothing works and starts small again
    // after a connection that lasted.
    index = (index + 1) % endpoints_.size();
    if (std::chrono::steady_clock::now() - began > std::chrono::seconds(5)) {
      backoff = std::chrono::milliseconds(50);
    }
    const auto until = std::chrono::steady_clock::now() + backoff;
    while (!stopping_.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    backoff =
        std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
  }
  SetConnected(false, "stopped");
}

void EtcdWatcher::WatchOnce(const Endpoint& endpoint, std::string* why) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) {
    *why = fmt::format("etcd at {}: {}", endpoint.Url(), ec.message());
    return;
  }
  stream.expires_after(kConnectTimeout);
  stream.connect(addresses, ec);
  if (ec) {
    *why = fmt::format("cannot reach etcd at {} ({})", endpoint.Url(), ec.message());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(socket_mu_);
    if (stopping_.load()) return;
    socket_fd_ = stream.socket().native_handle();
  }
  struct Forget {
    EtcdWatcher* w;
    ~Forget() {
      std::lock_guard<std::mutex> lock(w->socket_mu_);
      w->socket_fd_ = -1;
    }
  } forget{this};

  json::object create;
  create["key"] = Base64Encode(prefix_);
  create["range_end"] = Base64Encode(EtcdClient::PrefixEnd(prefix_));
  if (next_revision_ > 0) create["start_revision"] = std::to_string(next_revision_);
  http::request<http::string_body> request(http::verb::post, "/v3/watch", 11);
  request.set(http::field::host, endpoint.host);
  request.set(http::field::content_type, "application/json");
  request.body() = json::serialize(json::object{{"create_request", std::move(create)}});
  request.prepare_payload();
  http::write(stream, request, ec);
  if (ec) {
    *why = fmt::format("etcd at {}: sending the watch: {}", endpoint.Url(), ec.message());
    return;
  }

  // The answer is one chunked response that never ends: a JSON object per message, each ending
  // in a newline. Messages are handled as their bytes arrive.
  std::string pending;
  bool broken = false;
  auto handle = [&](std::string_view line) {
    json::error_code jec;
    json::value v = json::parse(line, jec);
    const json::object* result = nullptr;
    if (!jec && v.is_object()) {
      if (const json::value* r = v.get_object().if_contains("result"); r && r->is_object()) {
        result = &r->get_object();
      }
    }
    if (result == nullptr) {
      *why = fmt::format("etcd at {}: the watch answered {}", endpoint.Url(), line.substr(0, 200));
      broken = true;
      return;
    }
    const int64_t revision = RevisionOf(*result);
    if (result->contains("created")) {
      SetConnected(true, fmt::format("watching {} at {}", prefix_, endpoint.Url()));
      if (next_revision_ == 0) next_revision_ = revision + 1;
    }
    if (const json::value* c = result->if_contains("compact_revision"); c && revision > 0) {
      // The revision to resume from is gone: whatever happened since, read everything again.
      (void)c;
      next_revision_ = revision + 1;
      if (callbacks_.on_change) callbacks_.on_change(revision);
      *why = fmt::format("etcd at {}: the watch's revision was compacted; resuming at {}",
                         endpoint.Url(), revision);
      broken = true;
      return;
    }
    if (result->contains("canceled")) {
      *why = fmt::format("etcd at {}: the watch was cancelled", endpoint.Url());
      broken = true;
      return;
    }
    if (result->contains("events") && revision > 0) {
      next_revision_ = revision + 1;
      if (callbacks_.on_change) callbacks_.on_change(revision);
    }
  };

  http::response_parser<http::empty_body> parser;
  parser.body_limit(boost::none);
  // Beast keeps a reference to the callback: it lives as long as the parser.
  auto on_chunk = [&](uint64_t, std::string_view body, beast::error_code&) -> size_t {
    pending.append(body.data(), body.size());
    size_t start = 0;
    for (size_t nl; !broken && (nl = pending.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      if (nl > start) handle(std::string_view(pending).substr(start, nl - start));
    }
    pending.erase(0, start);
    return body.size();
  };
  parser.on_chunk_body(on_chunk);
  beast::flat_buffer buffer;
  http::read_header(stream, buffer, parser, ec);
  if (ec || parser.get().result_int() != 200) {
    *why = ec ? fmt::format("etcd at {}: {}", endpoint.Url(), ec.message())
              : fmt::format("etcd at {} answered the watch with HTTP {}", endpoint.Url(),
                            parser.get().result_int());
    return;
  }
  stream.expires_never();  // an idle watch is silent for as long as nothing changes
  while (!broken && !stopping_.load() && !parser.is_done()) {
    http::read_some(stream, buffer, parser, ec);
    if (ec) {
      *why = fmt::format("etcd at {}: the watch broke ({})", endpoint.Url(), ec.message());
      return;
    }
  }
  if (why->empty()) *why = fmt::format("etcd at {}: the watch ended", endpoint.Url());
}

}  // namespace cutover::store
