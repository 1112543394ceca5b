// The `cutover` command line: argument parsing and the client subcommands.
//
// RunCli is the whole CLI behind main(): it parses argv with CLI11, runs one subcommand and returns
// the process exit code. `serve` is the one subcommand that does not talk to the admin API; it
// validates its options and hands them to the ServeFn the composition root (daemon/main.cc) passes
// in, so this module never depends on the daemon. Every other subcommand is a client of the admin
// API (docs/API.md) over HTTP; docs/CLI.md is the user-facing contract.
//
// Exit codes (DESIGN.md section 4): 0 success; 1 the operation failed; 2 usage or configuration
// error; 3 the daemon cannot be reached.
//
// Thread-safety: RunCli is called once, from main's thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace cutover::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

struct ServeOptions {
  std::filesystem::path dir = ".";  // --dir: the service directory (serve only serves; see deploy)
  std::string host = "127.0.0.1";   // --host: the gateway's listen address
  int port = 3000;                  // --port (0 = pick a free port)
  std::string admin_host = "127.0.0.1";  // --admin-host (loopback by default)
  // --admin-token-file: the admin API's token (first line). Without it: CUTOVER_TOKEN, or, off
  // loopback, a generated token printed at start.
  std::filesystem::path admin_token_file;
  int admin_port = 3001;           // --admin-port (0 = pick a free port)
  std::filesystem::path data_dir;  // --data; RunCli fills in <dir>/.cutover when not given
  // --store: where the shared state lives: "" (SQLite in data_dir) or
  // etcd://HOST:PORT[,...][/PREFIX] for a fleet of nodes (docs/SCALING.md). The daemon parses it
  // (store::ParseStoreLocation).
  std::string store;
  // On etcd: this node's name in the fleet (--node-id; default HOSTNAME:GATEWAY-PORT) and the TTL
  // of the lease its leadership hangs on (--lease-ttl, seconds; a dead leader is replaced after
  // it).
  std::string node_id;
  int lease_ttl = 5;
  // On SIGTERM the gateway stops accepting, closes idle connections and gives the requests in
  // flight this long (seconds) to finish: API Gateway's 29 s integration timeout, plus one.
  int drain_timeout = 30;
  // "" (alarms read this node's metrics) or "prometheus://HOST:PORT" (the fleet's, from
  // Prometheus).
  std::string metrics_source;
  double time_scale = 1.0;     // --time-scale N (> 0)
  bool version_header = true;  // --no-version-header turns it off
  bool metrics = true;         // --no-metrics: the gateway records nothing (benchmarks)
  int workers = 0;             // --workers, 0 = number of cores
  // --no-pin-workers: let the worker threads float instead of pinning each to a core
  // (common/cpu_affinity.h).
  bool pin_workers = true;
  // --queue-per-instance: invocations that may wait per allowed instance of a version before
  // further ones are throttled (429). Lambda itself queues nothing; the default absorbs bursts.
  int queue_per_instance = 10;
  std::string log_level = "info";  // --log-level: trace, debug, info, warn, error, off
  // --ready-file F: when set, the daemon writes {"gateway": URL, "admin": URL} there once
  // listening.
  std::filesystem::path ready_file;
  // --run-as USER: function processes (php-fpm masters included) run as this user; the daemon must
  // be root. Empty: they run as the daemon.
  std::string run_as;
  // How memorySize is enforced: auto (a memory cgroup per instance where the kernel lets the
  // daemon make one, else RLIMIT_DATA), cgroup (refuse to start without), rlimit, off.
  std::string memory_limit = "auto";
};

// Runs the platform until it is told to stop; returns the process exit code.
using ServeFn = std::function<int(const ServeOptions&)>;

// Parses argv (CLI11), runs the subcommand, returns the process exit code. Reads the process
// environment (CUTOVER_ADMIN, CUTOVER_TOKEN, NO_COLOR) and writes to std::cout / std::cerr.
int RunCli(int argc, char** argv, const ServeFn& serve);

// Everything RunCli takes from the process, so tests can run the CLI hermetically.
struct Environment {
  std::ostream* out = nullptr;  // REQUIRES: non-null
  std::ostream* err = nullptr;  // REQUIRES: non-null
  std::istream* in = nullptr;   // for `--data-file -`; may be null (stdin then unavailable)
  // Looks up an environment variable; an empty function means "no variables set".
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Colour is used only when this is true and NO_COLOR is not set to a non-empty value.
  bool stdout_is_terminal = false;
  // Waits between `logs --follow` polls; returns false to stop following (tests use it to end the
  // loop). Empty = sleep for the given time and keep going.
  std::function<bool(std::chrono::milliseconds)> wait;
};

// RunCli with the process replaced by `env`. `args` excludes the program name.
int RunCliWithEnvironment(const std::vector<std::string>& args, const Environment& env,
                          const ServeFn& serve);

}  // namespace cutover::cli
