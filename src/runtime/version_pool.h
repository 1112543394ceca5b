// VersionPool: what RuntimeService asks of the processes serving one function version, whatever
// kind they are. InstancePool (instance_pool.h) runs Runtime API instances, one invocation each;
// FpmPool (fpm_pool.h) runs one php-fpm master whose children take FastCGI requests.
//
// Thread-safety: as each implementation documents; every method may be called from any thread
// except Tick and the shutdown pair, which the control loop calls.
#pragma once

#include "common/status.h"
#include "runtime/runtime_service.h"

namespace cutover::runtime {

class VersionPool {
 public:
  virtual ~VersionPool() = default;

  virtual const InstanceConfig& config() const = 0;

  virtual void Invoke(Invocation invocation, InvokeCallback done) = 0;
  // Only pools that take HTTP (TakesHttp) implement it; others answer kNotFound.
  virtual bool TakesHttp() const { return false; }
  virtual void InvokeHttp(HttpInvocation invocation, HttpCallback done);

  virtual Status Prewarm(int count) = 0;
  // No new invocations; processes stop once nothing is in flight.
  virtual void Retire() = 0;
  // Control loop: reap exits, expire deadlines, stop idle processes, flush the log.
  virtual void Tick() = 0;
  virtual PoolStats Stats() const = 0;
  // The most invocations executing at once since the previous call (at least the current count);
  // the next period starts at the current count. RuntimeService::TakeConcurrency is the caller.
  virtual int TakePeakConcurrency() = 0;

  // Shutdown, in two steps so the service can wait for all pools together: fail everything in
  // flight and SIGTERM every process; then reap (with `kill`, SIGKILL what is left). Returns the
  // processes not reaped yet.
  virtual void BeginShutdown() = 0;
  virtual int ReapForShutdown(bool kill) = 0;
  // Retired, and no process or invocation left.
  virtual bool Finished() const = 0;
};

}  // namespace cutover::runtime
