// The Lambda Runtime API as one instance's runtime speaks it: the input is the raw bytes of one
// keep-alive connection (any number of pipelined HTTP/1.1 requests) sent to a real
// RuntimeApiServer on 127.0.0.1. The server parses them (Beast), routes them (GET /next, POST
// /invocation/{id}/response|error, POST /init/error; percent-decoded ids) and asks its handler,
// which here is what InstancePool does with the pure RuntimeApiState: a parked /next gets the
// next invocation at once, so a runtime loop can run through several invocations.
//
// There is no socket-free seam for the request decoding (it lives in the server's connection
// class), so this target pays a loopback connection per input.
//
// Invariants (issue 7's Runtime API promises): the server answers only Lambda's status codes; a
// response or error is accepted (202) only for the id delivered last, and only once.
//
// The first input byte sets the start: bit 0 assigns an invocation before the runtime connects
// (it is then delivered by the first /next).
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "fuzz_util.h"
#include "runtime/runtime_api_server.h"
#include "runtime/runtime_api_state.h"

namespace cutover::fuzz {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Ids as RIE makes them (UUIDs); the nth invocation of an input gets the nth id.
std::string IdFor(int n) {
  return "8476a536-e9f4-11e8-9739-2dfe598c3f" + std::to_string(10 + n);
}

class StateHandler final : public runtime::RuntimeApiHandler {
 public:
  explicit StateHandler(runtime::Strand strand) : strand_(std::move(strand)) {}

  void Reset(std::weak_ptr<runtime::RuntimeApiServer> server, bool assign_first) {
    server_ = std::move(server);
    state_ = runtime::RuntimeApiState();
    count_ = 0;
    delivered_.clear();
    answered_.clear();
    if (assign_first) state_.Assign(IdFor(count_++));
  }

  runtime::NextAction OnNext() override {
    runtime::RuntimeApiState::NextResult r = state_.OnNext();
    runtime::NextAction action;
    action.kind = r.kind;
    switch (r.kind) {
      case runtime::RuntimeApiState::NextKind::kDeliver:
        action.event = Event(state_.request_id());
        delivered_.insert(state_.request_id());
        break;
      case runtime::RuntimeApiState::NextKind::kPark:
        // The pool assigns the next invocation to the waiting instance, after the server parked
        // the connection (posted: the strand runs it after this request's dispatch).
        asio::post(strand_, [this] { AssignParked(); });
        break;
      case runtime::RuntimeApiState::NextKind::kReject:
        action.reply = r.reply;
        CheckStatus(r.reply.status);
        break;
    }
    return action;
  }

  runtime::ApiReply OnResponse(std::string_view request_id, std::string body,
                               bool over_limit) override {
    auto r = state_.OnResponse(request_id,
                               over_limit ? runtime::kMaxPayloadBytes + 1 : body.size());
    return Answered(request_id, r.reply);
  }
  runtime::ApiReply OnError(std::string_view request_id, std::string_view,
                            std::string) override {
    return Answered(request_id, state_.OnError(request_id).reply);
  }
  runtime::ApiReply OnInitError(std::string_view, std::string) override {
    auto r = state_.OnInitError();
    CheckStatus(r.reply.status);
    return r.reply;
  }
  void OnUndeliverable(runtime::NextEvent event) override {
    delivered_.erase(event.request_id);
    state_.Undeliverable();
  }

 private:
  static runtime::NextEvent Event(const std::string& id) {
    runtime::NextEvent e;
    e.request_id = id;
    e.payload = R"({"key":"value"})";
    e.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:fuzz-dev-api:Live";
    e.trace_id = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";
    e.deadline_epoch_ms = 1700000006000;
    return e;
  }

  void AssignParked() {
    auto server = server_.lock();
    if (!server || !state_.CanAssign()) return;
    const std::string id = IdFor(count_++);
    if (state_.Assign(id)) {
      delivered_.insert(id);
      server->DeliverOnStrand(Event(id));
    }
  }

  static void CheckStatus(int status) {
    CUTOVER_FUZZ_CHECK(status == 202 || status == 400 || status == 403 || status == 413 ||
                           status == 500,
                       std::to_string(status));
  }

  runtime::ApiReply Answered(std::string_view request_id, const runtime::ApiReply& reply) {
    CheckStatus(reply.status);
    const std::string id(request_id);
    if (reply.status == 202 || reply.status == 413) {
      CUTOVER_FUZZ_CHECK(delivered_.count(id) == 1, "accepted an id never delivered: " + id);
      CUTOVER_FUZZ_CHECK(answered_.insert(id).second, "accepted a second answer for " + id);
    }
    return reply;
  }

  runtime::Strand strand_;
  std::weak_ptr<runtime::RuntimeApiServer> server_;
  runtime::RuntimeApiState state_;
  int count_ = 0;
  std::set<std::string> delivered_;
  std::set<std::string> answered_;
};

struct Harness {
  asio::io_context io;
  runtime::Strand strand{asio::make_strand(io)};
  std::shared_ptr<StateHandler> handler = std::make_shared<StateHandler>(strand);
  std::shared_ptr<runtime::RuntimeApiServer> server;

  Harness() {
    auto created = runtime::RuntimeApiServer::Create(strand, handler);
    if (!created.ok()) Fail("RuntimeApiServer::Create", created.status().ToString());
    server = *created;
    server->Start();
  }
};

}  // namespace
}  // namespace cutover::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cutover::fuzz;
  static Harness* h = new Harness;
  if (size == 0 || size > 64 * 1024) return 0;
  h->handler->Reset(h->server, (data[0] & 1) != 0);
  const std::string bytes(AsView(data + 1, size - 1));

  tcp::socket client(h->io);
  std::string sink(64 * 1024, '\0');
  bool done = false;
  std::function<void()> read_more;
  read_more = [&] {
    client.async_read_some(asio::buffer(sink), [&](boost::system::error_code ec, size_t) {
      if (ec) {
        done = true;  // EOF (the server closed) or a reset: the connection is over
      } else {
        read_more();
      }
    });
  };
  client.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), h->server->port()),
                       [&](boost::system::error_code ec) {
                         if (ec) Fail("connect", ec.message());
                         asio::async_write(client, asio::buffer(bytes),
                                           [&](boost::system::error_code, size_t) {
                                             boost::system::error_code ignored;
                                             client.shutdown(tcp::socket::shutdown_send, ignored);
                                           });
                         read_more();
                       });
  h->io.restart();
  while (!done) h->io.run_one();
  h->io.poll();  // what the server had left to do for this connection
  return 0;
}
