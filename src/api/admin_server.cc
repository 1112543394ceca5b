#include "api/admin_server.h"

#include <fmt/core.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <functional>
#include <map>
#include <optional>

#include "api/alarm_json.h"
#include "api/codedeploy_api.h"
#include "api/dashboard_assets.h"
#include "api/errors.h"
#include "api/http_types.h"
#include "api/lambda_invoke.h"
#include "api/live_charts.h"
#include "api/metric_query.h"
#include "config/service_spec.h"
#include "metrics/prometheus.h"

namespace cutover::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

using Handler = std::function<asio::awaitable<Response>(Request&, const Params&)>;

struct Route {
  http::verb method;
  std::string pattern;  // "/v1/functions/{name}"
  std::vector<std::string> segments;
  Handler handler;
};

std::vector<std::string> PatternSegments(std::string_view pattern) {
  std::vector<std::string> out;
  for (std::string_view segment : PathSegments(pattern)) out.emplace_back(segment);
  return out;
}

Response JsonResponse(unsigned status, const json::value& body) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = json::serialize(body);
  return res;
}

Response ErrorResponse(const Status& st) {
  Response res{static_cast<http::status>(HttpStatusFor(st.code())), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = ErrorBody(st);
  return res;
}

Result<json::value> ParseJsonBody(const Request& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec) return InvalidArgument("request body is not valid JSON: " + ec.message());
  return v;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

json::object AliasJson(const store::AliasRecord& a) {
  json::object o;
  o["name"] = a.name;
  o["primary_version"] = a.primary_version;
  o["additional_version"] = a.additional_version;
  o["additional_weight"] = a.additional_weight;
  o["updated_ms"] = a.updated_ms;
  return o;
}

class Server final : public AdminServer {
 public:
  Server(AdminSettings settings, asio::io_context& control, deploy::Publisher& publisher,
         runtime::RuntimeService& runtime, const Clock& clock)
      : settings_(std::move(settings)),
        acceptor_(control),
        feed_timer_(control),
        publisher_(publisher),
        runtime_(runtime),
        // `clock`, not clock_: members are initialised in declaration order.
        invoker_(publisher, runtime, settings_.region, settings_.platform_metrics, &clock),
        clock_(clock) {
    AddRoutes();
  }

  Status Listen() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(settings_.host, ec);
    if (ec) return InvalidArgument("bad admin host " + settings_.host);
    tcp::endpoint ep(address, settings_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable(fmt::format("admin API cannot listen on {}:{}: {}", settings_.host,
                                     settings_.port, ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(acceptor_.get_executor(), Accept(), asio::detached);
    if (settings_.events != nullptr && settings_.deployments != nullptr &&
        settings_.metrics != nullptr) {
      asio::co_spawn(acceptor_.get_executor(), FeedCharts(), asio::detached);
    }
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }
  // On the control thread, like every other call: closing here rather than in a posted handler
  // leaves nothing behind that could run after the server is destroyed.
  void Stop() override {
    boost::system::error_code ec;
    acceptor_.close(ec);
    feed_timer_.cancel();
  }

  const std::vector<Route>& routes() const { return routes_; }

 private:
  void Add(http::verb method, std::string pattern, Handler handler) {
    Route r{method, pattern, PatternSegments(pattern), std::move(handler)};
    routes_.push_back(std::move(r));
  }

  using Method = asio::awaitable<Response> (Server::*)(Request&, const Params&);
  struct RouteDef {
    http::verb method;
    const char* pattern;
    Method handler;
  };
  // The one list of endpoints: the server routes it and AdminRoutes() reports it to the doc test.
  static const std::vector<RouteDef>& RouteDefs() {
    using V = http::verb;
    static const std::vector<RouteDef> kDefs = {
        {V::get, "/v1/health", &Server::Health},
        {V::head, "/v1/artifacts/{sha256}", &Server::HeadArtifact},
        {V::get, "/v1/artifacts/{sha256}", &Server::GetArtifact},
        {V::put, "/v1/artifacts/{sha256}", &Server::PutArtifact},
        {V::post, "/v1/services", &Server::PostService},
        {V::get, "/v1/status", &Server::GetStatus},
        {V::get, "/v1/functions", &Server::ListFunctions},
        {V::get, "/v1/functions/{name}", &Server::GetFunction},
        {V::get, "/v1/functions/{name}/aliases/{alias}", &Server::GetAlias},
        {V::put, "/v1/functions/{name}/aliases/{alias}", &Server::PutAlias},
        {V::post, "/v1/functions/{name}/versions/{version}/prewarm", &Server::Prewarm},
        {V::get, "/v1/functions/{name}/logs", &Server::GetLogs},
        {V::get, "/v1/metrics", &Server::ListMetrics},
        {V::get, "/v1/metrics/query", &Server::QueryMetric},
        {V::post, "/v1/metrics/data", &Server::MetricData},
        {V::get, "/metrics", &Server::Prometheus},
        {V::get, "/v1/alarms", &Server::ListAlarms},
        {V::get, "/v1/alarms/{name}", &Server::GetAlarm},
        {V::post, "/2015-03-31/functions/{name}/invocations", &Server::Invoke},
        {V::get, "/v1/deployments", &Server::ListDeployments},
        {V::get, "/v1/deployments/{id}", &Server::GetDeployment},
        {V::get, "/v1/deployments/{id}/events", &Server::DeploymentEvents},
        {V::post, "/v1/deployments/{id}/stop", &Server::StopDeployment},
        {V::post, "/v1/deployments/{id}/promote", &Server::PromoteDeployment},
        {V::get, "/v1/events", &Server::EventsNotStreamed},
        {V::post, "/", &Server::AwsJsonTarget},
        {V::get, "/", &Server::Dashboard},
        {V::get, "/assets/{file}", &Server::Dashboard},
    };
    return kDefs;
  }

 public:
  static std::vector<std::pair<std::string, std::string>> RoutePatterns() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& d : RouteDefs()) {
      out.emplace_back(std::string(http::to_string(d.method)), d.pattern);
    }
    return out;
  }

 private:
  void AddRoutes() {
    for (const auto& d : RouteDefs()) {
      Method fn = d.handler;
      Add(d.method, d.pattern,
          [this, fn](Request& req, const Params& p) { return (this->*fn)(req, p); });
    }
  }

  // Finds the route for (method, path); sets *path_matched when some route has the path.
  const Route* FindRoute(http::verb method, std::string_view path, Params& params,
                         bool* path_matched) const {
    const std::vector<std::string_view> segs = PathSegments(path);
    for (const Route& r : routes_) {
      Params p;
      if (!MatchPathPattern(r.segments, segs, &p)) continue;
      *path_matched = true;
      if (r.method == method) {
        params = std::move(p);
        return &r;
      }
    }
    return nullptr;
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) {
        if (!acceptor_.is_open()) co_return;
        spdlog::warn("admin accept failed: {}; retrying in 100 ms", ec.message());
        asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(kTuple);
        continue;
      }
      asio::co_spawn(acceptor_.get_executor(), Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(64 * 1024);
      // No body limit while the header is read (Beast would check Content-Length against it before
      // the token and cross-site checks had run): the endpoint's own limit is checked below, before
      // a byte of the body is read, and set on the parser for chunked bodies.
      parser.body_limit(boost::none);
      stream.expires_after(std::chrono::seconds(120));
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
      Response res;
      bool answered = false;
      bool close_after = false;
      if (!ec) {
        const auto& head = parser.get();
        const bool artifact = head.target().starts_with("/v1/artifacts/");
        const size_t limit = artifact ? settings_.max_artifact_bytes : settings_.max_body_bytes;
        auto length = parser.content_length();
        // Refusals come before a byte of the body is read or buffered.
        if (Status refused = RefuseCrossSite(head); !refused.ok()) {
          res = ErrorResponse(refused);
          answered = close_after = true;
        } else if (auto login = DashboardLogin(head)) {
          res = std::move(*login);
          answered = true;
        } else if (!Authorized(head)) {
          res = ErrorResponse(Unauthenticated(
              "missing or wrong token: set CUTOVER_TOKEN for the CLI, or open the dashboard URL "
              "that `cutover serve` printed (it carries ?token=)"));
          if (head.method() == http::verb::get && head.target() == "/") {
            // A person opening the dashboard: a page that says what to do, not JSON.
            res.set(http::field::content_type, "text/html; charset=utf-8");
            res.body() =
                "<!doctype html><html lang=en><meta charset=utf-8><title>cutover: token "
                "needed</title><h1>This daemon needs a token</h1><p>Open the dashboard URL that "
                "<code>cutover serve</code> printed at start (it ends in <code>/?token=</code>), "
                "or the admin URL with <code>/?token=</code> and the token of "
                "<code>--admin-token-file</code> or <code>CUTOVER_TOKEN</code>.</p></html>";
          }
          answered = close_after = true;
        } else if (length && *length > limit) {
          res = ErrorResponse(TooLarge(fmt::format(
              "request body of {} bytes is over this endpoint's limit of {}", *length, limit)));
          answered = close_after = true;
        } else {
          parser.body_limit(limit);
          if (head[http::field::expect] == "100-continue") {
            http::response<http::empty_body> cont{http::status::continue_, 11};
            std::tie(ec, n) = co_await http::async_write(stream, cont, kTuple);
          }
          if (!ec && !parser.is_done()) {
            std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, kTuple);
          }
        }
      }
      if (answered) {
        // refused above, before reading the body
      } else if (ec == http::error::body_limit) {
        res = ErrorResponse(TooLarge("request body is over the admin API's limit"));
        close_after = true;
      } else if (ec == http::error::header_limit) {
        res = ErrorResponse(TooLarge("request header is over the admin API's limit of 64 KiB"));
        res.result(http::status::request_header_fields_too_large);
        close_after = true;
      } else if (ec) {
        break;
      } else {
        stream.expires_never();
        Request req = parser.release();
        close_after = !req.keep_alive();
        if (IsEventStream(req)) {
          auto watch = ParseEventStream(req);
          if (watch.ok()) {
            co_await StreamEvents(stream, *watch);
            break;
          }
          res = ErrorResponse(watch.status());
        } else {
          res = co_await Dispatch(req);
        }
      }
      res.keep_alive(!close_after);
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || close_after) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  bool IsEventStream(const Request& req) const {
    std::string_view target = req.target();
    return settings_.events != nullptr && req.method() == http::verb::get &&
           target.substr(0, target.find('?')) == "/v1/events";
  }

  // What a GET /v1/events asks for: `?deployment=ID` keeps one deployment's events; `?charts=ID`
  // adds the live chart data of deployment ID (api/live_charts.h); Last-Event-ID (or ?after=N)
  // resumes after an event the client has seen.
  struct EventStreamRequest {
    std::string topic;
    std::string charts;
    uint64_t last = 0;
  };

  Result<EventStreamRequest> ParseEventStream(const Request& req) const {
    EventHub& hub = *settings_.events;
    std::string_view target = req.target();
    EventStreamRequest out;
    out.last = hub.last_id();
    auto parse_id = [](std::string_view text, uint64_t& id) {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc() && p == text.data() + text.size()) id = v;
    };
    if (auto q = target.find('?'); q != std::string_view::npos) {
      for (auto& [k, v] : ParseQuery(target.substr(q + 1))) {
        if (k == "deployment") out.topic = v;
        if (k == "charts") out.charts = v;
        if (k == "after") parse_id(v, out.last);
      }
    }
    if (auto it = req.find("Last-Event-ID"); it != req.end()) parse_id(it->value(), out.last);
    // An id from before a daemon restart (the hub counts from 0 again): everything since the start.
    if (out.last > hub.last_id()) out.last = 0;
    if (!out.charts.empty()) {
      // With metrics off the stream is the same, without chart posts.
      if (settings_.deployments == nullptr) return NotFound("deployments are off");
      if (auto d = settings_.deployments->Get(out.charts); !d.ok()) {
        if (d.status().code() != StatusCode::kNotFound) return d.status();
        return NotFound("charts: there is no deployment " + out.charts);
      }
    }
    return out;
  }

  // GET /v1/events: Server-Sent Events until the client goes away. The body has no length; the
  // connection closes when the stream ends. Deployment events carry their hub id; chart posts
  // carry none (they are not kept for a resume) and a slow client gets only the newest.
  asio::awaitable<void> StreamEvents(beast::tcp_stream& stream, EventStreamRequest watch) {
    EventHub& hub = *settings_.events;
    std::string out =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Connection: close\r\nX-Accel-Buffering: no\r\n\r\n: cutover events\n\n";
    asio::steady_timer wake(stream.get_executor());
    hub.Watch(watch.charts);
    uint64_t charts_sent = 0;  // the generation of the last chart post written
    for (;;) {
      for (const HubEvent& e : hub.Since(watch.last)) {
        watch.last = e.id;
        if (!watch.topic.empty() && e.topic != watch.topic) continue;
        out += fmt::format("id: {}\nevent: {}\ndata: {}\n\n", e.id, e.type, e.data);
      }
      if (const LivePost* post = watch.charts.empty() ? nullptr : hub.Latest(watch.charts);
          post != nullptr && post->generation > charts_sent) {
        charts_sent = post->generation;
        out += fmt::format("event: {}\ndata: {}\n\n", post->type, post->data);
      }
      if (!out.empty()) {
        auto [ec, n] = co_await asio::async_write(stream.socket(), asio::buffer(out), kTuple);
        if (ec) break;
        out.clear();
        // What was published or posted while the write was under way woke nobody: look again.
        continue;
      }
      wake.expires_after(std::chrono::seconds(15));
      hub.AddWaiter(&wake, watch.charts);
      auto [ec] = co_await wake.async_wait(kTuple);
      hub.RemoveWaiter(&wake);
      if (!ec) out = ": keep-alive\n\n";  // the timer ran out: nothing new for 15 s
      if (!acceptor_.is_open()) break;
    }
    // Not a destructor's job: at shutdown the io_context may destroy this frame after the hub.
    hub.Unwatch(watch.charts);
  }

  // Once a second, the charts of every deployment some stream watches, computed once and posted
  // to all of them (api/live_charts.h). Real seconds, whatever --time-scale: a post covers
  // everything since the previous one.
  asio::awaitable<void> FeedCharts() {
    LiveCharts charts(*settings_.metrics, settings_.store, settings_.alarms);
    for (;;) {
      feed_timer_.expires_after(std::chrono::seconds(1));
      co_await feed_timer_.async_wait(kTuple);
      if (!acceptor_.is_open()) co_return;
      EventHub& hub = *settings_.events;
      const std::vector<std::string> watched = hub.Watched();
      charts.Retain(watched);
      const int64_t now_ms = ToEpochMillis(clock_.Now());
      for (const std::string& id : watched) {
        auto d = settings_.deployments->Get(id);
        if (!d.ok()) continue;
        if (auto post = charts.Next(*d, now_ms)) hub.Post(id, "charts", std::move(*post));
      }
    }
  }

  static constexpr std::string_view kTokenCookie = "cutover_token";

  template <class Fields>
  bool Authorized(const http::header<true, Fields>& head) const {
    if (settings_.token.empty()) return true;
    if (ConstantTimeEquals(head[http::field::authorization], "Bearer " + settings_.token)) {
      return true;
    }
    if (std::string_view cookie = CookieValue(head[http::field::cookie], kTokenCookie);
        !cookie.empty() && ConstantTimeEquals(cookie, settings_.token)) {
      return true;
    }
    // A function instance calling the AWS-compatible endpoints through its SDK.
    std::string_view target = head.target();
    std::string_view path = target.substr(0, target.find('?'));
    const bool aws_endpoint = head.method() == http::verb::post &&
                              (path == "/" || path.starts_with("/2015-03-31/functions/"));
    std::string_view session = head["X-Amz-Security-Token"];
    return aws_endpoint && !settings_.instance_session_token.empty() && !session.empty() &&
           ConstantTimeEquals(session, settings_.instance_session_token);
  }

  // The value of cookie `name` in a Cookie header, or "".
  static std::string_view CookieValue(std::string_view header, std::string_view name) {
    while (!header.empty()) {
      size_t end = header.find(';');
      std::string_view pair = header.substr(0, end);
      header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
        return pair.substr(name.size() + 1);
      }
    }
    return {};
  }

  // A web page elsewhere must not drive the admin API through the user's browser: not by a
  // cross-site request (CSRF: a form POSTing to /v1/deployments/…/stop), nor by pointing a DNS
  // name of its own at 127.0.0.1 (DNS rebinding). Browsers say where a request comes from in
  // Sec-Fetch-Site and Origin; the CLI and the SDKs send neither. No CORS headers are ever sent,
  // so other origins cannot read answers either.
  template <class Fields>
  Status RefuseCrossSite(const http::header<true, Fields>& head) const {
    std::string_view site = head["Sec-Fetch-Site"];
    std::string_view target = head.target();
    // Following a link to the dashboard from elsewhere is fine: it only shows the page (and the
    // SameSite cookie stays behind, so with a token the page asks for it).
    const bool opens_page = head.method() == http::verb::get &&
                            head["Sec-Fetch-Mode"] == "navigate" &&
                            target.substr(0, target.find('?')) == "/";
    if (!site.empty() && site != "same-origin" && site != "none" && !opens_page) {
      return PermissionDenied(fmt::format("a {} browser request is refused", site));
    }
    std::string_view host = head[http::field::host];
    if (std::string_view origin = head[http::field::origin]; !origin.empty()) {
      const bool same = (origin.starts_with("http://") && origin.substr(7) == host) ||
                        (origin.starts_with("https://") && origin.substr(8) == host);
      if (!same) return PermissionDenied("a request from another origin is refused");
    }
    if (settings_.token.empty() && !host.empty() && !IsLocalHostHeader(host)) {
      return PermissionDenied(fmt::format(
          "Host '{}' is refused: without a token the admin API answers only requests addressed "
          "to an IP address or localhost",
          host.substr(0, 100)));
    }
    return Status::Ok();
  }

  // "127.0.0.1:3001", "[::1]:3001", "localhost:3001", "10.0.0.5" (any IP literal, any port).
  static bool IsLocalHostHeader(std::string_view host) {
    std::string_view name = host;
    if (name.starts_with('[')) {
      size_t close = name.find(']');
      if (close == std::string_view::npos) return false;
      name = name.substr(1, close - 1);
    } else if (size_t colon = name.rfind(':'); colon != std::string_view::npos) {
      name = name.substr(0, colon);
    }
    if (name == "localhost") return true;
    boost::system::error_code ec;
    asio::ip::make_address(std::string(name), ec);
    return !ec;
  }

  // GET /?token=T, the URL `cutover serve` prints: a right token becomes an HttpOnly, SameSite
  // cookie and the browser goes on to "/" (so the token leaves the address bar and the history).
  template <class Fields>
  std::optional<Response> DashboardLogin(const http::header<true, Fields>& head) const {
    std::string_view target = head.target();
    if (head.method() != http::verb::get || !target.starts_with("/?")) return std::nullopt;
    std::string token;
    for (auto& [k, v] : ParseQuery(target.substr(2))) {
      if (k == "token") token = v;
    }
    if (token.empty() || settings_.token.empty()) return std::nullopt;
    if (!ConstantTimeEquals(token, settings_.token)) {
      return ErrorResponse(Unauthenticated("the token in the URL is wrong"));
    }
    Response res{http::status::see_other, 11};
    res.set(http::field::location, "/");
    res.set(http::field::set_cookie,
            fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", kTokenCookie, settings_.token));
    res.set("Referrer-Policy", "no-referrer");
    res.set(http::field::cache_control, "no-store");
    return res;
  }

  asio::awaitable<Response> Dispatch(Request& req) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    Params params;
    bool path_matched = false;
    const Route* route = FindRoute(req.method(), path, params, &path_matched);
    if (!route) {
      if (path_matched) {
        Response res = ErrorResponse(
            InvalidArgument(fmt::format("{} is not allowed on {}", req.method_string(), path)));
        res.result(http::status::method_not_allowed);
        co_return res;
      }
      co_return ErrorResponse(
          NotFound(fmt::format("no endpoint {} {}", req.method_string(), path)));
    }
    if (auto q = target.find('?'); q != std::string_view::npos) {
      for (auto& [k, v] : ParseQuery(target.substr(q + 1))) params.emplace("?" + k, v);
    }
    auto handled = route->handler(req, params);
    co_return co_await std::move(handled);
  }

  // --- handlers -------------------------------------------------------------------------------

  asio::awaitable<Response> Health(Request&, const Params&) {
    json::object o;
    o["status"] = "ok";
    o["version"] = "0.1.0";
    o["gateway"] = settings_.gateway_url;
    o["time_scale"] = settings_.time_scale;
    o["now_ms"] = ToEpochMillis(clock_.Now());
    co_return JsonResponse(200, o);
  }

  // GET / and /assets/{file}: the dashboard, from the binary. Revalidated on every load (cheap:
  // an ETag match answers 304), so a new daemon's dashboard is never mixed with an old cache.
  asio::awaitable<Response> Dashboard(Request& req, const Params&) {
    std::string_view target = req.target();
    const DashboardAsset* asset = FindDashboardAsset(target.substr(0, target.find('?')));
    if (asset == nullptr) {
      co_return ErrorResponse(NotFound(fmt::format("no dashboard file {}", target)));
    }
    const bool fresh = req[http::field::if_none_match] == asset->etag;
    Response res{fresh ? http::status::not_modified : http::status::ok, 11};
    res.set(http::field::etag, asset->etag);
    res.set(http::field::cache_control, "no-cache");
    res.set(http::field::content_type, asset->content_type);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.set("Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'");
    if (!fresh) res.body() = std::string(asset->body);
    co_return res;
  }

  asio::awaitable<Response> HeadArtifact(Request&, const Params& p) {
    Response res{
        publisher_.HasArtifact(p.at("sha256")) ? http::status::ok : http::status::not_found, 11};
    co_return res;
  }

  // The package as uploaded: how another node of a fleet fetches one it lacks.
  asio::awaitable<Response> GetArtifact(Request&, const Params& p) {
    auto bytes = publisher_.ReadArtifact(p.at("sha256"));
    if (!bytes.ok()) co_return ErrorResponse(bytes.status());
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, "application/gzip");
    res.body() = std::move(bytes).value();
    co_return res;
  }

  asio::awaitable<Response> PutArtifact(Request& req, const Params& p) {
    auto stored = publisher_.PutArtifact(p.at("sha256"), req.body());
    if (!stored.ok()) co_return ErrorResponse(stored.status());
    json::object o;
    o["sha256"] = p.at("sha256");
    o["stored"] = *stored;
    co_return JsonResponse(*stored ? 201 : 200, o);
  }

  asio::awaitable<Response> PostService(Request& req, const Params&) {
    auto body = ParseJsonBody(req);
    if (!body.ok()) co_return ErrorResponse(body.status());
    const json::object* o = body->if_object();
    const json::value* spec_json = o ? o->if_contains("spec") : nullptr;
    const json::value* sha = o ? o->if_contains("code_sha256") : nullptr;
    if (!spec_json || !sha || !sha->is_string()) {
      co_return ErrorResponse(
          InvalidArgument("expected {\"spec\": {...}, \"code_sha256\": \"...\"}"));
    }
    auto spec = config::ServiceSpecFromJson(*spec_json);
    if (!spec.ok()) co_return ErrorResponse(spec.status());
    auto report = publisher_.PublishService(*spec, std::string(sha->as_string()));
    if (!report.ok()) co_return ErrorResponse(report.status());
    json::object out;
    out["service"] = report->service;
    out["stage"] = report->stage;
    json::array fns;
    for (const auto& f : report->functions) {
      json::object fo;
      fo["key"] = f.key;
      fo["function_name"] = f.function_name;
      fo["version"] = f.version;
      fo["created"] = f.created;
      if (f.alias) fo["alias"] = AliasJson(*f.alias);
      fo["deployment_id"] = f.deployment_id;
      fns.push_back(std::move(fo));
    }
    out["functions"] = std::move(fns);
    json::array routes;
    for (const auto& f : spec->functions) {
      for (const auto& ev : f.events) routes.push_back(RouteJson(f, ev));
    }
    out["routes"] = std::move(routes);
    json::array notices;
    for (const auto& n : report->notices) notices.emplace_back(n);
    out["notices"] = std::move(notices);
    co_return JsonResponse(200, out);
  }

  json::object RouteJson(const config::FunctionSpec& f, const config::HttpEvent& ev) const {
    json::object r;
    r["method"] = ev.method;
    r["path"] = ev.path;
    r["kind"] = ev.kind == config::ApiKind::kRest ? "http" : "httpApi";
    r["function"] = f.deployed_name;
    r["url"] = settings_.gateway_url + (ev.path == "$default" ? "/" : ev.path);
    return r;
  }

  json::object FunctionJson(const deploy::FunctionState& s) const {
    json::object o;
    o["function_name"] = s.spec.deployed_name;
    o["key"] = s.spec.key;
    o["service"] = s.service;
    o["stage"] = s.stage;
    o["runtime"] = s.spec.runtime;
    o["handler"] = s.spec.handler;
    o["timeout"] = s.spec.timeout_seconds;
    o["memory_size"] = s.spec.memory_mb;
    json::array versions;
    for (const auto& [n, v] : s.versions) {
      json::object vo;
      vo["version"] = n;
      vo["code_sha256"] = v.code_sha256;
      vo["config_sha256"] = v.config_sha256;
      vo["created_ms"] = v.created_ms;
      auto stats = runtime_.Stats({s.spec.deployed_name, n});
      json::object po;
      po["instances"] = stats.instances;
      po["busy"] = stats.busy;
      po["queued"] = stats.queued;
      po["cold_starts"] = stats.cold_starts;
      po["restarts"] = stats.restarts;
      vo["pool"] = std::move(po);
      versions.push_back(std::move(vo));
    }
    o["versions"] = std::move(versions);
    o["latest_version"] = s.latest_version();
    if (s.alias) {
      o["alias"] = AliasJson(*s.alias);
    } else {
      o["alias"] = nullptr;
    }
    json::array routes;
    for (const auto& ev : s.spec.events) routes.push_back(RouteJson(s.spec, ev));
    o["routes"] = std::move(routes);
    return o;
  }

  asio::awaitable<Response> GetStatus(Request&, const Params&) {
    json::object out;
    out["gateway"] = settings_.gateway_url;
    std::map<std::pair<std::string, std::string>, json::array> by_service;
    json::array fns;
    for (const auto& [name, s] : publisher_.functions()) {
      by_service[{s.service, s.stage}].emplace_back(name);
      fns.push_back(FunctionJson(s));
    }
    json::array services;
    for (auto& [key, names] : by_service) {
      json::object so;
      so["service"] = key.first;
      so["stage"] = key.second;
      so["functions"] = std::move(names);
      services.push_back(std::move(so));
    }
    out["services"] = std::move(services);
    out["functions"] = std::move(fns);
    out["heap"] = HeapJson();
    out["memory_limit"] = settings_.memory_limit;
    if (settings_.fleet) out["fleet"] = settings_.fleet();
    co_return JsonResponse(200, out);
  }

  // What the allocator holds (glibc's mallinfo2), so that a soak can tell live objects from memory
  // the allocator keeps after they are freed: RSS alone cannot.
  static json::object HeapJson() {
    const struct mallinfo2 mi = ::mallinfo2();
    json::object h;
    h["in_use_bytes"] = static_cast<uint64_t>(mi.uordblks + mi.hblkhd);
    h["free_bytes"] = static_cast<uint64_t>(mi.fordblks);
    h["arena_bytes"] = static_cast<uint64_t>(mi.arena);
    h["mmapped_bytes"] = static_cast<uint64_t>(mi.hblkhd);
    return h;
  }

  asio::awaitable<Response> ListFunctions(Request&, const Params&) {
    json::array fns;
    for (const auto& [name, s] : publisher_.functions()) fns.push_back(FunctionJson(s));
    json::object out;
    out["functions"] = std::move(fns);
    co_return JsonResponse(200, out);
  }

  Result<const deploy::FunctionState*> Function(const Params& p) const {
    const deploy::FunctionState* s = publisher_.FindFunction(p.at("name"));
    if (!s) return NotFound(fmt::format("function {} does not exist", p.at("name")));
    return s;
  }

  asio::awaitable<Response> GetFunction(Request&, const Params& p) {
    auto s = Function(p);
    if (!s.ok()) co_return ErrorResponse(s.status());
    co_return JsonResponse(200, FunctionJson(**s));
  }

  asio::awaitable<Response> GetAlias(Request&, const Params& p) {
    auto s = Function(p);
    if (!s.ok()) co_return ErrorResponse(s.status());
    if (!(*s)->alias || (*s)->alias->name != p.at("alias")) {
      co_return ErrorResponse(
          NotFound(fmt::format("function {} has no alias {}", p.at("name"), p.at("alias"))));
    }
    co_return JsonResponse(200, AliasJson(*(*s)->alias));
  }

  asio::awaitable<Response> PutAlias(Request& req, const Params& p) {
    auto body = ParseJsonBody(req);
    if (!body.ok()) co_return ErrorResponse(body.status());
    const json::object* o = body->if_object();
    auto uint_field = [&](const char* key, bool required) -> Result<uint32_t> {
      const json::value* v = o ? o->if_contains(key) : nullptr;
      if (!v || v->is_null()) {
        if (required) return InvalidArgument(fmt::format("{} is required", key));
        return uint32_t{0};
      }
      if (v->is_int64() && v->as_int64() >= 0 && v->as_int64() <= UINT32_MAX) {
        return static_cast<uint32_t>(v->as_int64());
      }
      if (v->is_uint64() && v->as_uint64() <= UINT32_MAX)
        return static_cast<uint32_t>(v->as_uint64());
      return InvalidArgument(fmt::format("{} must be a version number", key));
    };
    auto primary = uint_field("primary_version", true);
    if (!primary.ok()) co_return ErrorResponse(primary.status());
    auto additional = uint_field("additional_version", false);
    if (!additional.ok()) co_return ErrorResponse(additional.status());
    double weight = 0;
    if (const json::value* w = o->if_contains("additional_weight"); w && !w->is_null()) {
      if (!w->is_number())
        co_return ErrorResponse(InvalidArgument("additional_weight must be a number"));
      weight = w->to_number<double>();
    }
    auto rec = publisher_.SetAlias(p.at("name"), p.at("alias"), *primary, *additional, weight);
    if (!rec.ok()) co_return ErrorResponse(rec.status());
    co_return JsonResponse(200, AliasJson(*rec));
  }

  asio::awaitable<Response> Prewarm(Request& req, const Params& p) {
    auto s = Function(p);
    if (!s.ok()) co_return ErrorResponse(s.status());
    uint32_t version = 0;
    const std::string& vs = p.at("version");
    auto [ptr, ec] = std::from_chars(vs.data(), vs.data() + vs.size(), version);
    if (ec != std::errc() || ptr != vs.data() + vs.size() || !(*s)->versions.count(version)) {
      co_return ErrorResponse(NotFound(fmt::format("{} has no version {}", p.at("name"), vs)));
    }
    int instances = 1;
    if (!req.body().empty()) {
      auto body = ParseJsonBody(req);
      if (!body.ok()) co_return ErrorResponse(body.status());
      const json::value* n =
          body->is_object() ? body->as_object().if_contains("instances") : nullptr;
      if (n && n->is_int64() && n->as_int64() >= 0 && n->as_int64() <= 10000) {
        instances = static_cast<int>(n->as_int64());
      } else if (n) {
        co_return ErrorResponse(InvalidArgument("instances must be an integer in [0, 10000]"));
      }
    }
    Status st = runtime_.Prewarm({p.at("name"), version}, instances);
    if (!st.ok()) co_return ErrorResponse(st);
    json::object out;
    out["function_name"] = p.at("name");
    out["version"] = version;
    out["instances"] = instances;
    co_return JsonResponse(202, out);
  }

  asio::awaitable<Response> GetLogs(Request&, const Params& p) {
    auto s = Function(p);
    if (!s.ok()) co_return ErrorResponse(s.status());
    uint32_t version = 0;
    size_t tail = 64 * 1024;
    if (auto it = p.find("?version"); it != p.end()) {
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), version);
    }
    if (auto it = p.find("?tail"); it != p.end()) {
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), tail);
    }
    tail = std::min<size_t>(tail, 16u * 1024 * 1024);
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    if (version == 0) {
      auto text = runtime::ReadFunctionLogs(settings_.data_dir, p.at("name"), 0, tail);
      if (!text.ok()) co_return ErrorResponse(text.status());
      res.body() = std::move(*text);
      co_return res;
    }
    // One version: ?offset=O continues a previous read; X-Log-Offset says where to continue next.
    int64_t offset = -1;
    if (auto it = p.find("?offset"); it != p.end()) {
      auto [ptr, ec] =
          std::from_chars(it->second.data(), it->second.data() + it->second.size(), offset);
      if (ec != std::errc() || offset < 0) {
        co_return ErrorResponse(InvalidArgument("offset must be a non-negative integer"));
      }
    }
    auto chunk =
        runtime::ReadFunctionLogChunk(settings_.data_dir, p.at("name"), version, offset, tail);
    if (!chunk.ok()) co_return ErrorResponse(chunk.status());
    res.set("X-Log-Offset", std::to_string(chunk->end_offset));
    res.body() = std::move(chunk->text);
    co_return res;
  }

  // ---- Metrics ----

  asio::awaitable<Response> ListMetrics(Request&, const Params&) {
    if (settings_.metrics == nullptr) co_return ErrorResponse(NotFound("metrics are off"));
    json::array out;
    for (const metrics::MetricKey& k : settings_.metrics->Keys()) {
      json::object o;
      o["namespace"] = k.ns;
      o["name"] = k.name;
      json::object dims;
      for (const auto& [n, v] : k.dims) dims[n] = v;
      o["dimensions"] = std::move(dims);
      out.push_back(std::move(o));
    }
    json::object body;
    body["metrics"] = std::move(out);
    co_return JsonResponse(200, body);
  }

  // ?namespace=&name=&dimensions=Name=Value,...&statistic=Sum&period=60&start=MS&end=MS (or
  // &minutes=N: the last N minutes of the daemon's clock); api/metric_query.h.
  asio::awaitable<Response> QueryMetric(Request&, const Params& p) {
    if (settings_.metrics == nullptr) co_return ErrorResponse(NotFound("metrics are off"));
    const int64_t now_ms = ToEpochMillis(clock_.Now());
    auto query = MetricQueryFromParams(
        [&](std::string_view name) -> std::optional<std::string> {
          auto it = p.find(fmt::format("?{}", name));
          if (it == p.end()) return std::nullopt;
          return it->second;
        },
        now_ms);
    if (!query.ok()) co_return ErrorResponse(query.status());
    auto points = AnswerMetricQuery(*query, *settings_.metrics, settings_.store, now_ms);
    if (!points.ok()) co_return ErrorResponse(points.status());
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    AppendMetricAnswer(&res.body(), *query, settings_.metrics->Find(query->key) != nullptr,
                       *points);
    co_return res;
  }

  // {"queries": [...]} -> {"results": [...]}, each answer as GET /v1/metrics/query's, in order.
  asio::awaitable<Response> MetricData(Request& req, const Params&) {
    if (settings_.metrics == nullptr) co_return ErrorResponse(NotFound("metrics are off"));
    const int64_t now_ms = ToEpochMillis(clock_.Now());
    auto queries = MetricQueriesFromJson(req.body(), now_ms);
    if (!queries.ok()) co_return ErrorResponse(queries.status());
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    std::string& body = res.body();
    body = "{\"results\":[";
    for (size_t i = 0; i < queries->size(); ++i) {
      const MetricQuery& q = (*queries)[i];
      auto points = AnswerMetricQuery(q, *settings_.metrics, settings_.store, now_ms);
      if (!points.ok()) co_return ErrorResponse(points.status());
      if (i > 0) body.push_back(',');
      AppendMetricAnswer(&body, q, settings_.metrics->Find(q.key) != nullptr, *points);
    }
    body.append("]}");
    co_return res;
  }

  asio::awaitable<Response> Prometheus(Request&, const Params&) {
    if (settings_.platform_metrics == nullptr) co_return ErrorResponse(NotFound("metrics are off"));
    Response res{http::status::ok, 11};
    res.set(http::field::content_type, metrics::kOpenMetricsContentType);
    std::vector<metrics::Gauge> gauges;
    if (settings_.alarms != nullptr) {
      for (const auto& [name, view] : settings_.alarms->alarms()) {
        for (auto state : {alarms::AlarmState::kOk, alarms::AlarmState::kAlarm,
                           alarms::AlarmState::kInsufficientData}) {
          gauges.push_back(metrics::Gauge{
              "cutover_alarm_state",
              "1 for the state each alarm is in, 0 for the others",
              {{"alarm", name}, {"state", std::string(alarms::AlarmStateName(state))}},
              view.state == state ? 1.0 : 0.0});
        }
      }
    }
    metrics::PipelineCounters pipeline;
    if (settings_.recorder != nullptr) pipeline.dropped_samples = settings_.recorder->dropped();
    if (settings_.emf_inbox != nullptr) {
      pipeline.emf_accepted = settings_.emf_inbox->accepted();
      pipeline.emf_malformed = settings_.emf_inbox->malformed();
      pipeline.emf_dropped = settings_.emf_inbox->dropped();
    }
    res.body() = metrics::PrometheusText(*settings_.platform_metrics, settings_.metrics,
                                         metrics::SecondOf(ToEpochMillis(clock_.Now())), gauges,
                                         pipeline);
    co_return res;
  }

  // ---- Alarms ----

  asio::awaitable<Response> ListAlarms(Request&, const Params&) {
    if (settings_.alarms == nullptr) co_return ErrorResponse(NotFound("alarms are off"));
    json::array out;
    for (const auto& [name, view] : settings_.alarms->alarms()) out.push_back(AlarmJson(view));
    json::object body;
    body["alarms"] = std::move(out);
    co_return JsonResponse(200, body);
  }

  asio::awaitable<Response> GetAlarm(Request&, const Params& p) {
    if (settings_.alarms == nullptr) co_return ErrorResponse(NotFound("alarms are off"));
    const alarms::AlarmView* view = settings_.alarms->Find(p.at("name"));
    if (view == nullptr) co_return ErrorResponse(NotFound("no alarm named " + p.at("name")));
    json::object o = AlarmJson(*view);
    o["reason_data"] = view->reason_data;
    auto history = settings_.alarms->History(p.at("name"), 100);
    if (!history.ok()) co_return ErrorResponse(history.status());
    json::array h;
    for (const auto& rec : *history) {
      json::object ho;
      ho["timestamp"] = rec.timestamp_ms;
      ho["old_state"] = rec.old_state;
      ho["new_state"] = rec.new_state;
      ho["reason"] = rec.reason;
      ho["reason_data"] = rec.reason_data;
      h.push_back(std::move(ho));
    }
    o["history"] = std::move(h);
    // What became of the alarm's actions: the last deliveries, newest first.
    json::array deliveries;
    for (const auto& d : settings_.alarms->Deliveries(p.at("name"))) {
      deliveries.push_back(json::object{{"url", d.url},
                                        {"state", alarms::AlarmStateName(d.state)},
                                        {"state_change_ms", d.state_change_ms},
                                        {"outcome", alarms::DeliveryOutcomeName(d.outcome)},
                                        {"attempts", d.attempts},
                                        {"http_status", d.http_status},
                                        {"error", d.error},
                                        {"finished_ms", d.finished_ms}});
    }
    o["deliveries"] = std::move(deliveries);
    co_return JsonResponse(200, o);
  }

  // --- deployments

  static json::object EventJson(const store::DeploymentEventRecord& e) {
    boost::system::error_code ec;
    json::value data = json::parse(e.data, ec);
    return json::object{{"seq", e.seq},
                        {"time", e.time_ms},
                        {"type", e.type},
                        {"data", ec ? json::value(e.data) : std::move(data)}};
  }

  json::array EventsJson(const std::string& id, uint64_t after, Status* st) const {
    json::array out;
    auto events = settings_.deployments->Events(id, after);
    if (!events.ok()) {
      *st = events.status();
      return out;
    }
    for (const auto& e : *events) out.push_back(EventJson(e));
    return out;
  }

  asio::awaitable<Response> ListDeployments(Request&, const Params& p) {
    if (settings_.deployments == nullptr) co_return ErrorResponse(NotFound("deployments are off"));
    std::string function;
    size_t limit = 50;
    if (auto it = p.find("?function"); it != p.end()) function = it->second;
    if (auto it = p.find("?limit"); it != p.end()) {
      size_t v = 0;
      auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
      if (ec != std::errc() || v == 0 || v > 1000) {
        co_return ErrorResponse(InvalidArgument("limit must be a number from 1 to 1000"));
      }
      limit = v;
    }
    auto list = settings_.deployments->List(function, limit);
    if (!list.ok()) co_return ErrorResponse(list.status());
    json::array out;
    for (const auto& d : *list) out.push_back(deploy::DeploymentJson(d));
    co_return JsonResponse(200, json::object{{"deployments", std::move(out)}});
  }

  asio::awaitable<Response> GetDeployment(Request&, const Params& p) {
    if (settings_.deployments == nullptr) co_return ErrorResponse(NotFound("deployments are off"));
    auto d = settings_.deployments->Get(p.at("id"));
    if (!d.ok()) co_return ErrorResponse(d.status());
    Status st;
    json::array events = EventsJson(d->id, 0, &st);
    if (!st.ok()) co_return ErrorResponse(st);
    co_return JsonResponse(200, json::object{{"deployment", deploy::DeploymentJson(*d)},
                                             {"events", std::move(events)}});
  }

  asio::awaitable<Response> DeploymentEvents(Request&, const Params& p) {
    if (settings_.deployments == nullptr) co_return ErrorResponse(NotFound("deployments are off"));
    uint64_t after = 0;
    if (auto it = p.find("?after"); it != p.end()) {
      auto [ptr, ec] =
          std::from_chars(it->second.data(), it->second.data() + it->second.size(), after);
      if (ec != std::errc()) co_return ErrorResponse(InvalidArgument("after must be a number"));
    }
    auto d = settings_.deployments->Get(p.at("id"));
    if (!d.ok()) co_return ErrorResponse(d.status());
    Status st;
    json::array events = EventsJson(d->id, after, &st);
    if (!st.ok()) co_return ErrorResponse(st);
    co_return JsonResponse(200, json::object{{"events", std::move(events)}});
  }

  asio::awaitable<Response> StopDeployment(Request& req, const Params& p) {
    if (settings_.deployments == nullptr) co_return ErrorResponse(NotFound("deployments are off"));
    bool rollback = false;
    if (!req.body().empty()) {
      auto body = ParseJsonBody(req);
      if (!body.ok()) co_return ErrorResponse(body.status());
      const json::object* o = body->if_object();
      const json::value* r = o ? o->if_contains("rollback") : nullptr;
      if (o == nullptr || (r != nullptr && !r->is_bool())) {
        co_return ErrorResponse(InvalidArgument(R"(body must be {"rollback": true|false})"));
      }
      rollback = r != nullptr && r->get_bool();
    }
    auto d = settings_.deployments->Stop(p.at("id"), rollback);
    if (!d.ok()) co_return ErrorResponse(d.status());
    co_return JsonResponse(200, json::object{{"deployment", deploy::DeploymentJson(*d)}});
  }

  asio::awaitable<Response> PromoteDeployment(Request&, const Params& p) {
    if (settings_.deployments == nullptr) co_return ErrorResponse(NotFound("deployments are off"));
    auto d = settings_.deployments->Promote(p.at("id"));
    if (!d.ok()) co_return ErrorResponse(d.status());
    co_return JsonResponse(200, json::object{{"deployment", deploy::DeploymentJson(*d)}});
  }

  asio::awaitable<Response> EventsNotStreamed(Request&, const Params&) {
    // Session streams /v1/events before dispatching; reaching this means events are off.
    co_return ErrorResponse(NotFound("the event stream is off"));
  }

  // --- AWS JSON 1.1 services on "POST /": CodeDeploy's hook callback (api/codedeploy_api.h).

  asio::awaitable<Response> AwsJsonTarget(Request& req, const Params&) {
    co_return AnswerHookStatus(req["X-Amz-Target"], req.body(), settings_.deployments);
  }

  asio::awaitable<Response> Invoke(Request& req, const Params& p) {
    std::string qualifier;
    if (auto it = p.find("?Qualifier"); it != p.end()) qualifier = it->second;
    std::string name = p.at("name");
    auto handled = invoker_.Handle(req, std::move(name), std::move(qualifier));
    co_return co_await std::move(handled);
  }

  AdminSettings settings_;
  tcp::acceptor acceptor_;
  asio::steady_timer feed_timer_;  // FeedCharts' second
  deploy::Publisher& publisher_;
  runtime::RuntimeService& runtime_;
  LambdaInvokeHandler invoker_;
  const Clock& clock_;
  std::vector<Route> routes_;
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<AdminServer>> StartAdminServer(const AdminSettings& settings,
                                                      asio::io_context& control,
                                                      deploy::Publisher& publisher,
                                                      runtime::RuntimeService& runtime,
                                                      const Clock& clock) {
  auto server = std::make_unique<Server>(settings, control, publisher, runtime, clock);
  CUTOVER_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<AdminServer>(std::move(server));
}

std::vector<std::pair<std::string, std::string>> AdminRoutes() { return Server::RoutePatterns(); }

}  // namespace cutover::api
