// `cutover serve`: validates the options and hands them to the daemon's ServeFn.

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <cmath>
#include <memory>
#include <ostream>
#include <system_error>

#include "cli/command_context.h"

namespace cutover::cli {
namespace {

// Returns an empty string when the options are usable, else the message for exit 2.
std::string Validate(const ServeOptions& options) {
  if (!(options.time_scale > 0) || !std::isfinite(options.time_scale)) {
    return fmt::format("--time-scale must be a number greater than 0 (got {})", options.time_scale);
  }
  if (options.port != 0 && options.port == options.admin_port &&
      options.host == options.admin_host) {
    return fmt::format("--port and --admin-port are both {} on {}", options.port, options.host);
  }
  if (!options.metrics_source.empty()) {
    if (!options.metrics_source.starts_with("prometheus://")) {
      return fmt::format("--metrics-source must be prometheus://HOST:PORT (got '{}')",
                         options.metrics_source);
    }
    if (options.time_scale != 1.0) {
      return "--metrics-source prometheus:// needs --time-scale 1: Prometheus stamps samples with "
             "the wall clock, which a scaled clock runs ahead of";
    }
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(options.dir, ec)) {
    return fmt::format("--dir {}: not a directory", options.dir.string());
  }
  return "";
}

}  // namespace

Command AddServeCommand(CLI::App& app, const ServeFn& serve) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* sub =
      app.add_subcommand("serve", "Run the platform: gateway, function instances, admin API");
  sub->add_option("--dir", options->dir, "Service directory (where --data lives by default)")
      ->capture_default_str();
  sub->add_option("--host", options->host, "Gateway listen address")->capture_default_str();
  sub->add_option("--port", options->port, "Gateway port (0 = pick a free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  sub->add_option("--admin-host", options->admin_host,
                  "Admin API listen address (loopback by default; elsewhere a token is required)")
      ->capture_default_str();
  sub->add_option("--admin-token-file", options->admin_token_file,
                  "File whose first line is the admin API's token (default: CUTOVER_TOKEN, or "
                  "generated and printed when --admin-host is not loopback)");
  sub->add_option("--admin-port", options->admin_port, "Admin API port (0 = pick a free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  sub->add_option("--data", options->data_dir, "State directory (default: <dir>/.cutover)");
  sub->add_option("--store", options->store,
                  "Where the state lives: sqlite (in --data, the default) or "
                  "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (shared by a fleet of nodes)");
  sub->add_option("--node-id", options->node_id,
                  "On etcd: this node's name in the fleet (default HOSTNAME:GATEWAY-PORT)");
  sub->add_option("--lease-ttl", options->lease_ttl,
                  "On etcd: seconds a dead leader holds leadership before another node takes over")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  sub->add_option("--drain-timeout", options->drain_timeout,
                  "On SIGTERM: seconds to let requests in flight finish before stopping")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  sub->add_option("--metrics-source", options->metrics_source,
                  "Where alarms read their metrics: this node's (the default) or "
                  "prometheus://HOST:PORT, a Prometheus scraping every node's /metrics");
  sub->add_option("--time-scale", options->time_scale,
                  "Run schedules, alarm periods and hook timeouts N times faster (N > 0)")
      ->capture_default_str();
  sub->add_flag("!--no-version-header", options->version_header,
                "Do not add X-Cutover-Version to gateway responses");
  sub->add_flag("!--no-metrics", options->metrics,
                "Record no request metrics (alarms then see no data; for measuring their cost)");
  sub->add_option("--workers", options->workers, "Gateway worker threads (0 = number of cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("!--no-pin-workers", options->pin_workers,
                "Let the gateway worker threads float over the cores instead of pinning each to "
                "one (pinned, a worker's connections and function instances share its core)");
  sub->add_option("--queue-per-instance", options->queue_per_instance,
                  "Requests that may wait per allowed instance before 429 (0 = throttle at once, "
                  "as Lambda does)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  sub->add_option("--log-level", options->log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  sub->add_option("--ready-file", options->ready_file,
                  "Write {\"gateway\": URL, \"admin\": URL} to this file once listening");
  sub->add_option("--run-as", options->run_as,
                  "Run function processes as this user (the daemon must run as root)");
  sub->add_option("--memory-limit", options->memory_limit,
                  "How memorySize is enforced: auto (a memory cgroup per instance where possible, "
                  "else RLIMIT_DATA), cgroup, rlimit or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cgroup", "rlimit", "off"}));

  Command command;
  command.app = sub;
  command.run = [options, serve](Context& context) {
    if (std::string problem = Validate(*options); !problem.empty()) {
      context.err << "cutover: " << problem << '\n';
      return kExitUsage;
    }
    ServeOptions resolved = *options;
    if (resolved.data_dir.empty()) resolved.data_dir = resolved.dir / ".cutover";
    if (!serve) {
      context.err << "cutover: this build has no server\n";
      return kExitFailed;
    }
    return serve(resolved);
  };
  return command;
}

}  // namespace cutover::cli
