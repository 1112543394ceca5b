// InstancePool: the instances of one function version and the invocations waiting for them.
//
// Each instance runs one invocation at a time. Invoke() hands an invocation to a free instance (the
// most recently used first, so surplus instances go idle and get stopped; from a gateway worker's
// thread, one whose Runtime API runs on that worker's context first, and a new instance is placed
// there too), else starts a new one
// while fewer than max_concurrency exist (a cold start: the invocation waits for the instance's
// init and reports its Init Duration), else queues it up to max_queue, else answers kThrottled. An
// instance that finishes an invocation takes the next queued one before it even asks for it.
//
// Failures, per the Lambda semantics in aws-semantics.md 5.2:
//  * timeout: the instance's process group is killed, the invocation gets kTimeout, a replacement
//  starts
//    when there is demand for one;
//  * the process exits mid-invocation: kCrashed for that invocation only;
//  * /init/error, a missing or non-executable bootstrap, an exit during init or an init timeout:
//  kInitError
//    for the invocation waiting for that init and for every queued one;
//  * a crash or timeout counts as a restart in PoolStats.
//
// Thread-safety: one mutex guards all state. Invoke, Prewarm, Retire, Stats and the shutdown calls
// may come from any thread; Tick from the control loop; Handle* from the instances' strands.
// Signals and reaping happen under the mutex (so a reaped pid is never signalled); every other side
// effect (callbacks, process launches, posts to strands, log writes) after it is released.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "runtime/function_logs.h"
#include "runtime/instance_env.h"
#include "runtime/instance_io.h"
#include "runtime/process_launcher.h"
#include "runtime/runtime_api_state.h"
#include "runtime/runtime_service.h"
#include "runtime/thread_annotations.h"
#include "runtime/version_pool.h"

namespace cutover::runtime {

// What every pool of one RuntimeService shares. Immutable after creation (next_context aside).
struct PoolEnvironment {
  RuntimePaths paths;
  ProcessLimits limits;
  std::filesystem::path data_dir;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds init_timeout{std::chrono::seconds(10)};
  const Clock* clock = nullptr;  // never null (&real_clock when the settings gave none)
  RealClock real_clock;
  std::shared_ptr<ProcessLauncher> launcher;
  std::vector<boost::asio::io_context*> contexts;  // never empty
  std::atomic<size_t> next_context{0};
  // RuntimeSettings::on_function_line; may be empty.
  std::function<void(const VersionKey&, std::string_view line)> on_function_line;

  boost::asio::io_context& PickContext() { return *contexts[NextContext()]; }
  size_t NextContext() {
    return next_context.fetch_add(1, std::memory_order_relaxed) % contexts.size();
  }
  // The index in `contexts` of the one the calling thread runs, if it runs one of them.
  std::optional<size_t> ContextOfThisThread() const {
    for (size_t i = 0; i < contexts.size(); ++i) {
      if (contexts[i]->get_executor().running_in_this_thread()) return i;
    }
    return std::nullopt;
  }
  // on_function_line bound to one version's key (a copy: it outlives nothing); empty when
  // on_function_line is.
  LineHook LineHookFor(const VersionKey& key) const {
    if (!on_function_line) return {};
    return [hook = on_function_line, key](std::string_view line) { hook(key, line); };
  }
};

// {"errorMessage": message, "errorType": type}
std::string ErrorDocument(std::string_view type, std::string_view message);
InvokeResult ErrorResult(InvokeOutcome outcome, std::string_view type, std::string_view message);

class InstancePool final : public VersionPool, public std::enable_shared_from_this<InstancePool> {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  static std::shared_ptr<InstancePool> Create(InstanceConfig config,
                                              std::shared_ptr<PoolEnvironment> env);

  const InstanceConfig& config() const override { return config_; }
  // The version's line hook (PoolEnvironment::LineHookFor), for its instances' output pumps.
  const LineHook& line_hook() const { return line_hook_; }

  void Invoke(Invocation invocation, InvokeCallback done) override;
  Status Prewarm(int count) override;
  // No new invocations; instances stop once the queue is drained and they are idle.
  void Retire() override;
  // Reap exits, expire deadlines (backstop for the instances' timers), stop idle instances,
  // escalate stops to SIGKILL after 2 s, flush the log.
  void Tick() override;
  PoolStats Stats() const override;
  int TakePeakConcurrency() override;

  // Shutdown, in two steps so the service can wait for all pools together: fail everything in
  // flight and SIGTERM every process; then reap (with `kill`, SIGKILL what is left). Returns
  // processes not reaped.
  void BeginShutdown() override;
  int ReapForShutdown(bool kill) override;
  // Retired, and no process or invocation left.
  bool Finished() const override;

  // Runtime API and I/O events of one instance; called on that instance's strand.
  NextAction HandleNext(uint64_t instance);
  ApiReply HandleResponse(uint64_t instance, std::string_view request_id, std::string body,
                          bool over_limit, int max_memory_mb);
  ApiReply HandleError(uint64_t instance, std::string_view request_id, std::string error_type,
                       std::string body, int max_memory_mb);
  ApiReply HandleInitError(uint64_t instance, std::string error_type, std::string body);
  void HandleUndeliverable(uint64_t instance, NextEvent event);
  void HandleExit(uint64_t instance);
  // The instance's timer fired. Returns the deadline to wait for next, if any.
  std::optional<TimePoint> HandleDeadline(uint64_t instance, int max_memory_mb);

  InstancePool(InstanceConfig config, std::shared_ptr<PoolEnvironment> env);

 private:
  struct Pending {
    Invocation invocation;
    InvokeCallback done;
  };

  enum class Phase {
    kLaunching,  // the slot exists (and counts against max_concurrency); the process is being
                 // started
    kLive,
    kStopping,  // signalled; waiting to be reaped
  };

  struct Slot {
    std::shared_ptr<InstanceIo> io;
    Phase phase = Phase::kLaunching;
    pid_t pid = -1;
    RuntimeApiState api;
    std::optional<Pending> current;  // assigned: pending, or delivered to the runtime
    bool paid_init = false;          // `current` was assigned before init ended (cold start)
    bool in_free_list = false;
    bool stop_requested = false;  // stopped while launching: Launch signals it
    bool sigkill_sent = false;
    TimePoint spawned_at;
    TimePoint delivered_at;
    TimePoint kill_at;                  // kStopping: when to escalate to SIGKILL
    std::optional<TimePoint> deadline;  // init deadline, then the current invocation's
    double init_duration_ms = 0;
    SystemTime last_used;  // Clock time, for the idle timeout
    int max_memory_mb = 0;
    std::filesystem::path cgroup;  // its memory cgroup (MemoryCgroups), or empty
    size_t context = 0;            // its InstanceIo's, an index in PoolEnvironment::contexts
  };

  // Side effects collected under the mutex and run after it is released.
  struct Deferred {
    std::string log;
    std::vector<std::pair<std::shared_ptr<InstanceIo>, NextEvent>> deliveries;
    std::vector<std::shared_ptr<InstanceIo>> close_endpoints;
    std::vector<std::shared_ptr<InstanceIo>> close_all;
    std::vector<std::shared_ptr<InstanceIo>> launches;
    std::vector<std::pair<InvokeCallback, InvokeResult>> replies;
    std::vector<std::filesystem::path> release_cgroups;
  };
  void Run(Deferred& d);
  void Launch(const std::shared_ptr<InstanceIo>& io);
  void LaunchFailed(uint64_t id, std::string_view error_type, std::string_view message);

  Slot* Find(uint64_t id) CUTOVER_REQUIRES(mu_);
  // A free instance: the most recently used one on context `near` when one of the last few freed
  // is there, else the most recently used of all.
  std::pair<uint64_t, Slot*> PickFreeLocked(std::optional<size_t> near = std::nullopt)
      CUTOVER_REQUIRES(mu_);
  void PushFreeLocked(uint64_t id, Slot& s) CUTOVER_REQUIRES(mu_);
  // A new instance whose Runtime API runs on contexts[context].
  void NewSlotLocked(std::optional<Pending> pending, size_t context, Deferred& d)
      CUTOVER_REQUIRES(mu_);
  void AssignLocked(uint64_t id, Slot& s, Pending pending, Deferred& d) CUTOVER_REQUIRES(mu_);
  // The slot's invocation is gone (answered, failed or requeued). With AssignLocked, the only
  // places `current` changes, so busy_ stays the number of slots holding one.
  void ClearCurrentLocked(Slot& s) CUTOVER_REQUIRES(mu_);
  NextEvent MakeEventLocked(Slot& s, Deferred& d) CUTOVER_REQUIRES(mu_);
  void FinishLocked(uint64_t id, Slot& s, InvokeResult result, Deferred& d,
                    std::string_view report_status = {}, std::string_view report_error = {})
      CUTOVER_REQUIRES(mu_);
  void ReleaseLocked(uint64_t id, Slot& s, Deferred& d) CUTOVER_REQUIRES(mu_);
  void DispatchQueueLocked(Deferred& d) CUTOVER_REQUIRES(mu_);
  void FailInitLocked(Slot& s, std::string_view error_type, std::string_view message,
                      std::string payload, Deferred& d) CUTOVER_REQUIRES(mu_);
  void StopLocked(Slot& s, int signal, Deferred& d) CUTOVER_REQUIRES(mu_);
  void ExpireLocked(uint64_t id, Slot& s, Deferred& d) CUTOVER_REQUIRES(mu_);
  void ExitedLocked(uint64_t id, Slot& s, const ExitStatus& status, Deferred& d)
      CUTOVER_REQUIRES(mu_);
  bool ReapLocked(uint64_t id, Slot& s, Deferred& d) CUTOVER_REQUIRES(mu_);
  void FailQueueLocked(InvokeOutcome outcome, std::string_view type, std::string_view message,
                       Deferred& d) CUTOVER_REQUIRES(mu_);

  const InstanceConfig config_;
  const std::shared_ptr<PoolEnvironment> env_;
  const std::shared_ptr<FunctionLog> log_;
  const LineHook line_hook_;

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Slot> slots_ CUTOVER_GUARDED_BY(mu_);
  std::vector<uint64_t> free_ CUTOVER_GUARDED_BY(mu_);  // LIFO; entries may be stale
  std::deque<Pending> queue_ CUTOVER_GUARDED_BY(mu_);
  uint64_t next_id_ CUTOVER_GUARDED_BY(mu_) = 1;
  int live_ CUTOVER_GUARDED_BY(mu_) = 0;  // slots launching or live
  // Slots holding an invocation (PoolStats::busy), and the most there were since the last
  // TakePeakConcurrency: counted where it changes, so the metrics tick misses no short burst.
  int busy_ CUTOVER_GUARDED_BY(mu_) = 0;
  int peak_busy_ CUTOVER_GUARDED_BY(mu_) = 0;
  int64_t cold_starts_ CUTOVER_GUARDED_BY(mu_) = 0;
  int64_t restarts_ CUTOVER_GUARDED_BY(mu_) = 0;
  bool retired_ CUTOVER_GUARDED_BY(mu_) = false;
  bool shut_down_ CUTOVER_GUARDED_BY(mu_) = false;
};

}  // namespace cutover::runtime
