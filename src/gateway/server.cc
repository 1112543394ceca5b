#include "gateway/server.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "common/ids.h"
#include "common/random.h"
#include "gateway/async_invoke.h"
#include "gateway/proxy_event.h"

namespace cutover::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// State owned by one worker thread: its view of the route table and its random numbers.
// A connection as Drain sees it: its stream, and whether it is between requests.
struct SessionState {
  beast::tcp_stream* stream;
  bool idle = true;
};

struct Worker {
  Worker(const router::RouteTableSnapshot& routes, asio::io_context& ctx,
         metrics::SampleRing* ring)
      : reader(routes), random(Random::FromEntropy()), context(&ctx), samples(ring) {}
  router::RouteTableSnapshot::Reader reader;
  Random random;
  asio::io_context* context;  // the thread this worker runs on
  metrics::SampleRing* samples;  // null: metrics off
  // Interned metric labels of the routes of `labels_table`, looked up once per route and table.
  const router::RouteTable* labels_table = nullptr;
  std::unordered_map<const router::RouteSpec*, const metrics::RouteLabels*> labels;
  std::unordered_set<SessionState*> sessions;  // this worker's open connections
  std::atomic<size_t> open{0};                 // their number, for any thread
};

Response JsonError(unsigned status, std::string_view body, std::string_view error_type) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  if (!error_type.empty()) res.set("x-amzn-ErrorType", error_type);
  res.body() = std::string(body);
  return res;
}

std::string ApiId(const router::FunctionTarget& t) {
  // API Gateway ids are 10 lower-case alphanumerics; derive a stable one from service and stage.
  size_t h = std::hash<std::string>{}(t.service + "/" + t.stage);
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (int i = 0; i < 10; ++i, h /= 36) id += kAlphabet[h % 36];
  return id;
}

std::string FunctionArn(const GatewaySettings& s, const router::FunctionTarget& t) {
  return fmt::format("arn:aws:lambda:{}:000000000000:function:{}:{}", s.region, t.function_name,
                     t.qualifier);
}

class Server final : public GatewayServer {
 public:
  Server(GatewaySettings settings, const router::RouteTableSnapshot& routes,
         runtime::RuntimeService& runtime, const Clock& clock)
      : settings_(std::move(settings)), routes_(routes), runtime_(runtime), clock_(clock) {}

  Status Listen(const std::vector<asio::io_context*>& contexts) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(settings_.host, ec);
    if (ec) return InvalidArgument("bad gateway host " + settings_.host);
    uint16_t port = settings_.port;
    for (asio::io_context* ctx : contexts) {
      auto acceptor = std::make_unique<tcp::acceptor>(*ctx);
      tcp::endpoint ep(address, port);
      acceptor->open(ep.protocol(), ec);
      if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) {
        using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
        acceptor->set_option(ReusePort(true), ec);
      }
      if (!ec) acceptor->bind(ep, ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        return Unavailable(
            fmt::format("gateway cannot listen on {}:{}: {}", settings_.host, port, ec.message()));
      }
      port = acceptor->local_endpoint().port();
      metrics::SampleRing* ring =
          settings_.recorder ? &settings_.recorder->shard(workers_.size()) : nullptr;
      workers_.push_back(std::make_shared<Worker>(routes_, *ctx, ring));
      acceptors_.push_back(std::move(acceptor));
    }
    port_ = port;
    for (size_t i = 0; i < acceptors_.size(); ++i) {
      asio::co_spawn(acceptors_[i]->get_executor(), Accept(*acceptors_[i], workers_[i]),
                     asio::detached);
    }
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    for (auto& a : acceptors_) {
      asio::post(a->get_executor(), [acc = a.get()] {
        boost::system::error_code ec;
        acc->close(ec);
      });
    }
  }

  void Drain() override {
    draining_.store(true);
    Stop();
    for (auto& w : workers_) {
      asio::post(*w->context, [worker = w.get()] {
        for (SessionState* s : worker->sessions) {
          if (s->idle) s->stream->cancel();  // its read ends; a busy one closes after its answer
        }
      });
    }
  }

  size_t open_connections() const override {
    size_t n = 0;
    for (const auto& w : workers_) n += w->open.load();
    return n;
  }

 private:
  asio::awaitable<void> Accept(tcp::acceptor& acceptor, std::shared_ptr<Worker> worker) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        // Out of file descriptors (or similar): back off instead of spinning on the error.
        spdlog::warn("gateway accept failed: {}; retrying in 100 ms", ec.message());
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(kTuple);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(acceptor.get_executor(), Session(std::move(socket), worker), asio::detached);
    }
  }

  // `owner` keeps the worker alive for the frame's destructor: a session suspended when the
  // daemon stops is destroyed with its io_context, after the server.
  asio::awaitable<void> Session(tcp::socket socket, std::shared_ptr<Worker> owner) {
    Worker& worker = *owner;
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    SessionState state{&stream};
    worker.sessions.insert(&state);
    worker.open.fetch_add(1);
    struct Leave {
      Worker& worker;
      SessionState* state;
      ~Leave() {
        worker.sessions.erase(state);
        worker.open.fetch_sub(1);
      }
    } leave{worker, &state};
    std::string peer;
    {
      boost::system::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      peer = ec ? "127.0.0.1" : ep.address().to_string();
    }
    for (;;) {
      state.idle = true;
      if (draining_.load(std::memory_order_relaxed)) break;
      http::request_parser<http::string_body> parser;
      parser.body_limit(settings_.max_body_bytes);
      // The request line may be up to 8 KB on top of the header budget.
      parser.header_limit(static_cast<uint32_t>(settings_.max_header_bytes + 8192));
      stream.expires_after(std::chrono::milliseconds(settings_.idle_timeout_ms));
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
      state.idle = false;
      Response res;
      bool close_after = false;
      const bool head_request = !ec && parser.get().method() == http::verb::head;
      if (!ec && parser.get()[http::field::expect] == "100-continue") {
        // Tell a client that waits for it (curl does above 1 MB) to send the body.
        http::response<http::empty_body> cont{http::status::continue_, 11};
        std::tie(ec, n) = co_await http::async_write(stream, cont, kTuple);
      }
      if (!ec && !parser.is_done()) {
        std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, kTuple);
      }
      if (ec == http::error::body_limit) {
        res = JsonError(413, R"({"message":"Request Too Long"})", "");
        close_after = true;
      } else if (ec == http::error::header_limit) {
        res = JsonError(431, R"({"message":"Request Header Fields Too Large"})", "");
        close_after = true;
      } else if (ec) {
        break;  // closed, reset, idle timeout or garbage: nothing to answer
      } else {
        stream.expires_never();
        Request req = parser.release();
        res = co_await Handle(req, peer, worker);
        // Draining: this was the connection's last request.
        close_after = !req.keep_alive() || draining_.load(std::memory_order_relaxed);
      }
      res.keep_alive(!close_after);
      res.prepare_payload();
      if (head_request) res.body().clear();  // Content-Length stays; HEAD answers carry no body
      stream.expires_after(std::chrono::milliseconds(settings_.idle_timeout_ms));
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec) break;
      if (close_after) {
        co_await DrainBeforeClose(stream);
        break;
      }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // After refusing a request whose body was not read (413, 431), keep reading and discarding for a
  // moment before closing, so a client still sending its body reads our answer instead of a reset.
  static asio::awaitable<void> DrainBeforeClose(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    std::vector<char> sink(64 * 1024);
    size_t total = 0;
    while (total < 64 * 1024 * 1024) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
      if (ec) break;
      total += n;
    }
  }

  static Response ConfigurationError(const Status& why, const router::FunctionTarget& fn,
                                     uint32_t version) {
    spdlog::warn("{} v{}: Execution failed due to configuration error: {}", fn.function_name,
                 version, why.message());
    return JsonError(502, R"({"message": "Internal server error"})",
                     "InternalServerErrorException");
  }

  // The function's (or php-fpm's) answer as the gateway sends it.
  static Response ToHttp(ProxyResponse mapped, const router::FunctionTarget& fn, uint32_t version) {
    if (Status sendable = CheckSendable(mapped); !sendable.ok()) {
      return ConfigurationError(sendable, fn, version);
    }
    Response res;
    res.result(static_cast<unsigned>(mapped.status));
    res.version(11);
    bool has_content_type = false;
    for (auto& [name, value] : mapped.headers) {
      if (beast::iequals(name, "content-type")) has_content_type = true;
      // Hop-by-hop and framing headers are the gateway's to set.
      if (beast::iequals(name, "content-length") || beast::iequals(name, "connection") ||
          beast::iequals(name, "transfer-encoding")) {
        continue;
      }
      res.insert(name, value);
    }
    if (!has_content_type) res.set(http::field::content_type, "application/json");
    // 204 and 304 have no body in HTTP/1.1, whatever the function returned.
    if (mapped.status != 204 && mapped.status != 304) res.body() = std::move(mapped.body);
    return res;
  }

  // API Gateway's answer when the invocation itself failed.
  static Response FailureResponse(runtime::InvokeOutcome outcome,
                                  const router::FunctionTarget& fn, uint32_t version) {
    switch (outcome) {
      case runtime::InvokeOutcome::kThrottled:
        return JsonError(429, R"({"message":"Too Many Requests"})", "");
      case runtime::InvokeOutcome::kRequestTooLarge:
        // Lambda refuses the invocation (event over 6 MB): API Gateway answers 500.
        spdlog::warn("{} v{}: event over Lambda's 6 MB limit", fn.function_name, version);
        return JsonError(500, R"({"message": "Internal server error"})",
                         "InternalServerErrorException");
      case runtime::InvokeOutcome::kNotFound:
        return JsonError(500, R"({"message": "Internal server error"})",
                         "InternalServerErrorException");
      default:
        return JsonError(502, R"({"message": "Internal server error"})",
                         "InternalServerErrorException");
    }
  }

  // php-fpm's CGI response as Bref's FPM layer hands it to API Gateway: every header kept for REST
  // APIs (Bref answers multiValueHeaders, which API Gateway always sends it); for HTTP APIs
  // repeated headers joined with ", " except Set-Cookie (Bref's `cookies`).
  static ProxyResponse FromCgi(runtime::fastcgi::CgiResponse cgi, bool rest) {
    ProxyResponse out;
    out.status = cgi.status;
    out.body = std::move(cgi.body);
    if (rest) {
      out.headers = std::move(cgi.headers);
      return out;
    }
    for (auto& header : cgi.headers) {
      // Not a structured binding: clang before 16 cannot capture one in a lambda.
      std::string& name = header.first;
      std::string& value = header.second;
      if (!beast::iequals(name, "set-cookie")) {
        auto same = std::find_if(out.headers.begin(), out.headers.end(),
                                 [&](const auto& h) { return beast::iequals(h.first, name); });
        if (same != out.headers.end()) {
          same->second += ", ";
          same->second += value;
          continue;
        }
      }
      out.headers.emplace_back(std::move(name), std::move(value));
    }
    return out;
  }

  // The route's interned metric labels; the cache is rebuilt when the route table changes.
  const metrics::RouteLabels* LabelsFor(Worker& worker, const router::RouteTable& table,
                                        const router::RouteSpec& route, const std::string& api_id) {
    if (worker.labels_table != &table) {
      worker.labels.clear();
      worker.labels_table = &table;
    }
    auto it = worker.labels.find(&route);
    if (it != worker.labels.end()) return it->second;
    const router::FunctionTarget& fn = *route.target;
    metrics::RouteLabels l;
    l.rest = route.kind == router::ApiKind::kRest;
    l.api_name = fn.api_name.empty() ? fn.stage + "-" + fn.service : fn.api_name;
    l.api_id = api_id;
    l.stage = l.rest ? fn.stage : "$default";
    l.method = route.method;
    l.resource = route.path;
    l.function_name = fn.function_name;
    l.alias = fn.is_alias ? fn.qualifier : "";
    const metrics::RouteLabels* interned = metrics::InternRouteLabels(l);
    worker.labels.emplace(&route, interned);
    return interned;
  }


  // What one routed request leaves for the metrics, filled in as it goes.
  struct Trace {
    const metrics::RouteLabels* labels = nullptr;
    uint32_t version = 0;
    int64_t time_ms = 0;
    int64_t invoke_start_ms = 0;
    std::chrono::steady_clock::time_point invoke_started;
    double duration_ms = 0;
    metrics::InvokeKind invoke = metrics::InvokeKind::kNone;
    size_t request_bytes = 0;  // the body, taken before it moves into the invocation
  };

  void Record(Worker& worker, const Trace& t, const Response& res,
              std::chrono::steady_clock::time_point started) {
    if (worker.samples == nullptr || t.labels == nullptr) return;
    const auto now = std::chrono::steady_clock::now();
    metrics::RequestSample s;
    s.route = t.labels;
    s.time_ms = t.time_ms;
    s.invoke_start_ms = t.invoke_start_ms;
    s.latency_ms = std::chrono::duration<float, std::milli>(now - started).count();
    if (t.invoke != metrics::InvokeKind::kNone) {
      s.integration_ms = std::chrono::duration<float, std::milli>(now - t.invoke_started).count();
    }
    s.duration_ms = static_cast<float>(t.duration_ms);
    s.version = t.version;
    s.status = static_cast<uint16_t>(res.result_int());
    s.invoke = t.invoke;
    const size_t bytes = t.request_bytes + res.body().size();
    s.data_bytes = static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX));
    worker.samples->Push(s);
  }

  asio::awaitable<Response> Handle(Request& req, const std::string& peer, Worker& worker) {
    const auto started = std::chrono::steady_clock::now();
    std::string_view target = req.target();
    std::string_view path = target, query;
    if (auto q = target.find('?'); q != std::string_view::npos) {
      path = target.substr(0, q);
      query = target.substr(q + 1);
    }
    std::string_view method = req.method_string();
    const router::RouteTable& table = worker.reader.Get();
    auto match = table.Match(method, path);
    if (!match) {
      if (table.has_rest_routes()) {
        co_return JsonError(403, R"({"message":"Missing Authentication Token"})",
                            "MissingAuthenticationTokenException");
      }
      co_return JsonError(404, R"({"message":"Not Found"})", "");
    }
    const router::RouteSpec& route = *match->route;
    // The table may be replaced while this request waits for the function; the target must outlive
    // it.
    std::shared_ptr<const router::FunctionTarget> fn_holder = route.target;
    const router::FunctionTarget& fn = *fn_holder;
    const bool rest = route.kind == router::ApiKind::kRest;
    const uint32_t version = router::PickVersion(fn, worker.random.Next());

    ProxyRequest preq;
    preq.method = std::string(method);
    preq.path = std::string(path);
    preq.raw_query = std::string(query);
    preq.headers.reserve(16);
    for (const auto& field : req) {
      preq.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    preq.body = std::move(req.body());
    preq.source_ip = peer;
    preq.request_id = NewRequestId(worker.random);
    preq.request_time_ms = ToEpochMillis(clock_.Now());

    RouteInfo info;
    info.route = &route;
    info.path_params = std::move(match->path_params);
    info.stage = fn.stage;
    info.api_id = ApiId(fn);
    auto host = req[http::field::host];
    info.domain_name = host.empty() ? "localhost" : std::string(host);

    // The integration timeout bounds everything after routing: queueing for an instance, a cold
    // start and the function itself, as API Gateway's clock does.
    const int integration_ms = rest ? settings_.rest_timeout_ms : settings_.http_api_timeout_ms;
    const runtime::VersionKey key{fn.function_name, version};

    Trace trace;
    if (worker.samples != nullptr) {
      trace.labels = LabelsFor(worker, table, route, info.api_id);
      trace.version = version;
      trace.time_ms = preq.request_time_ms;
      trace.invoke_start_ms = ToEpochMillis(clock_.Now());
      trace.invoke_started = std::chrono::steady_clock::now();
      trace.request_bytes = preq.body.size();
    }

    Response res;
    if (runtime_.TakesHttp(key)) {
      // php-fpm: straight to FastCGI, no event in between.
      runtime::HttpInvocation hinv;
      hinv.request_id = preq.request_id;
      hinv.invoked_function_arn = FunctionArn(settings_, fn);
      hinv.context = worker.context;
      runtime::fastcgi::FastCgiHttpRequest& hreq = hinv.request;
      hreq.request_context_json = BuildRequestContext(preq, info, !rest);
      hreq.method = std::move(preq.method);
      hreq.path = std::move(preq.path);
      hreq.raw_query = std::move(preq.raw_query);
      hreq.headers = std::move(preq.headers);
      hreq.body_size = preq.body.size();
      hinv.body = std::move(preq.body);
      // GCC 12: build the operation in its own statement (see below).
      auto call = AsyncInvokeHttp(runtime_, key, std::move(hinv), integration_ms,
                                  asio::as_tuple(asio::use_awaitable));
      std::tuple<runtime::HttpResult, bool> outcome = co_await std::move(call);
      runtime::HttpResult& result = std::get<0>(outcome);
      // A request the integration timeout cut off still ran: counted as an invocation.
      trace.invoke =
          std::get<1>(outcome) ? metrics::InvokeKind::kSuccess : InvokeKindOf(result.outcome);
      trace.duration_ms = result.duration_ms;
      if (std::get<1>(outcome)) {
        res = JsonError(504, R"({"message": "Endpoint request timed out"})", "");
      } else if (result.outcome == runtime::InvokeOutcome::kSuccess) {
        res = ToHttp(FromCgi(std::move(result.response), rest), fn, version);
      } else {
        res = FailureResponse(result.outcome, fn, version);
      }
      res.set(rest ? "x-amzn-RequestId" : "apigw-requestid", preq.request_id);
      if (settings_.version_header) res.set("X-Cutover-Version", std::to_string(version));
      Record(worker, trace, res, started);
      co_return res;
    }

    runtime::Invocation inv;
    inv.request_id = preq.request_id;
    inv.payload = rest ? BuildEventV1(preq, info) : BuildEventV2(preq, info);
    inv.invoked_function_arn = FunctionArn(settings_, fn);

    const int timer_ms = integration_ms;
    // GCC 12 destroys temporaries inside a co_await expression twice (PR 101367 and friends), so
    // the operation is built in its own statement and awaited as a named value.
    auto invoke =
        AsyncInvoke(runtime_, key, std::move(inv), timer_ms, asio::as_tuple(asio::use_awaitable));
    std::tuple<runtime::InvokeResult, bool> outcome = co_await std::move(invoke);
    runtime::InvokeResult& result = std::get<0>(outcome);
    const bool timed_out = std::get<1>(outcome);
    trace.invoke = timed_out ? metrics::InvokeKind::kSuccess : InvokeKindOf(result.outcome);
    trace.duration_ms = result.duration_ms;

    if (timed_out) {
      res = JsonError(504, R"({"message": "Endpoint request timed out"})", "");
    } else {
      switch (result.outcome) {
        case runtime::InvokeOutcome::kSuccess: {
          auto mapped = rest ? MapResponseV1(result.payload) : MapResponseV2(result.payload);
          res = mapped.ok() ? ToHttp(std::move(*mapped), fn, version)
                            : ConfigurationError(mapped.status(), fn, version);
          break;
        }
        default:
          res = FailureResponse(result.outcome, fn, version);
          break;
      }
    }
    res.set(rest ? "x-amzn-RequestId" : "apigw-requestid", preq.request_id);
    if (settings_.version_header) res.set("X-Cutover-Version", std::to_string(version));
    Record(worker, trace, res, started);
    co_return res;
  }

  GatewaySettings settings_;
  const router::RouteTableSnapshot& routes_;
  runtime::RuntimeService& runtime_;
  const Clock& clock_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::vector<std::shared_ptr<Worker>> workers_;
  std::atomic<bool> draining_{false};
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<GatewayServer>> StartGateway(
    const GatewaySettings& settings, const std::vector<boost::asio::io_context*>& contexts,
    const router::RouteTableSnapshot& routes, runtime::RuntimeService& runtime,
    const Clock& clock) {
  auto server = std::make_unique<Server>(settings, routes, runtime, clock);
  CUTOVER_RETURN_IF_ERROR(server->Listen(contexts));
  return std::unique_ptr<GatewayServer>(std::move(server));
}

metrics::InvokeKind InvokeKindOf(runtime::InvokeOutcome outcome) {
  switch (outcome) {
    case runtime::InvokeOutcome::kSuccess:
      return metrics::InvokeKind::kSuccess;
    case runtime::InvokeOutcome::kThrottled:
      return metrics::InvokeKind::kThrottled;
    case runtime::InvokeOutcome::kNotFound:
    case runtime::InvokeOutcome::kRequestTooLarge:
      return metrics::InvokeKind::kNone;
    case runtime::InvokeOutcome::kFunctionError:
    case runtime::InvokeOutcome::kTimeout:
    case runtime::InvokeOutcome::kCrashed:
    case runtime::InvokeOutcome::kInitError:
    case runtime::InvokeOutcome::kResponseTooLarge:
      return metrics::InvokeKind::kError;
  }
  return metrics::InvokeKind::kError;
}

}  // namespace cutover::gateway
