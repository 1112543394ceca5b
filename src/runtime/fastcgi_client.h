// FastCgiPool: the FastCGI client for ONE php-fpm unix socket, capped at max_connections
// connections in total across every thread that uses it.
//
// php-fpm gives each connection a child of its own for as long as the connection is open, and a
// child on a kept (FCGI_KEEP_CONN) connection waits on it for the next request (anchors.md finding
// A). So the pool never has more than max_connections (= pm.max_children) connections open or
// opening, and a request that finds none free waits in a FIFO queue (bounded by max_queue) for the
// next one to come back; past the bound it gets ResourceExhausted. Two modes:
//  * kNewConnection: connect, send one request, close. The child is free the moment the answer
//    is read.
//  * kKeepConnections: FCGI_KEEP_CONN, and a finished connection goes straight to the oldest
//    waiting request, else to the idle list that Execute takes from first. Because every
//    connection counts against the cap and an idle connection is reused before any new one is
//    opened, an idle kept connection never holds a child that one of our requests waits for. An
//    idle connection the server closed (child recycled or killed) is noticed on the next take and
//    replaced; a reused connection that fails before any response byte is retried once on a new
//    connection, except a POST, PATCH or LOCK that was written in full (nginx's rule).
//
// Outcomes passed to the callback:
//  * OK: the parsed CGI response. A PHP fatal error is an OK result with status 500 (php-fpm's).
//  * DeadlineExceeded: the deadline passed, waiting for a connection or for the answer. A
//    connection that timed out is closed and its slot freed at once; the php-fpm child may still
//    be running the script, so the caller must get it killed (restart php-fpm, or let php-fpm's
//    request_terminate_timeout do it): until then one child fewer serves the pool.
//  * ResourceExhausted: the wait queue is full.
//  * InvalidArgument: the request cannot be encoded (a parameter over 64 KiB).
//  * Unavailable / TooLarge: php-fpm could not be reached, closed the connection early, answered
//    malformed FastCGI or CGI, refused the request (protocol status), or sent more than
//    limits.max_stdout. The gateway answers 502 for these.
//
// Thread-safety: Create, Execute, Stats and Shutdown may be called from any thread. Each
// connection's I/O runs on a strand of one of the given io_contexts; the callback runs there,
// exactly once, never inside Execute, and never under the pool's lock.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/fastcgi_protocol.h"
#include "runtime/thread_annotations.h"

namespace cutover::runtime::fastcgi {

enum class ConnectionMode {
  kNewConnection,    // (a) one connection per request
  kKeepConnections,  // (b) FCGI_KEEP_CONN, reused only through the capped pool
};

struct FastCgiPoolOptions {
  std::filesystem::path socket_path;  // php-fpm's `listen`
  // At least 1. REQUIRES: <= pm.max_children of the php-fpm pool, and nobody else connects to
  // the socket: a connection beyond the children waits in php-fpm's backlog, and in kept mode it
  // waits there for as long as the kept connections keep their children.
  int max_connections = 1;
  size_t max_queue = 1024;  // requests waiting for a connection
  // Kept connections measured faster on this machine (the DISABLED_ throughput test in
  // tests/runtime/fastcgi_client_test.cc); kNewConnection stays for comparison.
  ConnectionMode mode = ConnectionMode::kKeepConnections;
  ResponseLimits limits;
  // Where connections do their I/O, round robin unless Execute names one. Never empty; the
  // contexts outlive the pool and every request in flight.
  std::vector<boost::asio::io_context*> contexts;
};

struct FastCgiRequest {
  Params params;
  std::string body;  // sent as STDIN without being copied
};

struct FastCgiResponse {
  CgiResponse http;
  std::string stderr_output;  // FCGI_STDERR (PHP's error_log()), at most limits.max_stderr
  uint32_t app_status = 0;
};

using FastCgiCallback = std::function<void(Result<FastCgiResponse>)>;
using Deadline = std::chrono::steady_clock::time_point;

struct FastCgiPoolStats {
  int open = 0;                // connections open or opening
  int idle = 0;                // kept connections waiting for a request
  size_t waiting = 0;          // requests queued for a connection
  int peak_open = 0;           // the most `open` ever was
  uint64_t connects = 0;       // connections opened
  uint64_t reuses = 0;         // requests sent on a kept connection
  uint64_t stale_dropped = 0;  // idle connections found closed by php-fpm
  uint64_t retries = 0;        // reused connections that failed and were retried once
};

class FastCgiConnection;

class FastCgiPool final : public std::enable_shared_from_this<FastCgiPool> {
 public:
  // Fails (InvalidArgument) on max_connections < 1, no contexts, or a socket path longer than a
  // unix socket address holds. Does not connect.
  static Result<std::shared_ptr<FastCgiPool>> Create(FastCgiPoolOptions options);
  ~FastCgiPool();

  // Sends `request` and calls `done` with the outcome (see the top of this file). `context`, when
  // given, is where a new connection for this request does its I/O (the caller's own thread saves
  // a hop); a reused kept connection stays where it is.
  void Execute(FastCgiRequest request, Deadline deadline, FastCgiCallback done,
               boost::asio::io_context* context = nullptr);

  // Fails every waiting request (Unavailable) and closes idle connections; requests in flight
  // finish, then their connections close. Later Executes fail at once.
  void Shutdown();

  FastCgiPoolStats Stats() const;
  const FastCgiPoolOptions& options() const { return options_; }

  // Use Create. REQUIRES: options valid (Create checks them).
  explicit FastCgiPool(FastCgiPoolOptions options);

 private:
  friend class FastCgiConnection;

  // One request from Execute to its callback. The encoded bytes are shared with the write in
  // flight, so they outlive it even when the connection is abandoned mid-write.
  struct Operation {
    std::shared_ptr<const EncodedRequest> request;
    Deadline deadline;
    FastCgiCallback done;
    boost::asio::io_context* preferred = nullptr;
    int attempts = 0;
    bool idempotent = true;  // REQUEST_METHOD is not POST, PATCH or LOCK
  };
  struct Waiter {
    std::unique_ptr<Operation> op;
    std::shared_ptr<boost::asio::steady_timer> timer;  // fires at op->deadline
  };

  boost::asio::io_context& PickContext(boost::asio::io_context* preferred);
  // Starts `op` on a new connection; the caller already counted it in open_.
  void StartOnNewConnection(std::unique_ptr<Operation> op);
  // A connection finished its request (on its strand). `reusable`: a kept connection at a record
  // boundary that may carry the next request. Returns whether the pool kept it (idle, or already
  // running the next request); when not, the caller closes it. A non-reusable connection must be
  // closed before the call, so its php-fpm child is free for the connection that replaces it.
  bool Release(const std::shared_ptr<FastCgiConnection>& conn, bool reusable);
  // A reused connection failed before any answer: one more try on a new connection, same slot.
  void Retry(std::unique_ptr<Operation> op);
  void OnWaitTimeout(uint64_t waiter_id);

  // Posts `done(status)` to an io_context: callbacks never run inside Execute or Shutdown.
  void PostFailure(FastCgiCallback done, Status status, boost::asio::io_context* preferred);

  const FastCgiPoolOptions options_;
  const boost::asio::local::stream_protocol::endpoint endpoint_;
  std::atomic<size_t> next_context_{0};

  mutable std::mutex mu_;
  int open_ CUTOVER_GUARDED_BY(mu_) = 0;
  std::vector<std::shared_ptr<FastCgiConnection>> idle_ CUTOVER_GUARDED_BY(mu_);  // LIFO
  std::map<uint64_t, Waiter> waiting_ CUTOVER_GUARDED_BY(mu_);  // key order = FIFO order
  uint64_t next_waiter_id_ CUTOVER_GUARDED_BY(mu_) = 1;
  bool shut_down_ CUTOVER_GUARDED_BY(mu_) = false;
  FastCgiPoolStats stats_ CUTOVER_GUARDED_BY(mu_);
};

}  // namespace cutover::runtime::fastcgi
