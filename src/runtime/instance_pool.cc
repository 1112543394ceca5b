#include "runtime/instance_pool.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <ctime>

#include "common/ids.h"
#include "common/random.h"

namespace cutover::runtime {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Lambda's shutdown grace: SIGTERM, then SIGKILL after 2 s (aws-semantics.md 5.2).
constexpr auto kStopGrace = std::chrono::seconds(2);

double MillisBetween(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

Random& ThreadRandom() {
  thread_local Random random = Random::FromEntropy();
  return random;
}

// X-Ray's trace header shape; the runtime exports it as _X_AMZN_TRACE_ID.
std::string NewTraceId() {
  Random& r = ThreadRandom();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  return fmt::format("Root=1-{:08x}-{:08x}{:016x};Parent={:016x};Sampled=0",
                     static_cast<uint32_t>(seconds), static_cast<uint32_t>(r.Next()), r.Next(),
                     r.Next());
}

}  // namespace

std::string ErrorDocument(std::string_view type, std::string_view message) {
  boost::json::object o;
  o["errorMessage"] = message;
  o["errorType"] = type;
  return boost::json::serialize(o);
}

InvokeResult ErrorResult(InvokeOutcome outcome, std::string_view type, std::string_view message) {
  InvokeResult r;
  r.outcome = outcome;
  r.error_type = std::string(type);
  r.payload = ErrorDocument(type, message);
  return r;
}

std::shared_ptr<InstancePool> InstancePool::Create(InstanceConfig config,
                                                   std::shared_ptr<PoolEnvironment> env) {
  return std::make_shared<InstancePool>(std::move(config), std::move(env));
}

InstancePool::InstancePool(InstanceConfig config, std::shared_ptr<PoolEnvironment> env)
    : config_(std::move(config)),
      env_(std::move(env)),
      log_(FunctionLog::Open(env_->data_dir, config_.key.function_name, config_.key.version)),
      line_hook_(env_->LineHookFor(config_.key)) {}

// ---- Requests from callers ----

void InstancePool::Invoke(Invocation invocation, InvokeCallback done) {
  if (invocation.payload.size() > kMaxPayloadBytes) {
    InvokeResult r = ErrorResult(
        InvokeOutcome::kRequestTooLarge, "RequestTooLargeException",
        fmt::format("Request must be smaller than {} bytes for the InvokeFunction operation",
                    kMaxPayloadBytes));
    r.executed_version = config_.key.version;
    done(std::move(r));
    return;
  }
  if (invocation.request_id.empty()) invocation.request_id = NewRequestId(ThreadRandom());
  if (invocation.invoked_function_arn.empty()) {
    invocation.invoked_function_arn =
        fmt::format("arn:aws:lambda:{}:000000000000:function:{}:{}", config_.region,
                    config_.key.function_name, config_.key.version);
  }

  // Called on a gateway worker's thread, the invocation goes to an instance on that worker's
  // context where there is one: no hand-off to another thread, and with pinned workers
  // (common/cpu_affinity.h) the daemon's side of the invocation stays on one core.
  const std::optional<size_t> here = env_->ContextOfThisThread();
  Deferred d;
  {
    std::lock_guard lock(mu_);
    Pending pending{std::move(invocation), std::move(done)};
    if (retired_) {
      InvokeResult r = ErrorResult(
          InvokeOutcome::kNotFound, "ResourceNotFoundException",
          fmt::format("Function not found: {}:{}", config_.key.function_name, config_.key.version));
      d.replies.emplace_back(std::move(pending.done), std::move(r));
    } else if (auto [id, slot] = PickFreeLocked(here); slot != nullptr) {
      AssignLocked(id, *slot, std::move(pending), d);
    } else if (live_ < config_.max_concurrency) {
      NewSlotLocked(std::move(pending), here ? *here : env_->NextContext(), d);
    } else if (config_.max_concurrency > 0 &&
               queue_.size() < static_cast<size_t>(std::max(0, config_.max_queue))) {
      queue_.push_back(std::move(pending));
    } else {
      InvokeResult r =
          ErrorResult(InvokeOutcome::kThrottled, "TooManyRequestsException", "Rate Exceeded.");
      r.executed_version = config_.key.version;
      d.replies.emplace_back(std::move(pending.done), std::move(r));
    }
  }
  Run(d);
}

Status InstancePool::Prewarm(int count) {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    if (retired_) return NotFound("version is retired");
    int target = std::min(count, config_.max_concurrency);
    while (live_ < target) NewSlotLocked(std::nullopt, env_->NextContext(), d);
  }
  Run(d);
  return Status::Ok();
}

void InstancePool::Retire() {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    retired_ = true;
    if (queue_.empty()) {
      for (auto& [id, s] : slots_) {
        if (!s.current && s.phase != Phase::kStopping) StopLocked(s, SIGTERM, d);
      }
    }
  }
  Run(d);
}

void InstancePool::Tick() {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    auto now = SteadyClock::now();
    SystemTime wall = env_->clock->Now();
    std::vector<uint64_t> ids;
    ids.reserve(slots_.size());
    for (const auto& [id, s] : slots_) ids.push_back(id);
    for (uint64_t id : ids) {
      Slot* s = Find(id);
      if (s == nullptr) continue;
      if (s->pid > 0 && ReapLocked(id, *s, d)) continue;
      if (s->phase == Phase::kStopping) {
        if (s->pid > 0 && !s->sigkill_sent && now >= s->kill_at) {
          env_->launcher->SignalGroup(s->pid, SIGKILL);
          s->sigkill_sent = true;
        }
        continue;
      }
      if (s->phase == Phase::kLaunching) continue;
      if (s->deadline && now >= *s->deadline) {
        ExpireLocked(id, *s, d);
        continue;
      }
      ApiState st = s->api.state();
      bool idle = !s->current && (st == ApiState::kWaiting || st == ApiState::kReady);
      if (idle && ((retired_ && queue_.empty()) || wall - s->last_used >= env_->idle_timeout)) {
        StopLocked(*s, SIGTERM, d);
      }
    }
  }
  Run(d);
  log_->Flush();
}

PoolStats InstancePool::Stats() const {
  std::lock_guard lock(mu_);
  PoolStats st;
  st.instances = live_;
  st.busy = busy_;
  st.queued = static_cast<int>(queue_.size());
  st.cold_starts = cold_starts_;
  st.restarts = restarts_;
  return st;
}

int InstancePool::TakePeakConcurrency() {
  std::lock_guard lock(mu_);
  const int peak = peak_busy_;
  peak_busy_ = busy_;
  return peak;
}

void InstancePool::BeginShutdown() {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    retired_ = true;
    constexpr std::string_view kType = "Runtime.Shutdown";
    FailQueueLocked(InvokeOutcome::kCrashed, kType, "cutover is shutting down", d);
    for (auto& [id, s] : slots_) {
      if (s.current) {
        std::string message = fmt::format("RequestId: {} Error: cutover is shutting down",
                                          s.current->invocation.request_id);
        InvokeResult r = ErrorResult(InvokeOutcome::kCrashed, kType, message);
        r.executed_version = config_.key.version;
        d.replies.emplace_back(std::move(s.current->done), std::move(r));
        ClearCurrentLocked(s);
      }
      StopLocked(s, SIGTERM, d);
    }
  }
  Run(d);
  log_->Flush();
}

int InstancePool::ReapForShutdown(bool kill) {
  Deferred d;
  int remaining = 0;
  {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> ids;
    for (const auto& [id, s] : slots_) ids.push_back(id);
    for (uint64_t id : ids) {
      Slot& s = slots_.at(id);
      if (s.pid <= 0) {  // still launching; Launch records the pid and kills it
        ++remaining;
        continue;
      }
      if (ReapLocked(id, s, d)) continue;
      if (kill && !s.sigkill_sent) {
        env_->launcher->SignalGroup(s.pid, SIGKILL);
        s.sigkill_sent = true;
      }
      ++remaining;
    }
  }
  Run(d);
  log_->Flush();
  return remaining;
}

bool InstancePool::Finished() const {
  std::lock_guard lock(mu_);
  return retired_ && slots_.empty() && queue_.empty();
}

// ---- Runtime API and I/O events ----

NextAction InstancePool::HandleNext(uint64_t instance) {
  Deferred d;
  NextAction action;
  {
    std::lock_guard lock(mu_);
    Slot* s = Find(instance);
    if (s == nullptr || s->phase == Phase::kStopping) {
      action.kind = RuntimeApiState::NextKind::kReject;
      action.reply = ContainerErrorReply("the instance is stopping");
      return action;
    }
    RuntimeApiState::NextResult r = s->api.OnNext();
    if (r.init_done) {
      s->init_duration_ms = MillisBetween(s->spawned_at, SteadyClock::now());
      if (s->current) {
        ++cold_starts_;
      } else {
        s->deadline.reset();
      }
    }
    action.kind = r.kind;
    if (r.kind == RuntimeApiState::NextKind::kDeliver) {
      action.event = MakeEventLocked(*s, d);
    } else if (r.kind == RuntimeApiState::NextKind::kReject) {
      action.reply = std::move(r.reply);
    }
  }
  Run(d);
  return action;
}

ApiReply InstancePool::HandleResponse(uint64_t instance, std::string_view request_id,
                                      std::string body, bool over_limit, int max_memory_mb) {
  Deferred d;
  ApiReply reply;
  {
    std::lock_guard lock(mu_);
    Slot* s = Find(instance);
    if (s == nullptr || s->phase == Phase::kStopping) {
      return ContainerErrorReply("the instance is stopping");
    }
    if (max_memory_mb > 0) s->max_memory_mb = max_memory_mb;
    RuntimeApiState::PostResult r =
        s->api.OnResponse(request_id, over_limit ? kMaxPayloadBytes + 1 : body.size());
    reply = std::move(r.reply);
    if (r.completion == Completion::kResponse) {
      InvokeResult result;
      result.outcome = InvokeOutcome::kSuccess;
      result.payload = std::move(body);
      FinishLocked(instance, *s, std::move(result), d);
      ReleaseLocked(instance, *s, d);
    } else if (r.completion == Completion::kResponseTooLarge) {
      constexpr std::string_view kType = "Function.ResponseSizeTooLarge";
      FinishLocked(instance, *s,
                   ErrorResult(InvokeOutcome::kResponseTooLarge, kType,
                               fmt::format("Response payload size exceeded maximum allowed payload "
                                           "size ({} bytes).",
                                           kMaxPayloadBytes)),
                   d, "error", kType);
      ReleaseLocked(instance, *s, d);
    }
  }
  Run(d);
  return reply;
}

ApiReply InstancePool::HandleError(uint64_t instance, std::string_view request_id,
                                   std::string error_type, std::string body, int max_memory_mb) {
  Deferred d;
  ApiReply reply;
  {
    std::lock_guard lock(mu_);
    Slot* s = Find(instance);
    if (s == nullptr || s->phase == Phase::kStopping) {
      return ContainerErrorReply("the instance is stopping");
    }
    if (max_memory_mb > 0) s->max_memory_mb = max_memory_mb;
    RuntimeApiState::PostResult r = s->api.OnError(request_id);
    reply = std::move(r.reply);
    if (r.completion == Completion::kError) {
      InvokeResult result;
      result.outcome = InvokeOutcome::kFunctionError;
      result.error_type = std::move(error_type);
      result.payload = std::move(body);
      FinishLocked(instance, *s, std::move(result), d);
      ReleaseLocked(instance, *s, d);
    }
  }
  Run(d);
  return reply;
}

ApiReply InstancePool::HandleInitError(uint64_t instance, std::string error_type,
                                       std::string body) {
  Deferred d;
  ApiReply reply;
  {
    std::lock_guard lock(mu_);
    Slot* s = Find(instance);
    if (s == nullptr || s->phase == Phase::kStopping) {
      return ContainerErrorReply("the instance is stopping");
    }
    RuntimeApiState::PostResult r = s->api.OnInitError();
    reply = std::move(r.reply);
    if (r.completion == Completion::kInitError) {
      d.log += fmt::format(
          "INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\tError Type: {}\n",
          MillisBetween(s->spawned_at, SteadyClock::now()), error_type);
      std::string message = fmt::format("the function's init failed: {}", error_type);
      FailInitLocked(*s, error_type, message, std::move(body), d);
      StopLocked(*s, SIGTERM, d);
    }
  }
  Run(d);
  return reply;
}

void InstancePool::HandleUndeliverable(uint64_t instance, NextEvent event) {
  std::lock_guard lock(mu_);
  Slot* s = Find(instance);
  if (s == nullptr || s->phase == Phase::kStopping || !s->current) return;
  if (s->api.state() != ApiState::kInvoking || s->api.request_id() != event.request_id) return;
  s->api.Undeliverable();
  s->current->invocation.payload = std::move(event.payload);
}

void InstancePool::HandleExit(uint64_t instance) {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    Slot* s = Find(instance);
    if (s == nullptr || s->pid <= 0) return;
    ReapLocked(instance, *s, d);
  }
  Run(d);
}

std::optional<InstancePool::TimePoint> InstancePool::HandleDeadline(uint64_t instance,
                                                                    int max_memory_mb) {
  Deferred d;
  std::optional<TimePoint> next;
  {
    std::lock_guard lock(mu_);
    Slot* s = Find(instance);
    if (s == nullptr || s->phase == Phase::kStopping || !s->deadline) return std::nullopt;
    if (max_memory_mb > 0) s->max_memory_mb = max_memory_mb;
    if (SteadyClock::now() < *s->deadline) {
      next = s->deadline;
    } else {
      ExpireLocked(instance, *s, d);
    }
  }
  Run(d);
  return next;
}

// ---- Internals (mutex held) ----

InstancePool::Slot* InstancePool::Find(uint64_t id) {
  auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : &it->second;
}

std::pair<uint64_t, InstancePool::Slot*> InstancePool::PickFreeLocked(std::optional<size_t> near) {
  // Look at the few most recently freed only, so a pool with many idle instances pays no more per
  // invocation than a small one.
  constexpr size_t kNearScan = 16;
  if (near) {
    const size_t stop = free_.size() > kNearScan ? free_.size() - kNearScan : 0;
    for (size_t i = free_.size(); i-- > stop;) {
      Slot* s = Find(free_[i]);
      if (s == nullptr || !s->in_free_list || s->context != *near) continue;
      if (s->phase == Phase::kStopping || !s->api.CanAssign()) continue;
      const uint64_t id = free_[i];
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      s->in_free_list = false;
      return {id, s};
    }
  }
  while (!free_.empty()) {
    uint64_t id = free_.back();
    free_.pop_back();
    Slot* s = Find(id);
    if (s == nullptr || !s->in_free_list) continue;  // a stale entry
    s->in_free_list = false;
    if (s->phase == Phase::kStopping || !s->api.CanAssign()) continue;
    return {id, s};
  }
  return {0, nullptr};
}

void InstancePool::ClearCurrentLocked(Slot& s) {
  s.current.reset();
  --busy_;
}

void InstancePool::PushFreeLocked(uint64_t id, Slot& s) {
  if (s.in_free_list) return;
  s.in_free_list = true;
  free_.push_back(id);
}

void InstancePool::NewSlotLocked(std::optional<Pending> pending, size_t context, Deferred& d) {
  uint64_t id = next_id_++;
  auto io = std::make_shared<InstanceIo>(id, weak_from_this(), *env_->contexts[context], log_);
  Slot& s = slots_[id];
  s.io = io;
  s.context = context;
  s.phase = Phase::kLaunching;
  s.spawned_at = SteadyClock::now();
  s.deadline = s.spawned_at + env_->init_timeout;
  s.last_used = env_->clock->Now();
  ++live_;
  if (pending) {
    AssignLocked(id, s, std::move(*pending), d);
  } else {
    PushFreeLocked(id, s);
  }
  d.launches.push_back(std::move(io));
}

void InstancePool::AssignLocked(uint64_t id, Slot& s, Pending pending, Deferred& d) {
  auto now = SteadyClock::now();
  bool initializing = s.api.state() == ApiState::kInitializing;
  s.paid_init = initializing;
  s.delivered_at = now;
  std::string request_id = pending.invocation.request_id;
  s.current = std::move(pending);
  if (++busy_ > peak_busy_) peak_busy_ = busy_;
  // The function's time starts when the runtime receives the event (MakeEventLocked). Until then an
  // instance past its init gets the same allowance to come and fetch it (a hung runtime is caught);
  // one still in init keeps its init deadline.
  if (!initializing) s.deadline = now + std::chrono::milliseconds(config_.timeout_ms);
  if (s.api.Assign(std::move(request_id))) d.deliveries.emplace_back(s.io, MakeEventLocked(s, d));
}

NextEvent InstancePool::MakeEventLocked(Slot& s, Deferred& d) {
  auto now = SteadyClock::now();
  Invocation& inv = s.current->invocation;
  NextEvent event;
  event.request_id = inv.request_id;
  event.payload = std::move(inv.payload);
  event.invoked_function_arn = inv.invoked_function_arn;
  event.trace_id = inv.trace_id.empty() ? NewTraceId() : inv.trace_id;
  event.client_context = inv.client_context;
  s.deadline = now + std::chrono::milliseconds(config_.timeout_ms);
  s.delivered_at = now;
  event.timeout_at = *s.deadline;
  // The function compares the deadline with its own wall clock, so it is real time even when the
  // daemon runs on a scaled clock.
  event.deadline_epoch_ms =
      ToEpochMillis(std::chrono::system_clock::now()) +
      std::chrono::duration_cast<std::chrono::milliseconds>(*s.deadline - now).count();
  d.log += FormatStartLine(event.request_id, config_.key.version);
  return event;
}

void InstancePool::FinishLocked(uint64_t id, Slot& s, InvokeResult result, Deferred& d,
                                std::string_view report_status, std::string_view report_error) {
  Pending p = std::move(*s.current);
  ClearCurrentLocked(s);
  s.deadline.reset();
  result.duration_ms = MillisBetween(s.delivered_at, SteadyClock::now());
  result.init_duration_ms = s.paid_init ? s.init_duration_ms : 0;
  result.executed_version = config_.key.version;
  s.paid_init = false;
  const std::string& request_id = p.invocation.request_id;
  d.log += FormatEndLine(request_id);
  d.log += FormatReportLine(ReportLine{.request_id = request_id,
                                       .duration_ms = result.duration_ms,
                                       .memory_size_mb = config_.memory_mb,
                                       .max_memory_used_mb = s.max_memory_mb,
                                       .init_duration_ms = result.init_duration_ms,
                                       .status = report_status,
                                       .error_type = report_error});
  d.replies.emplace_back(std::move(p.done), std::move(result));
  s.last_used = env_->clock->Now();
}

void InstancePool::ReleaseLocked(uint64_t id, Slot& s, Deferred& d) {
  if (!queue_.empty()) {
    Pending next = std::move(queue_.front());
    queue_.pop_front();
    AssignLocked(id, s, std::move(next), d);
    return;
  }
  if (retired_) {
    StopLocked(s, SIGTERM, d);
    return;
  }
  PushFreeLocked(id, s);
}

void InstancePool::DispatchQueueLocked(Deferred& d) {
  while (!queue_.empty()) {
    auto [id, slot] = PickFreeLocked();
    if (slot == nullptr && (shut_down_ || live_ >= config_.max_concurrency)) return;
    Pending next = std::move(queue_.front());
    queue_.pop_front();
    if (slot != nullptr) {
      AssignLocked(id, *slot, std::move(next), d);
    } else {
      NewSlotLocked(std::move(next), env_->NextContext(), d);  // the lazy replacement
    }
  }
}

void InstancePool::FailQueueLocked(InvokeOutcome outcome, std::string_view type,
                                   std::string_view message, Deferred& d) {
  while (!queue_.empty()) {
    InvokeResult r = ErrorResult(outcome, type, message);
    r.executed_version = config_.key.version;
    d.replies.emplace_back(std::move(queue_.front().done), std::move(r));
    queue_.pop_front();
  }
}

void InstancePool::FailInitLocked(Slot& s, std::string_view error_type, std::string_view message,
                                  std::string payload, Deferred& d) {
  if (s.current) {
    InvokeResult r;
    r.outcome = InvokeOutcome::kInitError;
    r.error_type = std::string(error_type);
    r.payload = std::move(payload);
    r.executed_version = config_.key.version;
    d.replies.emplace_back(std::move(s.current->done), std::move(r));
    ClearCurrentLocked(s);
  }
  FailQueueLocked(InvokeOutcome::kInitError, error_type, message, d);
}

void InstancePool::StopLocked(Slot& s, int signal, Deferred& d) {
  if (s.phase == Phase::kStopping) {
    if (signal == SIGKILL && s.pid > 0 && !s.sigkill_sent) {
      env_->launcher->SignalGroup(s.pid, SIGKILL);
      s.sigkill_sent = true;
    }
    return;
  }
  bool launching = s.phase == Phase::kLaunching;
  --live_;
  s.phase = Phase::kStopping;
  s.in_free_list = false;
  s.deadline.reset();
  s.kill_at = SteadyClock::now() + kStopGrace;
  if (launching) {
    s.stop_requested = true;  // Launch signals it once the pid is known
    return;
  }
  // Signalled under the mutex: reaping happens under it too, so the pid cannot have been reused.
  env_->launcher->SignalGroup(s.pid, signal);
  if (signal == SIGKILL) s.sigkill_sent = true;
  d.close_endpoints.push_back(s.io);
}

void InstancePool::ExpireLocked(uint64_t id, Slot& s, Deferred& d) {
  if (s.api.state() == ApiState::kInitializing) {
    double seconds = std::chrono::duration<double>(env_->init_timeout).count();
    std::string message = fmt::format("Init phase timed out after {:.2f} seconds", seconds);
    d.log += fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: timeout\n",
                         MillisBetween(s.spawned_at, SteadyClock::now()));
    FailInitLocked(s, "Sandbox.Timedout", message, ErrorDocument("Sandbox.Timedout", message), d);
    StopLocked(s, SIGKILL, d);
  } else if (s.current) {
    ++restarts_;
    double seconds = config_.timeout_ms / 1000.0;
    const std::string request_id = s.current->invocation.request_id;
    d.log += fmt::format("{} {} Task timed out after {:.2f} seconds\n",
                         FormatLogTimestamp(env_->clock->Now()), request_id, seconds);
    std::string message = fmt::format("RequestId: {} Error: Task timed out after {:.2f} seconds",
                                      request_id, seconds);
    FinishLocked(id, s, ErrorResult(InvokeOutcome::kTimeout, "Sandbox.Timedout", message), d,
                 "timeout");
    StopLocked(s, SIGKILL, d);
  } else {
    s.deadline.reset();
  }
  DispatchQueueLocked(d);
}

bool InstancePool::ReapLocked(uint64_t id, Slot& s, Deferred& d) {
  std::optional<ExitStatus> status = env_->launcher->TryReap(s.pid);
  if (!status) return false;
  ExitedLocked(id, s, *status, d);
  return true;
}

void InstancePool::ExitedLocked(uint64_t id, Slot& s, const ExitStatus& status, Deferred& d) {
  d.close_all.push_back(s.io);
  // Killed by the kernel at its memory cgroup's limit: Lambda's Runtime.OutOfMemory, and the peak
  // the kernel measured for the whole process tree.
  std::string_view exit_error = "Runtime.ExitError";
  if (!s.cgroup.empty()) {
    CgroupUsage usage = env_->limits.cgroups->Usage(s.cgroup);
    // The counter covers the instance's life: a child killed earlier does not make a later crash
    // of the process itself an OOM, unless the kernel's SIGKILL is what ended it.
    if (usage.oom_kills > 0 && status.signal == SIGKILL) exit_error = "Runtime.OutOfMemory";
    s.max_memory_mb =
        std::max(s.max_memory_mb, static_cast<int>((usage.peak_bytes + (1 << 20) - 1) >> 20));
    d.release_cgroups.push_back(s.cgroup);
  }
  if (s.phase != Phase::kStopping) {
    --live_;
    std::string how = status.Describe();
    if (s.api.state() == ApiState::kInitializing) {
      std::string message = fmt::format("Runtime exited with error: {}", how);
      d.log += fmt::format(
          "INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\tError Type: "
          "{}\n{}\n",
          MillisBetween(s.spawned_at, SteadyClock::now()), exit_error, message);
      FailInitLocked(s, exit_error, message, ErrorDocument(exit_error, message), d);
    } else if (s.current && s.api.state() == ApiState::kInvoking) {
      ++restarts_;
      std::string message = fmt::format("RequestId: {} Error: Runtime exited with error: {}",
                                        s.current->invocation.request_id, how);
      d.log += fmt::format("{}\n{}\n", message, exit_error);
      FinishLocked(id, s, ErrorResult(InvokeOutcome::kCrashed, exit_error, message), d, "error",
                   exit_error);
    } else {
      ++restarts_;
      d.log += fmt::format("cutover: instance exited between invocations: {}\n", how);
      if (s.current) {
        // Assigned but never delivered: it did not run, so it waits for another instance.
        queue_.push_front(std::move(*s.current));
        ClearCurrentLocked(s);
      }
    }
  } else if (s.current) {
    // Cannot happen today (stops happen without an invocation or after answering it); never drop
    // one.
    InvokeResult r = ErrorResult(InvokeOutcome::kCrashed, "Runtime.ExitError", status.Describe());
    r.executed_version = config_.key.version;
    d.replies.emplace_back(std::move(s.current->done), std::move(r));
    ClearCurrentLocked(s);
  }
  slots_.erase(id);
  DispatchQueueLocked(d);
}

// ---- Outside the mutex ----

void InstancePool::Run(Deferred& d) {
  if (!d.log.empty()) log_->Append(d.log);
  for (auto& [io, event] : d.deliveries) io->Deliver(std::move(event));
  for (auto& io : d.close_endpoints) io->CloseEndpoint();
  for (auto& io : d.close_all) io->CloseAll();
  for (auto& [done, result] : d.replies) done(std::move(result));
  for (const auto& cgroup : d.release_cgroups) env_->limits.cgroups->Release(cgroup);
  for (auto& io : d.launches) Launch(io);
}

void InstancePool::Launch(const std::shared_ptr<InstanceIo>& io) {
  uint64_t id = io->id();
  // A missing entry point fails before a port is bound or anything is spawned.
  if (Result<std::vector<std::string>> argv = BuildArgv(config_, env_->paths); !argv.ok()) {
    LaunchFailed(id, "Runtime.InvalidEntrypoint", argv.status().message());
    return;
  }
  Result<uint16_t> port = io->OpenEndpoint();
  if (!port.ok()) {
    LaunchFailed(id, "Runtime.Unavailable", port.status().message());
    return;
  }
  Random& r = ThreadRandom();
  InstanceIdentity identity{
      .api_port = *port,
      .log_stream_name = LogStreamName(env_->clock->Now(), config_.key.version, r.Next(), r.Next()),
  };
  Result<LaunchSpec> spec = BuildLaunchSpec(config_, env_->paths, identity, env_->limits);
  if (!spec.ok()) {
    LaunchFailed(id, "Runtime.InvalidEntrypoint", spec.status().message());
    return;
  }
  // memorySize through a cgroup of the instance's own rather than RLIMIT_DATA, where serve has
  // them; one that cannot be made leaves the instance on RLIMIT_DATA, said in its log.
  std::filesystem::path cgroup;
  if (env_->limits.cgroups && spec->data_limit_bytes > 0) {
    Result<std::filesystem::path> made = env_->limits.cgroups->Create(spec->data_limit_bytes);
    if (made.ok()) {
      cgroup = *made;
      spec->cgroup_procs = cgroup / "cgroup.procs";
      spec->data_limit_bytes = 0;
    } else {
      log_->Append(
          fmt::format("cutover: no memory cgroup for this instance ({}); limited by "
                      "RLIMIT_DATA instead\n",
                      made.status().message()));
    }
  }
  Result<LaunchedProcess> process = env_->launcher->Launch(*spec);
  if (!process.ok()) {
    if (!cgroup.empty()) env_->limits.cgroups->Release(cgroup);
    LaunchFailed(id, "Runtime.InvalidEntrypoint", process.status().message());
    return;
  }
  TimePoint init_deadline;
  bool stopped;
  {
    std::lock_guard lock(mu_);
    Slot* s = Find(id);
    CUTOVER_CHECK(s != nullptr);  // a launching slot is only erased by LaunchFailed
    s->pid = process->pid;
    s->cgroup = std::move(cgroup);
    stopped = s->phase == Phase::kStopping;
    if (stopped) {
      env_->launcher->SignalGroup(s->pid, SIGKILL);
      s->sigkill_sent = true;
    } else {
      s->phase = Phase::kLive;
    }
    init_deadline = s->spawned_at + env_->init_timeout;
  }
  io->Attach(std::move(*process), init_deadline);
  if (stopped) io->CloseEndpoint();
}

void InstancePool::LaunchFailed(uint64_t id, std::string_view error_type,
                                std::string_view message) {
  Deferred d;
  {
    std::lock_guard lock(mu_);
    Slot* s = Find(id);
    if (s == nullptr) return;
    d.log += fmt::format(
        "INIT_REPORT Init Duration: 0.00 ms\tPhase: init\tStatus: error\tError Type: {}\n{}: {}\n",
        error_type, error_type, message);
    if (s->phase != Phase::kStopping) --live_;
    FailInitLocked(*s, error_type, message, ErrorDocument(error_type, message), d);
    d.close_all.push_back(s->io);
    slots_.erase(id);
  }
  Run(d);
}

}  // namespace cutover::runtime
