// FpmPool: one function version served by a php-fpm master, the way Bref's FPM layer serves it
// inside Lambda, minus the PHP bootstrap hop: requests go to php-fpm's unix socket over FastCGI
// (fastcgi_client.h) straight from the caller.
//
// The master is started from a generated config (FpmConfigText) on the first request or on
// Prewarm: a unix socket in data_dir/fpm, `pm` sized from the function's concurrency,
// `clear_env = no` with the Lambda environment plus the function's own, worker output into the
// function's log, and `request_terminate_timeout` at the function's timeout, so php-fpm itself
// kills a script that runs past it (the request then fails: kTimeout). Requests that arrive while
// it starts wait for its socket (and report the wait as Init Duration); past max_queue they are
// throttled.
//
// Supervision, as InstancePool does for Runtime API instances:
//  * the master's exit is noticed at once (pidfd), else by Tick; an exit that nobody asked for is
//    a restart: it counts in PoolStats.restarts, requests in flight fail (kCrashed) and a new
//    master starts;
//  * a socket that refuses connections while the master runs, or three requests in a row failing
//    at the FastCGI level, or a request outliving the timeout by the backstop margin (php-fpm did
//    not kill it), restarts the master too;
//  * a master that does not open its socket within init_timeout, or exits while starting, fails
//    the waiting requests with kInitError; the next request tries again;
//  * idle for idle_timeout, or retired and drained: SIGTERM, SIGKILL after 2 s.
// A PHP fatal error is php-fpm's 500 response: kSuccess, as on Lambda + Bref.
//
// Every request writes START / END / REPORT lines, and php-fpm's FCGI_STDERR (error_log() and
// PHP's own messages) goes to the function's log in between; the version's line hook
// (RuntimeSettings::on_function_line) sees those lines and php-fpm's own output.
//
// Thread-safety: one mutex guards the state; the public methods may be called from any thread.
// Signals and reaping happen under the mutex; callbacks, launches and log writes after it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/fastcgi_client.h"
#include "runtime/function_logs.h"
#include "runtime/instance_pool.h"
#include "runtime/thread_annotations.h"
#include "runtime/version_pool.h"

namespace cutover::runtime {

struct FpmConfigInputs {
  std::string pool_name;  // [section] name
  std::filesystem::path pid_file;
  std::filesystem::path socket;
  int max_children = 1;
  int timeout_seconds = 6;  // request_terminate_timeout
};

// The php-fpm configuration text for `inputs`. Pure.
//   pm = static with max_children up to 16 children; dynamic beyond (start 8, spare 4..16), so a
//   large reservedConcurrency does not fork hundreds of idle PHP processes.
std::string FpmConfigText(const FpmConfigInputs& inputs);

// The number of php-fpm children for a function allowed `max_concurrency` concurrent
// executions: the same, capped at 256.
int FpmChildrenFor(int max_concurrency);

// The installed PHP version ("8.2.26") by running `php_cli -r 'echo PHP_VERSION;'` once per
// process (cached); empty when PHP cannot be run.
std::string InstalledPhpVersion(const std::filesystem::path& php_cli);

class FpmPool final : public VersionPool, public std::enable_shared_from_this<FpmPool> {
 public:
  static std::shared_ptr<FpmPool> Create(InstanceConfig config,
                                         std::shared_ptr<PoolEnvironment> env);
  FpmPool(InstanceConfig config, std::shared_ptr<PoolEnvironment> env);
  ~FpmPool() override;

  const InstanceConfig& config() const override { return config_; }
  void Invoke(Invocation invocation, InvokeCallback done) override;
  bool TakesHttp() const override { return true; }
  void InvokeHttp(HttpInvocation invocation, HttpCallback done) override;
  Status Prewarm(int count) override;
  void Retire() override;
  void Tick() override;
  PoolStats Stats() const override;
  int TakePeakConcurrency() override;
  void BeginShutdown() override;
  int ReapForShutdown(bool kill) override;
  bool Finished() const override;

  // The generated files, for tests and `cutover logs`.
  const std::filesystem::path& socket_path() const { return socket_; }
  const std::filesystem::path& config_path() const { return conf_; }
  // The master's pid, or -1 when none runs.
  pid_t master_pid() const;

 private:
  class Process;  // the I/O of one master: output pumps, exit watch, readiness poll

  enum class Phase { kStopped, kStarting, kReady, kStopping };

  struct Waiter {
    HttpInvocation invocation;
    HttpCallback done;
  };

  struct Send {
    HttpInvocation invocation;
    HttpCallback done;
    std::shared_ptr<fastcgi::FastCgiPool> fcgi;
    double init_duration_ms = 0;
  };

  // Side effects collected under the mutex and run after it is released.
  struct Deferred {
    std::string log;
    bool launch = false;
    uint64_t launch_generation = 0;
    std::vector<std::shared_ptr<Process>> close;
    std::vector<std::shared_ptr<fastcgi::FastCgiPool>> shutdown;
    std::vector<Send> sends;
    std::vector<std::pair<HttpCallback, HttpResult>> replies;
  };
  void Run(Deferred& d);
  void Launch(uint64_t generation);
  void SendNow(Send send);
  void OnReady(uint64_t generation);
  void OnStartTimeout(uint64_t generation);
  void OnExitSignalled(uint64_t generation);
  void OnFinished(uint64_t generation, const std::string& request_id,
                  std::chrono::steady_clock::time_point started, double init_duration_ms,
                  Result<fastcgi::FastCgiResponse> result, HttpCallback done);

  void StartLocked(Deferred& d) CUTOVER_REQUIRES(mu_);
  void StopLocked(int signal, Deferred& d) CUTOVER_REQUIRES(mu_);
  void RestartLocked(std::string_view why, Deferred& d) CUTOVER_REQUIRES(mu_);
  bool ReapLocked(Deferred& d) CUTOVER_REQUIRES(mu_);
  void FailWaitersLocked(InvokeOutcome outcome, std::string_view type, std::string_view message,
                         Deferred& d) CUTOVER_REQUIRES(mu_);
  HttpResult ErrorLocked(InvokeOutcome outcome, std::string_view type,
                         std::string_view message) const CUTOVER_REQUIRES(mu_);
  // Requests executing, as Lambda counts ConcurrentExecutions: those sent to php-fpm and those
  // waiting for it to start (a cold start, as an InstancePool counts one), but at most one per
  // php-fpm child: beyond that a request waits for a FastCGI connection, which is queueing.
  int ConcurrencyLocked() const CUTOVER_REQUIRES(mu_);

  const InstanceConfig config_;
  const std::shared_ptr<PoolEnvironment> env_;
  const std::shared_ptr<FunctionLog> log_;
  const LineHook line_hook_;  // PoolEnvironment::LineHookFor(config_.key); may be empty
  const std::filesystem::path dir_;
  const std::filesystem::path socket_;
  const std::filesystem::path conf_;
  const int children_;
  const bool binary_responses_;  // BREF_BINARY_RESPONSES in the function's environment

  mutable std::mutex mu_;
  Phase phase_ CUTOVER_GUARDED_BY(mu_) = Phase::kStopped;
  uint64_t generation_ CUTOVER_GUARDED_BY(mu_) = 0;  // +1 per start
  pid_t pid_ CUTOVER_GUARDED_BY(mu_) = -1;
  std::shared_ptr<Process> process_ CUTOVER_GUARDED_BY(mu_);
  std::shared_ptr<fastcgi::FastCgiPool> fcgi_ CUTOVER_GUARDED_BY(mu_);
  std::deque<Waiter> waiting_ CUTOVER_GUARDED_BY(mu_);
  int in_flight_ CUTOVER_GUARDED_BY(mu_) = 0;
  // The most ConcurrencyLocked() was since the last TakePeakConcurrency; it only rises where a
  // request arrives, so that is where it is updated.
  int peak_concurrency_ CUTOVER_GUARDED_BY(mu_) = 0;
  int failures_in_a_row_ CUTOVER_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point started_at_ CUTOVER_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point kill_at_ CUTOVER_GUARDED_BY(mu_);
  bool sigkill_sent_ CUTOVER_GUARDED_BY(mu_) = false;
  SystemTime last_used_ CUTOVER_GUARDED_BY(mu_);
  int64_t cold_starts_ CUTOVER_GUARDED_BY(mu_) = 0;
  int64_t restarts_ CUTOVER_GUARDED_BY(mu_) = 0;
  bool retired_ CUTOVER_GUARDED_BY(mu_) = false;
  bool shut_down_ CUTOVER_GUARDED_BY(mu_) = false;
  std::atomic<int> max_memory_mb_{0};
};

}  // namespace cutover::runtime
