#include "runtime/runtime_api_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "runtime/peer_process.h"

namespace cutover::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Bodies up to this size are read whole so the state machine can answer 413 and keep the
// connection.
constexpr uint64_t kBodyReadLimit = kMaxPayloadBytes + 1024 * 1024;
constexpr std::string_view kPrefix = "/2018-06-01/runtime/";
constexpr std::string_view kErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Request ids arrive URL-encoded from some clients (aws-lambda-ric uses encodeURIComponent).
std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += in[i];
  }
  return out;
}

ApiReply NotFoundReply() {
  return ApiReply{404, R"({"errorMessage":"Not found","errorType":"NotFound"})"};
}

ApiReply AccessDeniedReply() {
  return ApiReply{403,
                  R"({"errorMessage":"this Runtime API endpoint serves only its own instance's )"
                  R"(processes","errorType":"AccessDeniedException"})"};
}

ApiReply MethodNotAllowedReply() {
  return ApiReply{405, R"({"errorMessage":"Method not allowed","errorType":"MethodNotAllowed"})"};
}

}  // namespace

// One keep-alive connection from the runtime. Lives on the server's strand.
class ApiConnection final : public std::enable_shared_from_this<ApiConnection> {
 public:
  ApiConnection(std::shared_ptr<RuntimeApiServer> server, tcp::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)) {}
  ~ApiConnection() = default;

  void Start() { Read(); }
  // Every request on this connection gets 403: its peer is not the instance's.
  void Refuse() { foreign_ = true; }

  void WriteEvent(NextEvent event) {
    BeginHead(200);
    AddHeader("Lambda-Runtime-Aws-Request-Id", event.request_id);
    const fmt::format_int deadline(event.deadline_epoch_ms);
    AddHeader("Lambda-Runtime-Deadline-Ms", std::string_view(deadline.data(), deadline.size()));
    AddHeader("Lambda-Runtime-Invoked-Function-Arn", event.invoked_function_arn);
    AddHeader("Lambda-Runtime-Trace-Id", event.trace_id);
    if (!event.client_context.empty()) {
      AddHeader("Lambda-Runtime-Client-Context", event.client_context);
    }
    body_ = std::move(event.payload);
    EndHead();
    event_ = std::move(event);
    writing_event_ = true;
    Write(!keep_alive_);
  }

  void Close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kBodyReadLimit);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      // Too large to read (by Content-Length or while reading chunks); the start line and fields
      // are parsed by then. Answer 413 through the handler (it ends the invocation) and hang up.
      keep_alive_ = false;
      Dispatch(/*over_limit=*/true);
      return;
    }
    if (ec) {
      Close();
      return;
    }
    keep_alive_ = parser_->get().keep_alive();
    Dispatch(/*over_limit=*/false);
  }

  void Dispatch(bool over_limit) {
    if (foreign_) {
      keep_alive_ = false;
      Reply(AccessDeniedReply());
      return;
    }
    RuntimeApiHandler* handler = server_->handler();
    if (handler == nullptr) {
      keep_alive_ = false;
      Reply(ContainerErrorReply("the instance is stopping"));
      return;
    }
    auto& req = parser_->get();
    std::string_view target = req.target();
    if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (target.substr(0, kPrefix.size()) != kPrefix) {
      Reply(NotFoundReply());
      return;
    }
    std::string_view rest = target.substr(kPrefix.size());
    bool is_post = req.method() == http::verb::post;

    if (rest == "invocation/next") {
      if (req.method() != http::verb::get) {
        Reply(MethodNotAllowedReply());
        return;
      }
      NextAction action = handler->OnNext();
      switch (action.kind) {
        case RuntimeApiState::NextKind::kDeliver:
          WriteEvent(std::move(action.event));
          return;
        case RuntimeApiState::NextKind::kPark:
          server_->Park(shared_from_this());
          return;
        case RuntimeApiState::NextKind::kReject:
          Reply(std::move(action.reply));
          return;
      }
      return;
    }
    if (rest == "init/error") {
      if (!is_post) {
        Reply(MethodNotAllowedReply());
        return;
      }
      Reply(handler->OnInitError(req[kErrorTypeHeader], std::move(req.body())));
      return;
    }
    constexpr std::string_view kInvocation = "invocation/";
    if (rest.substr(0, kInvocation.size()) == kInvocation) {
      std::string_view tail = rest.substr(kInvocation.size());
      size_t slash = tail.rfind('/');
      if (slash != std::string_view::npos && slash > 0) {
        std::string id = PercentDecode(tail.substr(0, slash));
        std::string_view verb = tail.substr(slash + 1);
        if (verb == "response" || verb == "error") {
          if (!is_post) {
            Reply(MethodNotAllowedReply());
            return;
          }
          if (verb == "response") {
            Reply(handler->OnResponse(id, over_limit ? std::string() : std::move(req.body()),
                                      over_limit));
          } else {
            Reply(handler->OnError(id, req[kErrorTypeHeader],
                                   over_limit ? std::string() : std::move(req.body())));
          }
          return;
        }
      }
    }
    Reply(NotFoundReply());
  }

  void Reply(ApiReply reply) {
    BeginHead(reply.status);
    body_ = std::move(reply.body);
    EndHead();
    writing_event_ = false;
    Write(!keep_alive_);
  }

  // The answer's head is written by hand rather than by Beast's serializer, which took more
  // instructions per invocation than building the event (docs/PERFORMANCE.md). Every answer is
  // HTTP/1.1 with a JSON body of known length; header values have CR and LF replaced.
  void BeginHead(int status) {
    head_.clear();
    head_.append("HTTP/1.1 ");
    head_.append(fmt::format_int(status).c_str()).push_back(' ');
    const beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
    head_.append(reason.data(), reason.size());
    head_.append("\r\nContent-Type: application/json\r\n");
  }
  void AddHeader(std::string_view name, std::string_view value) {
    head_.append(name).append(": ");
    const size_t start = head_.size();
    head_.append(value);
    for (size_t i = start; i < head_.size(); ++i) {
      if (head_[i] == '\r' || head_[i] == '\n') head_[i] = ' ';
    }
    head_.append("\r\n");
  }
  // After body_ is set.
  void EndHead() {
    head_.append("Content-Length: ").append(fmt::format_int(body_.size()).c_str()).append("\r\n");
    if (!keep_alive_) head_.append("Connection: close\r\n");
    head_.append("\r\n");
  }

  void Write(bool close) {
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(socket_, buffers,
                      [self = shared_from_this(), close](beast::error_code ec, size_t) {
                        self->OnWrite(ec, close);
                      });
  }

  void OnWrite(beast::error_code ec, bool close) {
    if (writing_event_) {
      writing_event_ = false;
      if (ec) {
        // The runtime is gone from this connection; hand the invocation back.
        event_.payload = std::move(body_);
        if (RuntimeApiHandler* handler = server_->handler()) {
          handler->OnUndeliverable(std::move(event_));
        }
      }
      event_ = {};
    }
    if (ec || close) {
      Close();
      return;
    }
    Read();
  }

  std::shared_ptr<RuntimeApiServer> server_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string head_;  // the answer being written: its status line and headers
  std::string body_;  // and its body
  NextEvent event_;   // the event being written, minus its payload (in body_)
  bool writing_event_ = false;
  bool keep_alive_ = true;
  bool foreign_ = false;
};

RuntimeApiServer::RuntimeApiServer(Strand strand, std::shared_ptr<RuntimeApiHandler> handler,
                                   PeerPolicy policy)
    : strand_(std::move(strand)),
      acceptor_(strand_),
      handler_(std::move(handler)),
      policy_(policy) {}

Result<std::shared_ptr<RuntimeApiServer>> RuntimeApiServer::Create(
    Strand strand, std::shared_ptr<RuntimeApiHandler> handler, PeerPolicy policy) {
  auto server = std::make_shared<RuntimeApiServer>(std::move(strand), std::move(handler), policy);
  beast::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), 0);
  server->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) server->acceptor_.bind(endpoint, ec);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("runtime API endpoint: " + ec.message());
  server->port_ = server->acceptor_.local_endpoint(ec).port();
  if (ec) return Unavailable("runtime API endpoint: " + ec.message());
  return server;
}

void RuntimeApiServer::Start() {
  asio::dispatch(strand_, [self = shared_from_this()] { self->Accept(); });
}

void RuntimeApiServer::Accept() {
  if (closed_) return;
  acceptor_.async_accept(
      strand_, [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (self->closed_) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          spdlog::warn("runtime API accept on port {}: {}", self->port_, ec.message());
        } else {
          beast::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          self->Admit(std::move(socket));
        }
        self->Accept();
      });
}

void RuntimeApiServer::ServeOnlyProcessTree(pid_t root) {
  asio::dispatch(strand_, [self = shared_from_this(), root] {
    self->owner_ = root;
    std::vector<tcp::socket> waiting = std::move(self->waiting_);
    self->waiting_.clear();
    for (auto& socket : waiting) self->Admit(std::move(socket));
  });
}

void RuntimeApiServer::Admit(tcp::socket socket) {
  if (closed_) return;
  if (policy_ == PeerPolicy::kOwnProcessTree && owner_ <= 0) {
    waiting_.push_back(std::move(socket));
    return;
  }
  Serve(std::move(socket));
}

void RuntimeApiServer::Serve(tcp::socket socket) {
  bool foreign = false;
  if (policy_ == PeerPolicy::kOwnProcessTree) {
    beast::error_code ec_local, ec_remote;
    const tcp::endpoint local = socket.local_endpoint(ec_local);
    const tcp::endpoint remote = socket.remote_endpoint(ec_remote);
    if (ec_local || ec_remote) return;  // gone already
    const PeerCheck check = CheckLoopbackPeer(local, remote, owner_);
    switch (check.verdict) {
      case PeerVerdict::kOwn:
        break;
      case PeerVerdict::kForeign:
        foreign = true;
        // The first refusals of an endpoint are worth a warning each; a flood is not.
        if (++refused_ <= 3) {
          spdlog::warn("runtime API port {}: refusing a connection from another process: {}", port_,
                       check.detail);
        } else {
          spdlog::debug("runtime API port {}: refusing a connection from another process: {}",
                        port_, check.detail);
        }
        break;
      case PeerVerdict::kUnknown: {
        static std::atomic<bool> warned{false};
        if (!warned.exchange(true)) {
          spdlog::warn(
              "runtime API: cannot tell which process connected ({}); serving it. Instances are "
              "not kept from each other's Runtime API endpoints on this machine.",
              check.detail);
        }
        break;
      }
    }
  }
  auto connection = std::make_shared<ApiConnection>(shared_from_this(), std::move(socket));
  if (foreign) connection->Refuse();
  std::erase_if(connections_, [](const auto& w) { return w.expired(); });
  connections_.push_back(connection);
  connection->Start();
}

void RuntimeApiServer::Park(std::shared_ptr<ApiConnection> connection) {
  // A newer GET /next replaces a parked one (the runtime reconnected); the old connection is dead
  // to us.
  if (parked_ && parked_ != connection) parked_->Close();
  parked_ = std::move(connection);
}

void RuntimeApiServer::DeliverOnStrand(NextEvent event) {
  if (closed_ || !parked_) {
    if (handler_) handler_->OnUndeliverable(std::move(event));
    return;
  }
  std::shared_ptr<ApiConnection> connection = std::move(parked_);
  connection->WriteEvent(std::move(event));
}

void RuntimeApiServer::Close() {
  // Always posted, never run inline: the caller may be inside a handler of one of our connections.
  asio::post(strand_, [self = shared_from_this()] { self->CloseOnStrand(); });
}

void RuntimeApiServer::CloseOnStrand() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  parked_.reset();
  for (auto& weak : connections_) {
    if (auto c = weak.lock()) c->Close();
  }
  connections_.clear();
  for (auto& socket : waiting_) socket.close(ignored);
  waiting_.clear();
  handler_.reset();
}

}  // namespace cutover::runtime
