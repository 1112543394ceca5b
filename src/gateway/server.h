// GatewayServer: the public HTTP front door (API Gateway).
//
// HTTP/1.1 with keep-alive on Boost.Beast. One acceptor per worker io_context on the same port
// (SO_REUSEPORT), so the kernel spreads connections and each connection lives on one thread from
// accept to close. Per request: load the route-table snapshot (no lock), match the route, pick the
// version from the alias weights with the worker's own random numbers, build the proxy event,
// invoke, map the response.
//
// REQUIRES: each io_context in `contexts` is run by exactly one thread (the per-request completion
// logic relies on it), and outlives the server.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/snapshot.h"
#include "runtime/runtime_service.h"

#include "metrics/recorder.h"

namespace cutover::gateway {

struct GatewaySettings {
  std::string host = "127.0.0.1";
  uint16_t port = 3000;                      // 0 picks a free port
  bool version_header = true;                // X-Cutover-Version on every routed response
  size_t max_body_bytes = 10 * 1024 * 1024;  // API Gateway's payload limit
  size_t max_header_bytes = 10 * 1024;       // API Gateway's 10240-byte header limit
  int rest_timeout_ms = 29'000;              // REST integration timeout
  int http_api_timeout_ms = 30'000;          // HTTP API integration timeout
  int idle_timeout_ms = 60'000;              // keep-alive connections idle longer are closed
  std::string region = "us-east-1";
  // Where each worker records its requests' samples (shard i for contexts[i]); null: no metrics.
  // REQUIRES: at least as many shards as contexts; outlives the server.
  metrics::Recorder* recorder = nullptr;
};

class GatewayServer {
 public:
  virtual ~GatewayServer() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting; open connections finish their current request. Any thread.
  virtual void Stop() = 0;
  // Stops accepting, closes the connections waiting for a request, and has every busy one close
  // after its current response (`Connection: close`). Any thread; open_connections() tells when
  // the last has gone.
  virtual void Drain() = 0;
  virtual size_t open_connections() const = 0;
};

Result<std::unique_ptr<GatewayServer>> StartGateway(
    const GatewaySettings& settings, const std::vector<boost::asio::io_context*>& contexts,
    const router::RouteTableSnapshot& routes, runtime::RuntimeService& runtime, const Clock& clock);

// How an invocation's outcome counts in AWS/Lambda, for the gateway and the Invoke API alike:
// a refusal before anything ran (unknown version, request too large) counts nothing, a throttle
// only as a Throttle, everything that ran but failed as an Error.
metrics::InvokeKind InvokeKindOf(runtime::InvokeOutcome outcome);

}  // namespace cutover::gateway
