// AdminServer: the admin HTTP API (docs/API.md) — the /v1 endpoints the CLI and dashboard use and
// the AWS-compatible Lambda Invoke API.
//
// Runs on the control loop's io_context, so its handlers read and change the Publisher's state on
// the one thread that owns it, without locks. Handlers are thin: decode, call the module that
// decides, encode.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "alarms/engine.h"
#include "api/event_hub.h"
#include "common/clock.h"
#include "common/status.h"
#include "deploy/controller.h"
#include "deploy/publisher.h"
#include "metrics/emf_inbox.h"
#include "metrics/platform_metrics.h"
#include "metrics/series_store.h"
#include "runtime/runtime_service.h"
#include "store/state_store.h"

namespace cutover::api {

struct AdminSettings {
  std::string host = "127.0.0.1";
  uint16_t port = 3001;
  std::filesystem::path data_dir;
  std::string gateway_url;  // for /v1/health and `cutover deploy`'s output
  std::string region = "us-east-1";
  // When non-empty every request must carry the token (compared in constant time): as
  // "Authorization: Bearer <token>" (the CLI), or as the cookie the dashboard's login URL
  // `/?token=<token>` sets (a browser).
  std::string token;
  // The AWS_SESSION_TOKEN every function instance gets. With a token set, the two AWS-compatible
  // endpoints (CodeDeploy's hook callback, Lambda Invoke) also accept a request whose
  // X-Amz-Security-Token header carries it, which the AWS SDKs send by themselves: hook code
  // written for AWS needs no cutover token.
  std::string instance_session_token;
  // The daemon's clock rate, for /v1/health (the CLI and the dashboard convert daemon time).
  double time_scale = 1.0;
  size_t max_artifact_bytes = 512u * 1024 * 1024;
  size_t max_body_bytes = 16u * 1024 * 1024;
  // Metrics (control-loop owned, like the Publisher); null: /metrics and /v1/metrics answer 404.
  metrics::MetricsStore* metrics = nullptr;
  metrics::PlatformMetrics* platform_metrics = nullptr;  // also written: Invoke API samples
  const metrics::Recorder* recorder = nullptr;
  // The EMF lines' counters for /metrics (thread-safe reads); null: reported as 0.
  const metrics::EmfInbox* emf_inbox = nullptr;
  // Alarms (control-loop owned); null: /v1/alarms answers 404.
  alarms::AlarmEngine* alarms = nullptr;
  // Where metric queries older than memory find their 1-minute rollups; null: memory only.
  store::StateStore* store = nullptr;
  // Deployments (control-loop owned); null: /v1/deployments and the CodeDeploy endpoint answer 404.
  deploy::DeploymentController* deployments = nullptr;
  // The SSE stream's source; null: /v1/events answers 404.
  EventHub* events = nullptr;
  // On a fleet (etcd store): the store, this node, the leader and the nodes, for /v1/status's
  // "fleet". Called on the control thread. Empty: single node, no "fleet".
  std::function<boost::json::object()> fleet;
  // How function memory is limited (serve --memory-limit), for /v1/status's "memory_limit".
  std::string memory_limit;
};

class AdminServer {
 public:
  virtual ~AdminServer() = default;
  virtual uint16_t port() const = 0;
  // Closes the listener; connections already open finish. Call on the control thread.
  virtual void Stop() = 0;
};

Result<std::unique_ptr<AdminServer>> StartAdminServer(const AdminSettings& settings,
                                                      boost::asio::io_context& control,
                                                      deploy::Publisher& publisher,
                                                      runtime::RuntimeService& runtime,
                                                      const Clock& clock);

// (method, path template) of every endpoint the admin server routes, in docs/API.md's notation.
std::vector<std::pair<std::string, std::string>> AdminRoutes();

}  // namespace cutover::api
