#include "daemon/serve.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "alarms/actions.h"
#include "alarms/engine.h"
#include "api/admin_server.h"
#include "api/event_hub.h"
#include "common/clock.h"
#include "common/cpu_affinity.h"
#include "common/ids.h"
#include "daemon/fleet_peers.h"
#include "daemon/rollup_writer.h"
#include "deploy/controller.h"
#include "deploy/publisher.h"
#include "deploy/triggers.h"
#include "gateway/server.h"
#include "metrics/emf_inbox.h"
#include "metrics/platform_metrics.h"
#include "metrics/recorder.h"
#include "metrics/series_store.h"
#include "router/snapshot.h"
#include "runtime/memory_cgroup.h"
#include "runtime/run_as.h"
#include "runtime/runtime_service.h"
#include "store/etcd_client.h"
#include "store/etcd_election.h"
#include "store/etcd_watch.h"
#include "store/state_store.h"

namespace cutover::daemon {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

constexpr auto kTickInterval = std::chrono::milliseconds(100);

// Where aws-lambda-ric was installed by scripts/install-deps: $CUTOVER_NODE_DIR, else the first
// third_party/node above the executable (a build tree inside the checkout), else the source tree.
fs::path FindNodeRuntimeDir() {
  if (const char* env = std::getenv("CUTOVER_NODE_DIR"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path dir = exe.parent_path(); !ec && !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    if (fs::exists(dir / "third_party/node/node_modules/aws-lambda-ric", ec)) {
      return dir / "third_party/node";
    }
  }
  return fs::path(CUTOVER_SOURCE_DIR) / "third_party/node";
}

// Where the admin API's token came from.
enum class TokenSource { kNone, kFile, kEnvironment, kGenerated };

// --admin-token-file, else CUTOVER_TOKEN, else (off loopback) a new random token; "" on loopback
// without either: no token.
Result<std::string> AdminToken(const cli::ServeOptions& o, bool loopback, TokenSource* source) {
  if (!o.admin_token_file.empty()) {
    std::ifstream in(o.admin_token_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return InvalidArgument(fmt::format("--admin-token-file {}: cannot read a line from it",
                                         o.admin_token_file.string()));
    }
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    const bool printable = std::all_of(line.begin(), line.end(), [](char c) {
      return c > ' ' && c < 0x7f && c != ';' && c != ',' && c != '"' && c != '\\';
    });
    if (line.size() < 16 || !printable) {
      return InvalidArgument(fmt::format(
          "--admin-token-file {}: the token must be at least 16 visible ASCII characters, "
          "without spaces, quotes, backslashes, commas or semicolons (got {} characters)",
          o.admin_token_file.string(), line.size()));
    }
    *source = TokenSource::kFile;
    return line;
  }
  if (const char* env = std::getenv("CUTOVER_TOKEN"); env != nullptr && *env != '\0') {
    *source = TokenSource::kEnvironment;
    return std::string(env);
  }
  if (loopback) return std::string();
  *source = TokenSource::kGenerated;
  return NewSecretToken();
}

void PrintDashboard(const std::string& admin_url, const std::string& token, TokenSource source) {
  switch (source) {
    case TokenSource::kNone:
      fmt::print("  dashboard {}/\n", admin_url);
      break;
    case TokenSource::kGenerated:
      // Printed once, here: the CLI needs it as CUTOVER_TOKEN, a browser opens the URL.
      fmt::print("  dashboard {}/?token={}\n", admin_url, token);
      fmt::print("  token     {}   (generated; the CLI reads it from CUTOVER_TOKEN)\n", token);
      break;
    case TokenSource::kFile:
    case TokenSource::kEnvironment:
      fmt::print("  dashboard {}/?token=<the {}>\n", admin_url,
                 source == TokenSource::kFile ? "token of --admin-token-file" : "CUTOVER_TOKEN");
      break;
  }
  std::fflush(stdout);
}

void PrintBanner(const cli::ServeOptions& o, const std::string& gateway_url,
                 const std::string& admin_url, const fs::path& data_dir,
                 const deploy::Publisher& publisher, double scale, const std::string& token,
                 TokenSource token_source, const std::string& memory_limit) {
  fmt::print("cutover 0.1.0 serving\n");
  fmt::print("  gateway  {}\n", gateway_url);
  fmt::print(
      "  admin    {}   (Lambda Invoke API: POST /2015-03-31/functions/{{name}}/invocations)\n",
      admin_url);
  fmt::print("  data     {}\n", data_dir.string());
  if (scale != 1.0) fmt::print("  time     {}x faster than real time\n", scale);
  if (!o.run_as.empty()) fmt::print("  run as   {} (function processes)\n", o.run_as);
  fmt::print("  memory   {}\n", memory_limit);
  PrintDashboard(admin_url, token, token_source);
  bool any = false;
  for (const auto& [name, s] : publisher.functions()) {
    for (const auto& ev : s.spec.events) {
      if (!any) fmt::print("routes:\n");
      any = true;
      auto t = s.ServingTarget();
      fmt::print("  {:<6} {}{}  → {} ({} {})\n", ev.method, gateway_url,
                 ev.path == "$default" ? "/" : ev.path, name, t.is_alias ? "alias" : "version",
                 t.qualifier);
    }
  }
  if (!any) fmt::print("no functions deployed yet: run `cutover deploy --dir <service>`\n");
  std::fflush(stdout);
}

// SQLite in the data directory, or etcd with this node's own metric rollups in the data
// directory (node.db).
Result<std::unique_ptr<store::StateStore>> OpenStore(const store::StoreLocation& location,
                                                     const fs::path& data_dir) {
  if (location.kind == store::StoreLocation::Kind::kSqlite) {
    return store::OpenSqliteStore(data_dir / "state.db");
  }
  CUTOVER_ASSIGN_OR_RETURN(std::unique_ptr<store::StateStore> local,
                           store::OpenSqliteStore(data_dir / "node.db"));
  CUTOVER_ASSIGN_OR_RETURN(std::unique_ptr<store::StateStore> shared,
                           store::OpenEtcdStore(location, std::move(local)));
  spdlog::info("state in etcd at {} under {}; this node's metric rollups in {}",
               location.etcd_endpoints, location.etcd_prefix, (data_dir / "node.db").string());
  return shared;
}

// /v1/status's "fleet": the store, this node, the leader, and every node whose lease is alive.
boost::json::object FleetStatus(const store::StoreLocation& location,
                                const store::EtcdElection* election,
                                const store::EtcdWatcher* watcher) {
  namespace json = boost::json;
  json::object out{
      {"store", fmt::format("etcd://{}{}", location.etcd_endpoints, location.etcd_prefix)}};
  const std::string leader = election != nullptr ? election->leader() : std::string();
  out["leader"] = leader;
  out["leading"] = election != nullptr && election->leading();
  // The routes follow etcd only while the watch holds; otherwise they are the last ones known.
  out["routes"] = watcher != nullptr && watcher->connected() ? "live" : "stale";
  json::array nodes;
  const std::string prefix = store::EtcdElection::NodesPrefix(location.etcd_prefix);
  auto client = store::EtcdClient::Create(location.etcd_endpoints);
  Result<store::EtcdRangeResult> listed =
      client.ok() ? (*client)->Range(prefix, store::EtcdClient::PrefixEnd(prefix))
                  : Result<store::EtcdRangeResult>(client.status());
  if (listed.ok()) {
    for (const store::EtcdKeyValue& kv : listed->kvs) {
      boost::system::error_code ec;
      json::value v = json::parse(kv.value, ec);
      if (ec || !v.is_object()) continue;
      json::object node = std::move(v.get_object());
      const json::value* id = node.if_contains("id");
      node["leader"] = id != nullptr && id->is_string() && id->get_string() == leader;
      node["health"] = "up";  // listed: its lease is alive
      nodes.push_back(std::move(node));
    }
  } else {
    out["error"] = listed.status().message();
  }
  out["nodes"] = std::move(nodes);
  return out;
}

// Watches the store's keys from its current revision on; every change (coalesced while one is
// pending) has the control loop bring the catalogue and the route table to what the store holds.
Result<std::unique_ptr<store::EtcdWatcher>> WatchStore(const store::StoreLocation& location,
                                                       asio::io_context& control,
                                                       deploy::Publisher& publisher) {
  CUTOVER_ASSIGN_OR_RETURN(auto client, store::EtcdClient::Create(location.etcd_endpoints));
  CUTOVER_ASSIGN_OR_RETURN(store::EtcdRangeResult now,
                           client->Range(location.etcd_prefix + "format", ""));
  auto pending = std::make_shared<std::atomic<bool>>(false);
  store::EtcdWatchCallbacks callbacks;
  callbacks.on_change = [&control, &publisher, pending](int64_t) {
    if (pending->exchange(true)) return;
    asio::post(control, [&publisher, pending] {
      pending->store(false);
      if (Status st = publisher.Sync(); !st.ok()) {
        spdlog::error("re-reading the store after a change in etcd failed: {}", st.ToString());
      }
    });
  };
  callbacks.on_connection = [](bool connected, const std::string& why) {
    if (connected) {
      spdlog::info("etcd watch: {}", why);
    } else {
      spdlog::warn("etcd watch lost: {}; serving the last known routes until it is back", why);
    }
  };
  return store::EtcdWatcher::Start(location.etcd_endpoints, location.etcd_prefix, now.revision,
                                   std::move(callbacks));
}

}  // namespace

int Serve(const cli::ServeOptions& o) {
  auto level = spdlog::level::from_str(o.log_level);
  spdlog::set_default_logger(spdlog::stderr_color_mt("cutover"));
  spdlog::set_level(level);

  Result<store::StoreLocation> location = store::ParseStoreLocation(o.store);
  if (!location.ok()) {
    fmt::print(stderr, "cutover: {}\n", location.status().message());
    return 2;
  }

  // --run-as: refused before anything is created, so a mistake costs nothing.
  std::optional<runtime::UserAccount> run_as;
  if (!o.run_as.empty()) {
    if (::geteuid() != 0) {
      fmt::print(stderr,
                 "cutover: --run-as {} needs the daemon to run as root (it runs as uid {})\n",
                 o.run_as, ::geteuid());
      return 2;
    }
    auto user = runtime::LookUpUser(o.run_as);
    if (!user.ok()) {
      fmt::print(stderr, "cutover: --run-as {}: {}\n", o.run_as, user.status().message());
      return 2;
    }
    run_as = std::move(user).value();
  }

  // --memory-limit: a memory cgroup per instance where the kernel lets the daemon make them.
  std::shared_ptr<runtime::MemoryCgroups> memory_cgroups;
  std::string memory_limit = o.memory_limit == "off" ? "off" : "RLIMIT_DATA per process";
  if (o.memory_limit == "auto" || o.memory_limit == "cgroup") {
    auto opened = runtime::MemoryCgroups::OpenForThisProcess();
    if (opened.ok()) {
      memory_cgroups = *opened;
      memory_limit = memory_cgroups->Describe();
    } else if (o.memory_limit == "cgroup") {
      fmt::print(stderr, "cutover: --memory-limit cgroup: {}\n", opened.status().message());
      return 1;
    } else {
      memory_limit += fmt::format(" (no memory cgroup: {})", opened.status().message());
    }
  }

  // A file-size limit (`ulimit -f`, RLIMIT_FSIZE) must fail the write that crosses it, as a full
  // disk does, not kill the daemon with SIGXFSZ's default action: the store reports the failed
  // write and the daemon keeps serving. Function processes start with every signal at its
  // default again (process_launcher.cc), so they are not affected.
  ::signal(SIGXFSZ, SIG_IGN);

  fs::path data_dir =
      o.data_dir.empty() ? fs::absolute(o.dir) / ".cutover" : fs::absolute(o.data_dir);
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) {
    fmt::print(stderr, "cutover: cannot create data directory {}: {}\n", data_dir.string(),
               ec.message());
    return 1;
  }
  // The store, packages and logs are all written under the data directory; say so plainly rather
  // than through SQLite's "unable to open database file".
  for (const fs::path& p : {data_dir, data_dir / "state.db"}) {
    if (p != data_dir && !fs::exists(p, ec)) continue;
    if (::access(p.c_str(), W_OK) != 0) {
      const int err = errno;
      fmt::print(stderr,
                 "cutover: the data directory {} is not writable ({} {}: {}); the daemon keeps its "
                 "state, packages and logs there\n",
                 data_dir.string(), p == data_dir ? "directory" : "file", p.string(),
                 std::strerror(err));
      return 1;
    }
  }
  if (run_as) {
    if (!runtime::CanRead(*run_as, data_dir)) {
      fmt::print(stderr,
                 "cutover: --run-as {}: uid {} cannot reach the data directory {}; it and every "
                 "directory above it must be searchable by that user (e.g. chmod o+x)\n",
                 run_as->name, run_as->ids.uid, data_dir.string());
      return 2;
    }
    // Where the instances read their code and php-fpm keeps its sockets: not left to the umask.
    for (const char* sub : {"code", "fpm"}) {
      fs::create_directories(data_dir / sub, ec);
      fs::permissions(data_dir / sub, fs::perms(0755), ec);
    }
  }

  std::unique_ptr<Clock> clock;
  if (o.time_scale == 1.0) {
    clock = std::make_unique<RealClock>();
  } else {
    clock = std::make_unique<ScaledClock>(o.time_scale);
  }

  Result<std::unique_ptr<store::StateStore>> store = OpenStore(*location, data_dir);
  if (!store.ok()) {
    fmt::print(stderr, "cutover: {}\n", store.status().ToString());
    return 1;
  }

  const int nworkers =
      o.workers > 0 ? o.workers : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<asio::io_context>> worker_ctx;
  std::vector<asio::io_context*> worker_ptrs;
  for (int i = 0; i < nworkers; ++i) {
    worker_ctx.push_back(std::make_unique<asio::io_context>(1));
    worker_ptrs.push_back(worker_ctx.back().get());
  }
  asio::io_context control(1);

  // Custom metrics: EMF lines in function output (any I/O thread) -> the store (control tick). A
  // scaled clock runs ahead of the wall-clock timestamps functions write: record at arrival then.
  metrics::EmfInbox emf_inbox({.use_line_timestamps = o.time_scale == 1.0});

  runtime::RuntimeSettings rs;
  rs.data_dir = data_dir;
  rs.node_ric_dir = FindNodeRuntimeDir();
  rs.contexts = worker_ptrs;
  rs.clock = clock.get();
  rs.run_as = run_as;
  rs.instance_parent_death_signal = SIGKILL;
  rs.limit_memory = o.memory_limit != "off";
  rs.memory_cgroups = memory_cgroups;
  rs.on_function_line = [&emf_inbox](const runtime::VersionKey& key, std::string_view line) {
    emf_inbox.Offer(key.function_name, key.version, line);
  };
  auto runtime = runtime::CreateRuntimeService(rs);

  // Metrics: each gateway worker records into its own ring; the control tick drains them into the
  // store the alarms read.
  metrics::Recorder recorder(worker_ptrs.size());
  metrics::MetricsStore metric_store;
  metrics::PlatformMetrics platform_metrics(metric_store);
  RollupWriter rollups(metric_store, **store, *clock);
  // Alarm actions: POSTs of transitions, sent asynchronously on the control loop.
  alarms::ActionDispatcher alarm_actions(control, *clock);
  // With --metrics-source prometheus://, the (leader's) alarms read the whole fleet's metrics.
  std::unique_ptr<alarms::MetricSource> metric_source;
  if (!o.metrics_source.empty()) {
    Result<Endpoint> prometheus = alarms::ParsePrometheusUrl(o.metrics_source);
    if (!prometheus.ok()) {
      fmt::print(stderr, "cutover: {}\n", prometheus.status().message());
      return 2;
    }
    metric_source = std::make_unique<alarms::PrometheusMetricSource>(*prometheus);
  } else {
    metric_source = std::make_unique<alarms::LocalMetricSource>(metric_store);
  }
  alarms::AlarmEngine alarm_engine(*metric_source, **store, *clock, &alarm_actions);
  spdlog::info("alarms read {}", metric_source->Describe());

  router::RouteTableSnapshot routes;
  deploy::PublisherSettings ps;
  ps.data_dir = data_dir;
  ps.queue_per_instance = o.queue_per_instance;
  deploy::Publisher publisher(ps, **store, *runtime, routes, *clock);
  publisher.SetAlarmEngine(&alarm_engine);

  // Deployments: the controller steps them on the control tick; every committed event goes to the
  // SSE stream and, for the CodeDeploy trigger events, to the deployment's triggers.
  api::EventHub events;
  alarms::WebhookSender trigger_sender(control, *clock);
  deploy::TriggerDispatcher triggers(trigger_sender);
  Random hook_ids = Random::FromEntropy();
  deploy::ControllerPorts ports;
  ports.alarm = [&alarm_engine](const std::string& name) { return alarm_engine.Find(name); };
  ports.invoke_hook = [&](const std::string& function_name, const std::string& payload) {
    const deploy::FunctionState* f = publisher.FindFunction(function_name);
    if (f == nullptr) {
      spdlog::error("hook {} is not a deployed function; its deployment will time out",
                    function_name);
      return;
    }
    const uint32_t version = f->ServingTarget().primary_version;
    runtime::Invocation invocation;
    invocation.request_id = NewRequestId(hook_ids);
    invocation.payload = payload;
    // Lambda's asynchronous invocation: the result only goes to the hook's log.
    runtime->Invoke({function_name, version}, std::move(invocation),
                    [function_name](runtime::InvokeResult r) {
                      if (r.outcome != runtime::InvokeOutcome::kSuccess) {
                        spdlog::warn("hook {} ended with {} (only its status report counts)",
                                     function_name, runtime::InvokeOutcomeName(r.outcome));
                      }
                    });
  };
  // In a fleet (etcd), set below: packages from and pre-warming on the other nodes.
  std::unique_ptr<FleetPeers> fleet;
  ports.prewarm = [&](const std::string& function_name, uint32_t version, int count) {
    if (fleet != nullptr) return fleet->Prewarm(function_name, version, count);
    if (Status st = runtime->Prewarm({function_name, version}, count); !st.ok()) {
      spdlog::warn("pre-warming {} version {}: {}", function_name, version, st.ToString());
    }
  };
  ports.version_ready = [&](const std::string& function_name,
                            uint32_t version) -> std::optional<std::string> {
    if (fleet == nullptr) return std::nullopt;
    return fleet->Ready(function_name, version);
  };
  ports.instances = [&](const std::string& function_name, uint32_t version) {
    return runtime->Stats({function_name, version}).instances;
  };
  ports.on_events = [&](const deploy::Deployment& d,
                        const std::vector<store::DeploymentEventRecord>& records) {
    const boost::json::object deployment = deploy::DeploymentJson(d);
    for (const auto& e : records) {
      boost::system::error_code ec;
      boost::json::value data = boost::json::parse(e.data, ec);
      events.Publish("deployment", d.id,
                     boost::json::serialize(boost::json::object{
                         {"deploymentId", d.id},
                         {"seq", e.seq},
                         {"time", e.time_ms},
                         {"type", e.type},
                         {"data", ec ? boost::json::value(e.data) : std::move(data)},
                         {"deployment", deployment}}));
      deploy::NotifyTriggers(triggers, d, e.type);
    }
  };
  deploy::DeploymentController controller(**store, publisher, *clock, std::move(ports));

  gateway::GatewaySettings gs;
  gs.recorder = o.metrics ? &recorder : nullptr;
  gs.host = o.host;
  gs.port = static_cast<uint16_t>(o.port);
  gs.version_header = o.version_header;
  // Test hook: integration tests shorten API Gateway's 29 s / 30 s integration timeouts.
  if (const char* t = std::getenv("CUTOVER_TEST_INTEGRATION_TIMEOUT_MS"); t && std::atoi(t) > 0) {
    gs.rest_timeout_ms = gs.http_api_timeout_ms = std::atoi(t);
  }
  // Test hook: integration tests shorten the 60 s a connection may stay idle or take to send a
  // request's header (tests/integration/faults_test.cc, the slow client).
  if (const char* t = std::getenv("CUTOVER_TEST_IDLE_TIMEOUT_MS"); t && std::atoi(t) > 0) {
    gs.idle_timeout_ms = std::atoi(t);
  }
  auto gw = gateway::StartGateway(gs, worker_ptrs, routes, *runtime, *clock);
  if (!gw.ok()) {
    fmt::print(stderr, "cutover: {}\n", gw.status().message());
    return 1;
  }
  const std::string gateway_url = fmt::format("http://{}:{}", o.host, (*gw)->port());

  api::AdminSettings as;
  as.memory_limit = memory_limit;
  TokenSource token_source = TokenSource::kNone;
  {
    // DESIGN.md section 4: the admin API runs code on request; off loopback it needs a token.
    boost::system::error_code aec;
    auto admin_addr = asio::ip::make_address(o.admin_host, aec);
    if (aec) {
      fmt::print(stderr, "cutover: --admin-host {} is not an IP address\n", o.admin_host);
      return 2;
    }
    auto token = AdminToken(o, admin_addr.is_loopback(), &token_source);
    if (!token.ok()) {
      fmt::print(stderr, "cutover: {}\n", token.status().message());
      return 2;
    }
    as.token = std::move(token).value();
  }
  // Lets the functions' own AWS SDK calls (hooks reporting to CodeDeploy) through a token.
  as.instance_session_token = NewSecretToken();
  as.time_scale = o.time_scale;
  publisher.SetInstanceSessionToken(as.instance_session_token);
  as.host = o.admin_host;
  as.port = static_cast<uint16_t>(o.admin_port);
  as.data_dir = data_dir;
  as.gateway_url = gateway_url;
  as.metrics = &metric_store;
  as.platform_metrics = o.metrics ? &platform_metrics : nullptr;
  as.recorder = &recorder;
  as.emf_inbox = &emf_inbox;
  as.alarms = &alarm_engine;
  as.store = store->get();
  as.deployments = &controller;
  as.events = &events;
  // On etcd: the watch that keeps the routes current and the election (both started below), and
  // what /v1/status says of the fleet.
  std::unique_ptr<store::EtcdWatcher> watcher;
  std::unique_ptr<store::EtcdElection> election;
  if (location->kind == store::StoreLocation::Kind::kEtcd) {
    as.fleet = [&]() { return FleetStatus(*location, election.get(), watcher.get()); };
  }
  auto admin = api::StartAdminServer(as, control, publisher, *runtime, *clock);
  if (!admin.ok()) {
    fmt::print(stderr, "cutover: {}\n", admin.status().message());
    return 1;
  }
  const std::string admin_url = fmt::format("http://{}:{}", o.admin_host, (*admin)->port());

  // Hook code written for AWS reaches the CodeDeploy and Lambda APIs here, with the SDK's standard
  // endpoint variables and placeholder credentials (the runtime sets those). Then the store's
  // functions come back, with that environment.
  publisher.SetPlatformEnvironment(
      {{"AWS_ENDPOINT_URL_CODEDEPLOY", admin_url}, {"AWS_ENDPOINT_URL_LAMBDA", admin_url}});
  // On etcd, other nodes publish and shift too: follow the store from the revision the state is
  // restored at, so nothing committed after it is missed, and fetch the packages of versions
  // published elsewhere from the node that has them.
  if (location->kind == store::StoreLocation::Kind::kEtcd) {
    fleet = std::make_unique<FleetPeers>(
        FleetPeersOptions{location->etcd_endpoints, location->etcd_prefix, admin_url, as.token},
        control, [&publisher](const std::string& sha256, std::string bytes) {
          auto stored = publisher.PutArtifact(sha256, bytes);
          if (!stored.ok()) {
            spdlog::error("package {} fetched but not stored: {}", sha256.substr(0, 12),
                          stored.status().ToString());
            return;
          }
          if (Status st = publisher.Sync(); !st.ok()) {
            spdlog::error("re-reading the store after package {} arrived failed: {}",
                          sha256.substr(0, 12), st.ToString());
          }
        });
    publisher.SetArtifactWanted(
        [&fleet](const std::string& sha256) { fleet->WantArtifact(sha256); });
    auto started = WatchStore(*location, control, publisher);
    if (!started.ok()) {
      fmt::print(stderr, "cutover: {}\n", started.status().ToString());
      return 1;
    }
    watcher = std::move(started).value();
  }
  if (Status st = publisher.Restore(); !st.ok()) {
    fmt::print(stderr, "cutover: {}\n", st.ToString());
    return 1;
  }

  // On etcd, one node of the fleet runs the deployment controller and the alarm engine: the one
  // elected through a leased key. Every node serves, publishes and follows the aliases.
  if (location->kind == store::StoreLocation::Kind::kEtcd) {
    char host[256] = {0};
    ::gethostname(host, sizeof(host) - 1);
    const std::string node_id =
        o.node_id.empty() ? fmt::format("{}:{}", host, (*gw)->port()) : o.node_id;
    store::EtcdElectionCallbacks callbacks;
    callbacks.on_elected = [node_id](int64_t revision) {
      spdlog::info("node {} leads the fleet (term at revision {}): it runs deployments and alarms",
                   node_id, revision);
    };
    callbacks.on_lost = [node_id](const std::string& why) {
      spdlog::warn("node {} no longer leads: {}", node_id, why);
    };
    auto started =
        store::EtcdElection::Start(location->etcd_endpoints, location->etcd_prefix, node_id,
                                   std::chrono::seconds(o.lease_ttl), std::move(callbacks),
                                   boost::json::serialize(boost::json::object{
                                       {"id", node_id},
                                       {"gateway", gateway_url},
                                       {"admin", admin_url},
                                       {"started_ms", ToEpochMillis(RealClock().Now())}}));
    if (!started.ok()) {
      fmt::print(stderr, "cutover: {}\n", started.status().ToString());
      return 2;
    }
    election = std::move(started).value();
  }
  const bool in_fleet = election != nullptr;
  auto leads = [&] { return !in_fleet || (election != nullptr && election->leading()); };

  PrintBanner(o, gateway_url, admin_url, data_dir, publisher, o.time_scale, as.token, token_source,
              memory_limit);
  if (!o.ready_file.empty()) {
    fs::path tmp = o.ready_file;
    tmp += ".tmp";
    std::ofstream(tmp) << fmt::format(R"({{"gateway": "{}", "admin": "{}", "pid": {}}})",
                                      gateway_url, admin_url, getpid())
                       << "\n";
    fs::rename(tmp, o.ready_file, ec);
  }

  // The control loop: one tick drains the metric samples, evaluates due alarms and supervises the
  // runtimes; deployment steps will join it.
  asio::steady_timer tick(control);
  int64_t last_eviction_ms = 0;
  auto last_trim = std::chrono::steady_clock::now();
  std::function<void()> schedule = [&] {
    tick.expires_after(kTickInterval);
    tick.async_wait([&](boost::system::error_code e) {
      if (e) return;
      recorder.DrainAll([&](const metrics::RequestSample& s) { platform_metrics.Ingest(s); });
      if (o.metrics) {
        // ConcurrentExecutions: each version's peak since the last tick, and the versions each
        // alias routes to now (an alias counts the sum of its versions').
        std::vector<metrics::VersionConcurrency> peaks;
        for (runtime::VersionConcurrency& v : runtime->TakeConcurrency()) {
          peaks.push_back({std::move(v.key.function_name), v.key.version, v.peak});
        }
        std::vector<metrics::AliasVersions> aliases;
        for (const auto& [name, f] : publisher.functions()) {
          if (f.alias) {
            aliases.push_back(
                {name, f.alias->name, f.alias->primary_version, f.alias->additional_version});
          }
        }
        platform_metrics.RecordConcurrency(ToEpochMillis(clock->Now()), peaks, aliases);
      }
      emf_inbox.Drain(metric_store, ToEpochMillis(clock->Now()));
      rollups.Tick();
      // Once a daemon-minute: the series of versions that stopped serving give their memory back
      // when their last sample leaves memory (3 h 10 min; docs/ARCHITECTURE.md).
      if (const int64_t now_ms = ToEpochMillis(clock->Now()); now_ms - last_eviction_ms >= 60'000) {
        last_eviction_ms = now_ms;
        if (size_t dropped = platform_metrics.EvictIdle(now_ms); dropped > 0) {
          spdlog::debug("metrics: dropped {} idle series, {} left", dropped,
                        metric_store.series_count());
        }
      }
      // Once a wall-clock minute: hand the pages glibc keeps for freed memory back to the kernel.
      // The soak showed the heap in use flat over an hour while the freed-but-kept part grew from
      // 2 to 14 MB (docs/RELIABILITY.md); without this, RSS follows the peak, not the live data.
      if (auto now = std::chrono::steady_clock::now(); now - last_trim >= std::chrono::minutes(1)) {
        last_trim = now;
        ::malloc_trim(0);
        spdlog::debug("malloc_trim took {} µs",
                      std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - now)
                          .count());
      }
      if (leads()) {
        alarm_engine.EvaluateDue();
        // After the alarms, so a transition to ALARM stops a deployment in the same tick, and
        // before the alarms' own store writes, so the rollback's commit does not wait behind them.
        controller.Tick();
        alarm_engine.FlushTransitions();
      }
      runtime->Tick();
      schedule();
    });
  };
  schedule();

  // SIGTERM or SIGINT: leave cleanly. Resign at once (another node leads at its next tick, not
  // after the TTL), stop accepting, close idle connections, and give the requests in flight up to
  // --drain-timeout to finish before stopping. A second signal stops at once.
  asio::signal_set signals(control, SIGINT, SIGTERM);
  asio::steady_timer drain_poll(control);
  std::function<void()> drain_check;
  auto stop_now = [&] {
    drain_poll.cancel();
    tick.cancel();
    trigger_sender.Stop();
    (*gw)->Stop();
    (*admin)->Stop();
    control.stop();
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + std::chrono::seconds(o.drain_timeout);
    spdlog::info("signal {}: draining {} connection(s) (up to {} s), then stopping", sig,
                 (*gw)->open_connections(), o.drain_timeout);
    election.reset();
    (*gw)->Drain();
    (*admin)->Stop();
    signals.async_wait([&](boost::system::error_code again, int sig2) {
      if (again) return;
      spdlog::warn("signal {} while draining: stopping now", sig2);
      stop_now();
    });
    drain_check = [&, started, deadline] {
      const size_t open = (*gw)->open_connections();
      const auto now = std::chrono::steady_clock::now();
      if (open == 0 || now >= deadline) {
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - started).count();
        if (open == 0) {
          spdlog::info("drained in {} ms: shutting down", took);
        } else {
          spdlog::warn("{} connection(s) still busy after {} ms: shutting down", open, took);
        }
        stop_now();
        return;
      }
      drain_poll.expires_after(std::chrono::milliseconds(20));
      drain_poll.async_wait([&](boost::system::error_code e) {
        if (!e) drain_check();
      });
    };
    drain_check();
  });

  const std::vector<int> worker_cpus =
      o.pin_workers ? WorkerCpus(nworkers, AllowedCpus()) : std::vector<int>{};
  if (!worker_cpus.empty()) {
    spdlog::info("gateway workers pinned to CPUs {} (--no-pin-workers lets them float)",
                 fmt::join(worker_cpus, ", "));
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < worker_ctx.size(); ++i) {
    const int cpu = i < worker_cpus.size() ? worker_cpus[i] : -1;
    threads.emplace_back([c = worker_ctx[i].get(), cpu, name = fmt::format("gateway-{}", i)] {
      if (cpu >= 0) {
        if (Status st = PinThisThread(cpu); !st.ok()) spdlog::warn("{}", st.message());
      }
      // For top -H and /proc/PID/task; named once pinned, so a worker seen by name is set up.
      pthread_setname_np(pthread_self(), name.c_str());
      auto guard = asio::make_work_guard(*c);
      c->run();
    });
  }
  control.run();
  alarm_actions.Stop();  // abandons deliveries still in flight

  runtime->Shutdown();
  for (auto& ctx : worker_ctx) ctx->stop();
  for (auto& t : threads) t.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace cutover::daemon
