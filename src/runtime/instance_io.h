// InstanceIo: the I/O side of one function instance, living on its own strand of one Runtime API
// context: the instance's Runtime API endpoint, the readers of its stdout/stderr pipes, the watch
// on its exit (pidfd) and its deadline timer.
//
// It holds no invocation state. Runtime API calls and I/O events are forwarded to the InstancePool,
// which keeps every instance's state under its mutex and answers; InstanceIo then writes the
// answer. The deadline timer is lazy: it is armed at the earliest deadline it was told about and,
// when it fires, asks the pool for the instance's current deadline (an invocation that ended
// earlier simply moves it), so a steady stream of short invocations costs no timer cancellations.
//
// Thread-safety: the public methods may be called from any thread (they post to the strand, except
// OpenEndpoint, which must run before the process starts). The RuntimeApiHandler methods run on the
// strand.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "runtime/function_logs.h"
#include "runtime/output_pump.h"
#include "runtime/process_launcher.h"
#include "runtime/runtime_api_server.h"

namespace cutover::runtime {

class InstancePool;

class InstanceIo final : public RuntimeApiHandler, public std::enable_shared_from_this<InstanceIo> {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  InstanceIo(uint64_t id, std::weak_ptr<InstancePool> pool, boost::asio::io_context& context,
             std::shared_ptr<FunctionLog> log);

  uint64_t id() const { return id_; }

  // Binds the Runtime API endpoint and starts accepting. Returns the port.
  // REQUIRES: called once, before the process is launched.
  Result<uint16_t> OpenEndpoint();
  // Starts reading the process's output, watching for its exit, and arms the init deadline.
  void Attach(LaunchedProcess process, TimePoint init_deadline);
  // Writes `event` to the parked GET /next; hands it back to the pool when there is none.
  void Deliver(NextEvent event);
  // Stops serving the Runtime API and the deadline timer (the instance is stopping). The output
  // readers run on until end of file and the exit watch until the exit is seen.
  void CloseEndpoint();
  // CloseEndpoint and stop the exit watch (the exit was handled).
  void CloseAll();

  // RuntimeApiHandler.
  NextAction OnNext() override;
  ApiReply OnResponse(std::string_view request_id, std::string body, bool over_limit) override;
  ApiReply OnError(std::string_view request_id, std::string_view error_type_header,
                   std::string body) override;
  ApiReply OnInitError(std::string_view error_type_header, std::string body) override;
  void OnUndeliverable(NextEvent event) override;

 private:
  // Strand only.
  void ArmDeadline(TimePoint t);
  void OnDeadline(uint64_t generation, boost::system::error_code ec);
  void WatchExit();
  void DrainOutput();
  int SampleMaxMemoryMb();
  void CloseEndpointOnStrand();

  const uint64_t id_;
  const std::weak_ptr<InstancePool> pool_;
  Strand strand_;
  const std::shared_ptr<FunctionLog> log_;

  // Strand only (server_ is set by OpenEndpoint before anything runs on the strand).
  std::shared_ptr<RuntimeApiServer> server_;
  std::shared_ptr<OutputPump> stdout_pump_;
  std::shared_ptr<OutputPump> stderr_pump_;
  std::optional<boost::asio::posix::stream_descriptor> exit_watch_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  TimePoint timer_expiry_;
  uint64_t timer_generation_ = 0;
  bool endpoint_closed_ = false;
  int pid_ = -1;
  int max_memory_mb_ = 0;
  TimePoint memory_sampled_at_;
};

}  // namespace cutover::runtime
