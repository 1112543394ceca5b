#include "runtime/instance_io.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "runtime/instance_pool.h"

namespace cutover::runtime {

namespace asio = boost::asio;

namespace {

// How stale a REPORT's Max Memory Used may be: reading /proc per invocation would cost more than a
// short invocation itself. VmHWM only grows, so a stale value is a slight underestimate.
constexpr auto kMemorySampleInterval = std::chrono::milliseconds(250);

// Error type of a posted error: the header when present, else the body's errorType.
std::string ErrorTypeOf(std::string_view header, const std::string& body,
                        std::string_view fallback) {
  if (!header.empty()) return std::string(header);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const auto* t = v.as_object().if_contains("errorType"); t && t->is_string()) {
      std::string_view s = t->as_string();
      if (!s.empty()) return std::string(s);
    }
  }
  return std::string(fallback);
}

}  // namespace

InstanceIo::InstanceIo(uint64_t id, std::weak_ptr<InstancePool> pool, asio::io_context& context,
                       std::shared_ptr<FunctionLog> log)
    : id_(id),
      pool_(std::move(pool)),
      strand_(asio::make_strand(context)),
      log_(std::move(log)),
      timer_(strand_) {}

Result<uint16_t> InstanceIo::OpenEndpoint() {
  CUTOVER_ASSIGN_OR_RETURN(server_, RuntimeApiServer::Create(strand_, shared_from_this(),
                                                             PeerPolicy::kOwnProcessTree));
  server_->Start();
  return server_->port();
}

void InstanceIo::Attach(LaunchedProcess process, TimePoint init_deadline) {
  // The endpoint serves this process and its descendants from now on (and the connections that
  // arrived first, once checked).
  server_->ServeOnlyProcessTree(process.pid);
  asio::post(
      strand_, [self = shared_from_this(), process = std::move(process), init_deadline]() mutable {
        self->pid_ = process.pid;
        LineHook on_line;
        if (auto pool = self->pool_.lock()) on_line = pool->line_hook();
        auto pump = [&](UniqueFd& fd) {
          return std::make_shared<OutputPump>(self->strand_, std::move(fd), self->log_, on_line);
        };
        self->stdout_pump_ = pump(process.stdout_fd);
        self->stderr_pump_ = pump(process.stderr_fd);
        self->stdout_pump_->Start();
        self->stderr_pump_->Start();
        if (process.exit_fd.valid()) {
          self->exit_watch_.emplace(self->strand_, process.exit_fd.release());
          self->WatchExit();
        }
        self->ArmDeadline(init_deadline);
      });
}

void InstanceIo::WatchExit() {
  exit_watch_->async_wait(asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](boost::system::error_code ec) {
                            if (ec || !self->exit_watch_) return;
                            // Output written just before the exit belongs before the crash report.
                            self->DrainOutput();
                            if (auto pool = self->pool_.lock()) pool->HandleExit(self->id_);
                          });
}

void InstanceIo::Deliver(NextEvent event) {
  asio::post(strand_, [self = shared_from_this(), event = std::move(event)]() mutable {
    if (self->endpoint_closed_ || !self->server_) {
      if (auto pool = self->pool_.lock()) pool->HandleUndeliverable(self->id_, std::move(event));
      return;
    }
    self->ArmDeadline(event.timeout_at);
    self->server_->DeliverOnStrand(std::move(event));
  });
}

void InstanceIo::CloseEndpoint() {
  asio::post(strand_, [self = shared_from_this()] { self->CloseEndpointOnStrand(); });
}

void InstanceIo::CloseAll() {
  asio::post(strand_, [self = shared_from_this()] {
    self->CloseEndpointOnStrand();
    if (self->exit_watch_) {
      boost::system::error_code ignored;
      self->exit_watch_->close(ignored);
      self->exit_watch_.reset();
    }
  });
}

void InstanceIo::CloseEndpointOnStrand() {
  if (endpoint_closed_) return;
  endpoint_closed_ = true;
  if (server_) server_->Close();
  ++timer_generation_;
  timer_armed_ = false;
  timer_.cancel();
}

void InstanceIo::ArmDeadline(TimePoint t) {
  if (endpoint_closed_) return;
  if (timer_armed_ && timer_expiry_ <= t) return;
  timer_armed_ = true;
  timer_expiry_ = t;
  uint64_t generation = ++timer_generation_;
  timer_.expires_at(t);  // cancels a pending wait; its handler sees an old generation
  timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
    self->OnDeadline(generation, ec);
  });
}

void InstanceIo::OnDeadline(uint64_t generation, boost::system::error_code ec) {
  if (generation != timer_generation_) return;
  timer_armed_ = false;
  if (ec) return;
  auto pool = pool_.lock();
  if (!pool) return;
  DrainOutput();
  std::optional<TimePoint> next = pool->HandleDeadline(id_, SampleMaxMemoryMb());
  if (next) ArmDeadline(*next);
}

void InstanceIo::DrainOutput() {
  if (stdout_pump_) stdout_pump_->DrainNow();
  if (stderr_pump_) stderr_pump_->DrainNow();
}

int InstanceIo::SampleMaxMemoryMb() {
  auto now = std::chrono::steady_clock::now();
  if (max_memory_mb_ == 0 || now - memory_sampled_at_ >= kMemorySampleInterval) {
    int mb = ReadMaxMemoryUsedMb(pid_);
    if (mb > 0) max_memory_mb_ = mb;
    memory_sampled_at_ = now;
  }
  return max_memory_mb_;
}

NextAction InstanceIo::OnNext() {
  auto pool = pool_.lock();
  if (!pool) {
    NextAction a;
    a.kind = RuntimeApiState::NextKind::kReject;
    a.reply = ContainerErrorReply("the instance is stopping");
    return a;
  }
  NextAction action = pool->HandleNext(id_);
  if (action.kind == RuntimeApiState::NextKind::kDeliver) ArmDeadline(action.event.timeout_at);
  return action;
}

ApiReply InstanceIo::OnResponse(std::string_view request_id, std::string body, bool over_limit) {
  auto pool = pool_.lock();
  if (!pool) return ContainerErrorReply("the instance is stopping");
  DrainOutput();
  return pool->HandleResponse(id_, request_id, std::move(body), over_limit, SampleMaxMemoryMb());
}

ApiReply InstanceIo::OnError(std::string_view request_id, std::string_view error_type_header,
                             std::string body) {
  auto pool = pool_.lock();
  if (!pool) return ContainerErrorReply("the instance is stopping");
  DrainOutput();
  std::string type = ErrorTypeOf(error_type_header, body, "Unhandled");
  return pool->HandleError(id_, request_id, std::move(type), std::move(body), SampleMaxMemoryMb());
}

ApiReply InstanceIo::OnInitError(std::string_view error_type_header, std::string body) {
  auto pool = pool_.lock();
  if (!pool) return ContainerErrorReply("the instance is stopping");
  DrainOutput();
  std::string type = ErrorTypeOf(error_type_header, body, "Runtime.Unknown");
  return pool->HandleInitError(id_, std::move(type), std::move(body));
}

void InstanceIo::OnUndeliverable(NextEvent event) {
  if (auto pool = pool_.lock()) pool->HandleUndeliverable(id_, std::move(event));
}

}  // namespace cutover::runtime
