// The runtime module: function instances as child processes, one invocation at a time each, reached
// over the Lambda Runtime API. This is the only module that forks, execs or signals.
//
// Callers (gateway workers, the admin API) call Invoke() from any thread; the result arrives
// through a callback that may run on any thread (the caller re-posts it to its own executor). The
// control loop calls Tick() to reap children, replace crashed instances and stop idle ones.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "runtime/fastcgi_params.h"
#include "runtime/fastcgi_protocol.h"
#include "runtime/memory_cgroup.h"
#include "runtime/run_as.h"

namespace cutover::runtime {

// Identifies one pool: a published version of a function (deployed name).
struct VersionKey {
  std::string function_name;
  uint32_t version = 0;
  auto operator<=>(const VersionKey&) const = default;
};

enum class RuntimeFamily { kProvided, kNode, kPython, kPhpFpm, kPhpFunction };

// Everything needed to start an instance of one version. Immutable once registered.
struct InstanceConfig {
  VersionKey key;
  RuntimeFamily family = RuntimeFamily::kProvided;
  std::string runtime_name;  // "provided.al2", "nodejs20.x", "python3.11" (AWS_EXECUTION_ENV, logs)
  std::string handler;       // _HANDLER
  std::filesystem::path task_root;  // LAMBDA_TASK_ROOT: the extracted package
  int timeout_ms = 6000;
  int memory_mb = 1024;
  std::string region = "us-east-1";
  std::map<std::string, std::string> environment;  // the function's own variables
  // AWS_SESSION_TOKEN: the daemon's secret that lets this code's AWS SDK calls through the admin
  // API (api::AdminSettings::instance_session_token); empty: a fixed placeholder.
  std::string session_token;
  int max_concurrency = 10;                        // instances; reservedConcurrency or the default
  int max_queue = 100;  // invocations waiting for an instance before throttling
};

struct Invocation {
  std::string request_id;
  std::string payload;  // the event JSON
  // "arn:aws:lambda:REGION:000000000000:function:NAME[:QUALIFIER]"; defaults to the version's ARN.
  std::string invoked_function_arn;
  std::string client_context;  // optional, already decoded JSON
  std::string trace_id;        // optional "Root=1-...;Parent=...;Sampled=0"; generated if empty
};

enum class InvokeOutcome {
  kSuccess,           // /response
  kFunctionError,     // /error (handled or unhandled)
  kTimeout,           // the function ran past its timeout; the instance was killed
  kCrashed,           // the process exited mid-invocation
  kInitError,         // /init/error, a missing or failing bootstrap
  kThrottled,         // no instance within max_concurrency and the wait queue was full
  kResponseTooLarge,  // response over 6 MB
  kRequestTooLarge,   // payload over 6 MB
  kNotFound,          // no such version registered
};
std::string_view InvokeOutcomeName(InvokeOutcome outcome);

struct InvokeResult {
  InvokeOutcome outcome = InvokeOutcome::kSuccess;
  std::string payload;  // response body, or the error document for errors
  std::string
      error_type;  // Lambda-Runtime-Function-Error-Type or errorType; "Sandbox.Timedout" etc.
  double duration_ms = 0;
  double init_duration_ms = 0;  // > 0 when this invocation paid a cold start
  uint32_t executed_version = 0;
};

using InvokeCallback = std::function<void(InvokeResult)>;

// An HTTP request for a version whose runtime takes HTTP itself (php-fpm): the gateway hands it
// over without building an event, as Bref's FPM layer would receive it after its own decoding.
struct HttpInvocation {
  std::string request_id;
  std::string invoked_function_arn;  // defaults to the version's ARN
  fastcgi::FastCgiHttpRequest request;  // task_root and handler are the pool's to fill in
  std::string body;
  // The caller's io_context: a new FastCGI connection for this request does its I/O there, which
  // saves a thread hop. Null: any of the service's contexts.
  boost::asio::io_context* context = nullptr;
};

struct HttpResult {
  // kSuccess: `response` holds what the script answered (a PHP fatal error is a kSuccess with
  // status 500, as on Lambda + Bref). kTimeout, kCrashed (php-fpm failed), kInitError (php-fpm did
  // not start), kThrottled, kResponseTooLarge, kNotFound otherwise, with `error_type`/`message`.
  InvokeOutcome outcome = InvokeOutcome::kSuccess;
  fastcgi::CgiResponse response;
  std::string error_type;
  std::string message;
  double duration_ms = 0;
  double init_duration_ms = 0;  // > 0 when this request waited for php-fpm to start
  uint32_t executed_version = 0;
};

using HttpCallback = std::function<void(HttpResult)>;

struct PoolStats {
  int instances = 0;
  int busy = 0;
  int queued = 0;
  int64_t cold_starts =
      0;                 // invocations that waited for an instance's init (reported Init Duration)
  int64_t restarts = 0;  // instances replaced after a crash or timeout
};

// One version's executions, for AWS/Lambda ConcurrentExecutions.
struct VersionConcurrency {
  VersionKey key;
  // The most invocations this version executed at once since the previous TakeConcurrency (at
  // least as many as execute now). Executing: an instance is assigned to it, its cold start
  // included; invocations waiting in the version's queue are not executing.
  int peak = 0;
};

struct RuntimeSettings {
  // Function logs under data_dir/logs/<function>/<version>.log; data_dir/runtime holds the python
  // bootstrap (when python_bootstrap is empty) and is LAMBDA_RUNTIME_DIR of provided runtimes.
  std::filesystem::path data_dir;
  std::filesystem::path node_ric_dir;      // contains node_modules/aws-lambda-ric
  std::filesystem::path python_bootstrap;  // empty: the embedded copy, written to data_dir/runtime
  std::filesystem::path php_cli = "php8.2";                // PHP CLI, for Bref function layers
  std::filesystem::path php_fpm = "/usr/sbin/php-fpm8.2";  // php-fpm, for Bref FPM layers
  // Limits of every function process, php-fpm masters included (LaunchSpec has the details):
  // RLIMIT_DATA at the version's memory_mb when limit_memory; RLIMIT_NPROC at max_processes (0:
  // none; per user, so it only matters with run_as); run_as: the user instances run as (`serve
  // --run-as`, looked up with LookUpUser), who must be able to read data_dir/runtime,
  // data_dir/code and node_ric_dir and reach data_dir/fpm: the service writes its bootstraps
  // world-readable and logs an error for any of them that the user cannot read.
  bool limit_memory = true;
  // With limit_memory: each instance in a memory cgroup of these instead of RLIMIT_DATA (`serve
  // --memory-limit`); null: RLIMIT_DATA.
  std::shared_ptr<MemoryCgroups> memory_cgroups;
  uint64_t max_processes = 1024;
  std::optional<UserAccount> run_as;
  // The signal a Runtime API instance gets when the daemon's thread that launched it ends
  // (LaunchSpec::parent_death_signal): `serve` sets SIGKILL, so a daemon killed outright leaves no
  // instance behind, such as a bootstrap in the style of AWS's tutorial that retries /next
  // forever. The thread must outlive the instance: serve launches from its worker and control
  // threads, which end after Shutdown(). 0: none (tests that invoke from short-lived threads).
  int instance_parent_death_signal = 0;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds init_timeout{std::chrono::seconds(10)};
  // Contexts the Runtime API endpoints run on (the daemon passes its worker contexts), one strand
  // per instance, instances spread round-robin. Must outlive the service and keep running until
  // Shutdown() returned. Empty: the service runs one context on a thread of its own.
  std::vector<boost::asio::io_context*> contexts;
  // Idle timeouts, log stream names and log timestamps; real time if null. Function and init
  // timeouts and Lambda-Runtime-Deadline-Ms use real time: the function measures against it.
  const Clock* clock = nullptr;
  // Optional: called with every line of a function's output that goes to its log, without the
  // newline: an instance's stdout and stderr (php-fpm's own output included) and the
  // FCGI_STDERR of each php-fpm request (error_log()). Lines over 256 KiB arrive in pieces, as they
  // are logged. Called from the instances' strands and FastCGI completions, on several threads at
  // once, never under a pool lock: it must be thread-safe and quick (it runs on the threads that
  // serve the Runtime API and the gateway). Empty: the runtime does no work for it.
  std::function<void(const VersionKey&, std::string_view line)> on_function_line;
};

class RuntimeService {
 public:
  virtual ~RuntimeService() = default;

  // Makes a version invocable. Idempotent: registering the same key again keeps the running
  // instances.
  virtual void Register(const InstanceConfig& config) = 0;
  // Stops the version's instances once their in-flight invocations end; new invocations get
  // kNotFound.
  virtual void Retire(const VersionKey& key) = 0;
  // Starts instances until `count` are running (capped at max_concurrency). Returns at once.
  virtual Status Prewarm(const VersionKey& key, int count) = 0;

  // Any thread. `done` is called exactly once, from any thread.
  virtual void Invoke(const VersionKey& key, Invocation invocation, InvokeCallback done) = 0;

  // Whether the version's runtime takes HTTP requests directly (php-fpm). For those the gateway
  // calls InvokeHttp; Invoke still works (the Invoke API), mapping the event as Bref does.
  virtual bool TakesHttp(const VersionKey& key) const = 0;
  // Any thread. `done` is called exactly once, from any thread. kNotFound when the version is not
  // registered or does not take HTTP.
  virtual void InvokeHttp(const VersionKey& key, HttpInvocation invocation, HttpCallback done) = 0;

  // Control loop: reap exited children, stop idle instances, fail invocations stuck past their
  // deadline.
  virtual void Tick() = 0;

  virtual PoolStats Stats(const VersionKey& key) const = 0;

  // Control loop, once per metrics tick: every version's peak concurrency since the previous call,
  // retired versions still draining included (a key may then appear twice: add them up). A peak
  // rather than a snapshot, so an invocation that starts and ends between two calls still counts.
  // Each call starts the next period, so there must be a single caller.
  virtual std::vector<VersionConcurrency> TakeConcurrency() { return {}; }

  // The PHP version this machine runs for PHP functions ("8.2.26"); empty when PHP cannot run.
  virtual std::string PhpVersion() const { return ""; }

  // Stops every instance and waits for them (SIGTERM, then SIGKILL after 2 s). In-flight and queued
  // invocations get kCrashed (error type "Runtime.Shutdown"); later ones kNotFound.
  virtual void Shutdown() = 0;
};

std::unique_ptr<RuntimeService> CreateRuntimeService(RuntimeSettings settings);

// A piece of one version's log and the byte offset where it ends, for `cutover logs --follow`.
struct LogChunk {
  std::string text;
  uint64_t end_offset = 0;
};
// Reads one version's log (version > 0) from byte `offset`, at most `max_bytes`, ending at a line
// boundary; with offset < 0, the last `max_bytes` (starting at a line boundary). An offset past the
// end of the file means the file was rotated since: the read starts at its beginning. NotFound when
// the version has no log yet.
Result<LogChunk> ReadFunctionLogChunk(const std::filesystem::path& data_dir,
                                      const std::string& function_name, uint32_t version,
                                      int64_t offset, size_t max_bytes);

// Reads a function's logs (all versions when version == 0). Returns at most the last `max_bytes`.
Result<std::string> ReadFunctionLogs(const std::filesystem::path& data_dir,
                                     const std::string& function_name, uint32_t version,
                                     size_t max_bytes);

}  // namespace cutover::runtime
