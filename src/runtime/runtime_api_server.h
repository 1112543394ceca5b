// RuntimeApiServer: one instance's Lambda Runtime API endpoint, HTTP/1.1 on 127.0.0.1:<port 0>.
//
// Serves (base /2018-06-01/runtime):
//   GET  /invocation/next            long poll; answered with the event and the Lambda-Runtime-*
//   headers POST /invocation/{id}/response   the function's result POST /invocation/{id}/error a
//   function error (Lambda-Runtime-Function-Error-Type header) POST /init/error                 an
//   init failure
// Connections are keep-alive; a parked GET /next is answered later by Deliver(). Bodies up to
// kMaxPayloadBytes + 1 MiB are read whole (the handler decides on 413); larger ones get 413 and the
// connection is closed, because the rest of the body cannot be skipped cheaply.
//
// The server knows nothing about pools: every request goes to its RuntimeApiHandler. It knows one
// process, with PeerPolicy::kOwnProcessTree: a connection is served only when the socket at its
// other end belongs to that process or a descendant (runtime/peer_process.h), checked once when
// it is accepted; connections accepted before the process is named wait for ServeOnlyProcessTree.
// Any request on a connection from another process gets 403 AccessDeniedException, so one
// instance cannot answer another's invocation or take its next event.
//
// Thread-safety: all work runs on the strand given at creation; the handler is called only there.
// Create, port, Start, Deliver and Close may be called from any thread.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/runtime_api_state.h"

namespace cutover::runtime {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// One invocation as the runtime receives it from GET /next.
struct NextEvent {
  std::string request_id;
  std::string payload;
  std::string invoked_function_arn;
  std::string trace_id;
  std::string client_context;  // empty: header omitted
  int64_t deadline_epoch_ms = 0;
  // When the invocation times out (the server ignores it; the instance arms its timer with it).
  std::chrono::steady_clock::time_point timeout_at;
};

struct NextAction {
  RuntimeApiState::NextKind kind = RuntimeApiState::NextKind::kPark;
  NextEvent event;  // kDeliver
  ApiReply reply;   // kReject
};

// Implemented by the instance. Every method runs on the server's strand.
class RuntimeApiHandler {
 public:
  virtual ~RuntimeApiHandler() = default;
  virtual NextAction OnNext() = 0;
  // `over_limit`: the body was larger than the server reads; `body` is then empty.
  virtual ApiReply OnResponse(std::string_view request_id, std::string body, bool over_limit) = 0;
  virtual ApiReply OnError(std::string_view request_id, std::string_view error_type_header,
                           std::string body) = 0;
  virtual ApiReply OnInitError(std::string_view error_type_header, std::string body) = 0;
  // Deliver() found no parked GET /next, or writing the event failed: the event comes back.
  virtual void OnUndeliverable(NextEvent event) = 0;
};

class ApiConnection;

enum class PeerPolicy {
  kAnyLocalProcess,  // tests that play the runtime themselves
  kOwnProcessTree,   // the daemon: only the instance's process tree (ServeOnlyProcessTree)
};

class RuntimeApiServer final : public std::enable_shared_from_this<RuntimeApiServer> {
 public:
  // Binds 127.0.0.1:0. Call Start() to accept.
  static Result<std::shared_ptr<RuntimeApiServer>> Create(
      Strand strand, std::shared_ptr<RuntimeApiHandler> handler,
      PeerPolicy policy = PeerPolicy::kAnyLocalProcess);

  uint16_t port() const { return port_; }
  const Strand& strand() const { return strand_; }

  void Start();
  // kOwnProcessTree: the process whose tree may use this endpoint (the instance, once launched).
  // Connections waiting for it are checked now. Any thread.
  void ServeOnlyProcessTree(pid_t root);
  // Writes `event` to the parked GET /next. REQUIRES: on the strand.
  void DeliverOnStrand(NextEvent event);
  // Stops accepting, closes every connection and drops the handler. Idempotent.
  void Close();

  // Internal, for ApiConnection (strand only).
  RuntimeApiHandler* handler() const { return handler_.get(); }
  void Park(std::shared_ptr<ApiConnection> connection);

  RuntimeApiServer(Strand strand, std::shared_ptr<RuntimeApiHandler> handler, PeerPolicy policy);

 private:
  void Accept();
  // Starts serving an accepted connection, or keeps it until the owner is known (strand only).
  void Admit(boost::asio::ip::tcp::socket socket);
  void Serve(boost::asio::ip::tcp::socket socket);
  void CloseOnStrand();

  Strand strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  // Strand only.
  std::shared_ptr<RuntimeApiHandler> handler_;
  std::shared_ptr<ApiConnection> parked_;
  std::vector<std::weak_ptr<ApiConnection>> connections_;
  bool closed_ = false;
  const PeerPolicy policy_;
  pid_t owner_ = 0;  // kOwnProcessTree: 0 until ServeOnlyProcessTree
  std::vector<boost::asio::ip::tcp::socket> waiting_;  // accepted before the owner was known
  uint64_t refused_ = 0;  // connections from other processes, for the log
};

}  // namespace cutover::runtime
