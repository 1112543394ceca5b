#include "runtime/fastcgi_client.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <optional>

namespace cutover::runtime::fastcgi {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;
using Strand = asio::strand<asio::io_context::executor_type>;

namespace {

constexpr uint16_t kRequestId = 1;
constexpr size_t kReadBufferSize = 64 * 1024;

// The encoded request and the buffer list a write walks: shared with that write.
struct Wire {
  explicit Wire(std::shared_ptr<const EncodedRequest> r) : request(std::move(r)) {
    for (std::string_view v : request->Views()) buffers.emplace_back(v.data(), v.size());
  }
  std::shared_ptr<const EncodedRequest> request;
  std::vector<asio::const_buffer> buffers;
};

}  // namespace

// One unix-socket connection to php-fpm, carrying one request at a time. Everything but the
// constructor, Run and LooksAlive runs on the strand.
class FastCgiConnection final : public std::enable_shared_from_this<FastCgiConnection> {
 public:
  using Operation = FastCgiPool::Operation;

  FastCgiConnection(std::weak_ptr<FastCgiPool> pool, asio::io_context& context,
                    asio::local::stream_protocol::endpoint endpoint, bool keep,
                    ResponseLimits limits)
      : pool_(std::move(pool)),
        strand_(asio::make_strand(context)),
        socket_(strand_),
        timer_(strand_),
        endpoint_(std::move(endpoint)),
        keep_(keep),
        limits_(limits) {}

  // From any thread; the request starts on the strand.
  void Run(std::unique_ptr<Operation> op) {
    asio::post(strand_, [self = shared_from_this(), op = std::move(op)]() mutable {
      self->RunOnStrand(std::move(op));
    });
  }

  // Whether an idle kept connection is still open at the other end: php-fpm closes it when the
  // child exits (pm.max_requests, a kill, a restart). REQUIRES: idle, so nothing else touches it.
  bool LooksAlive() {
    if (!socket_.is_open()) return false;
    char c;
    ssize_t n = ::recv(socket_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  // REQUIRES: idle (no operation, no I/O in flight), so closing off the strand is safe.
  void CloseIdle() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  void RunOnStrand(std::unique_ptr<Operation> op) {
    op_ = std::move(op);
    const uint64_t gen = ++gen_;
    parser_.emplace(kRequestId, limits_);
    write_done_ = false;
    reused_ = requests_done_ > 0;
    timer_.expires_at(op_->deadline);
    timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
      if (ec || gen != self->gen_ || !self->op_) return;
      self->Finish(DeadlineExceeded("php-fpm did not answer before the deadline"), false);
    });
    if (socket_.is_open()) {
      StartIo(gen);
      return;
    }
    socket_.async_connect(
        endpoint_, [self = shared_from_this(), gen](boost::system::error_code ec) {
          if (gen != self->gen_ || !self->op_) return;
          if (ec) {
            self->Finish(Unavailable(fmt::format("connect to php-fpm at {}: {}",
                                                 self->endpoint_.path(), ec.message())),
                         false);
            return;
          }
          self->StartIo(gen);
        });
  }

 private:
  // Writes the request and reads the answer at the same time: php-fpm may answer (or stop
  // reading) before it has read the whole body.
  void StartIo(uint64_t gen) {
    auto wire = std::make_shared<Wire>(op_->request);
    asio::async_write(socket_, wire->buffers,
                      [self = shared_from_this(), gen, wire](boost::system::error_code ec, size_t) {
                        if (gen != self->gen_ || !self->op_) return;
                        // A failed write shows up on the read side as EOF or a reset, after any
                        // answer php-fpm sent before closing.
                        if (!ec) self->write_done_ = true;
                      });
    if (!read_buffer_) read_buffer_ = std::make_unique_for_overwrite<char[]>(kReadBufferSize);
    ReadSome(gen);
  }

  void ReadSome(uint64_t gen) {
    socket_.async_read_some(
        asio::buffer(read_buffer_.get(), kReadBufferSize),
        [self = shared_from_this(), gen](boost::system::error_code ec, size_t n) {
          if (gen != self->gen_ || !self->op_) return;
          self->OnRead(gen, ec, n);
        });
  }

  void OnRead(uint64_t gen, boost::system::error_code ec, size_t n) {
    if (n > 0) {
      Status fed = parser_->Feed(std::string_view(read_buffer_.get(), n));
      if (!fed.ok()) {
        Status error =
            fed.code() == StatusCode::kTooLarge
                ? fed
                : Unavailable("malformed FastCGI response from php-fpm: " + fed.message());
        Finish(std::move(error), false);
        return;
      }
      if (parser_->done()) {
        Complete();
        return;
      }
    }
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      Failed(parser_->FinishAtEof());
      return;
    }
    if (ec) {
      Failed(Unavailable(fmt::format("read from php-fpm: {}", ec.message())));
      return;
    }
    ReadSome(gen);
  }

  void Complete() {
    if (parser_->protocol_status() != static_cast<uint8_t>(ProtocolStatus::kRequestComplete)) {
      Finish(Unavailable(fmt::format("php-fpm refused the request: {}",
                                     ProtocolStatusName(parser_->protocol_status()))),
             false);
      return;
    }
    FastCgiResponse response;
    response.app_status = parser_->app_status();
    response.stderr_output = parser_->TakeStderr();
    Result<CgiResponse> http = ParseCgiResponse(parser_->TakeStdout());
    if (!http.ok()) {
      Finish(Unavailable("malformed CGI response from php-fpm: " + http.status().message()), false);
      return;
    }
    response.http = std::move(http).value();
    // Reusable only at a record boundary in both directions.
    Finish(std::move(response), keep_ && write_done_);
  }

  // The connection broke. A reused kept connection that broke before any answer most likely
  // found its child gone between our check and our write (a recycled child drains what we sent
  // and closes): one retry on a new connection. As nginx does, not for a POST/PATCH/LOCK that was
  // written in full, which a child that crashed mid-script would otherwise run twice.
  void Failed(Status status) {
    auto pool = pool_.lock();
    if (pool && reused_ && parser_->bytes_seen() == 0 && op_->attempts == 0 &&
        (op_->idempotent || !write_done_)) {
      ++gen_;
      timer_.cancel();
      Close();
      std::unique_ptr<Operation> op = std::move(op_);
      ++op->attempts;
      pool->Retry(std::move(op));
      return;
    }
    Finish(std::move(status), false);
  }

  void Finish(Result<FastCgiResponse> result, bool reusable) {
    ++gen_;
    timer_.cancel();
    std::unique_ptr<Operation> op = std::move(op_);
    parser_.reset();
    if (!reusable) Close();
    if (reusable) ++requests_done_;
    bool kept = false;
    if (auto pool = pool_.lock()) kept = pool->Release(shared_from_this(), reusable);
    if (!kept) Close();
    op->done(std::move(result));
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  const std::weak_ptr<FastCgiPool> pool_;
  Strand strand_;
  Socket socket_;
  asio::steady_timer timer_;
  const asio::local::stream_protocol::endpoint endpoint_;
  const bool keep_;
  const ResponseLimits limits_;

  // Current request; a handler whose generation is stale does nothing.
  std::unique_ptr<Operation> op_;
  uint64_t gen_ = 0;
  std::optional<ResponseParser> parser_;
  bool write_done_ = false;
  bool reused_ = false;
  uint64_t requests_done_ = 0;
  std::unique_ptr<char[]> read_buffer_;
};

// ---- FastCgiPool ---------------------------------------------------------------------------

Result<std::shared_ptr<FastCgiPool>> FastCgiPool::Create(FastCgiPoolOptions options) {
  if (options.max_connections < 1) {
    return InvalidArgument(fmt::format("FastCGI pool: max_connections is {}, must be at least 1",
                                       options.max_connections));
  }
  if (options.contexts.empty()) return InvalidArgument("FastCGI pool: no io_context given");
  for (auto* c : options.contexts) {
    if (c == nullptr) return InvalidArgument("FastCGI pool: null io_context");
  }
  const std::string path = options.socket_path.string();
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
    return InvalidArgument(
        fmt::format("FastCGI pool: socket path '{}' is empty or longer than {} bytes", path,
                    sizeof(sockaddr_un::sun_path) - 1));
  }
  return std::make_shared<FastCgiPool>(std::move(options));
}

FastCgiPool::FastCgiPool(FastCgiPoolOptions options)
    : options_(std::move(options)), endpoint_(options_.socket_path.string()) {}

FastCgiPool::~FastCgiPool() {
  // No connection can call back any more (they hold weak pointers); waiting requests still get
  // their one answer.
  std::lock_guard lock(mu_);
  for (auto& [id, waiter] : waiting_) {
    waiter.timer->cancel();
    PostFailure(std::move(waiter.op->done), Unavailable("FastCGI pool destroyed"),
                waiter.op->preferred);
  }
  for (auto& conn : idle_) conn->CloseIdle();
}

asio::io_context& FastCgiPool::PickContext(asio::io_context* preferred) {
  if (preferred != nullptr) return *preferred;
  size_t n = next_context_.fetch_add(1, std::memory_order_relaxed);
  return *options_.contexts[n % options_.contexts.size()];
}

void FastCgiPool::PostFailure(FastCgiCallback done, Status status, asio::io_context* preferred) {
  asio::post(PickContext(preferred),
             [done = std::move(done), status = std::move(status)]() { done(status); });
}

void FastCgiPool::Execute(FastCgiRequest request, Deadline deadline, FastCgiCallback done,
                          asio::io_context* context) {
  if (deadline <= std::chrono::steady_clock::now()) {
    PostFailure(std::move(done), DeadlineExceeded("the deadline passed before the FastCGI request"),
                context);
    return;
  }
  const bool keep = options_.mode == ConnectionMode::kKeepConnections;
  Result<EncodedRequest> encoded =
      EncodeRequest(kRequestId, keep, request.params, std::move(request.body));
  if (!encoded.ok()) {
    PostFailure(std::move(done), encoded.status(), context);
    return;
  }
  auto op = std::make_unique<Operation>();
  op->request = std::make_shared<const EncodedRequest>(std::move(encoded).value());
  op->deadline = deadline;
  op->done = std::move(done);
  op->preferred = context;
  for (const auto& [name, value] : request.params) {
    if (name == "REQUEST_METHOD") {
      op->idempotent = value != "POST" && value != "PATCH" && value != "LOCK";
    }
  }

  std::shared_ptr<FastCgiConnection> conn;
  bool open_new = false;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) {
      PostFailure(std::move(op->done), Unavailable("FastCGI pool is shut down"), context);
      return;
    }
    while (!idle_.empty() && !conn) {
      conn = std::move(idle_.back());
      idle_.pop_back();
      if (!conn->LooksAlive()) {
        conn->CloseIdle();
        conn.reset();
        --open_;
        ++stats_.stale_dropped;
      }
    }
    if (conn) {
      ++stats_.reuses;
    } else if (open_ < options_.max_connections) {
      ++open_;
      stats_.peak_open = std::max(stats_.peak_open, open_);
      open_new = true;
    } else if (waiting_.size() >= options_.max_queue) {
      PostFailure(std::move(op->done),
                  ResourceExhausted(fmt::format(
                      "FastCGI pool for {}: {} connections busy and {} requests waiting",
                      options_.socket_path.string(), open_, waiting_.size())),
                  context);
      return;
    } else {
      const uint64_t id = next_waiter_id_++;
      auto timer = std::make_shared<asio::steady_timer>(PickContext(context), deadline);
      timer->async_wait([weak = weak_from_this(), id, timer](boost::system::error_code ec) {
        if (ec) return;
        if (auto pool = weak.lock()) pool->OnWaitTimeout(id);
      });
      waiting_.emplace(id, Waiter{std::move(op), std::move(timer)});
      return;
    }
  }
  if (conn) {
    conn->Run(std::move(op));
  } else if (open_new) {
    StartOnNewConnection(std::move(op));
  }
}

void FastCgiPool::StartOnNewConnection(std::unique_ptr<Operation> op) {
  {
    std::lock_guard lock(mu_);
    ++stats_.connects;
  }
  auto conn = std::make_shared<FastCgiConnection>(
      weak_from_this(), PickContext(op->preferred), endpoint_,
      options_.mode == ConnectionMode::kKeepConnections, options_.limits);
  conn->Run(std::move(op));
}

bool FastCgiPool::Release(const std::shared_ptr<FastCgiConnection>& conn, bool reusable) {
  std::unique_ptr<Operation> next;
  bool kept = false;
  bool open_new = false;
  {
    std::lock_guard lock(mu_);
    if (reusable && !shut_down_) {
      kept = true;
      if (!waiting_.empty()) {
        auto it = waiting_.begin();
        next = std::move(it->second.op);
        it->second.timer->cancel();
        waiting_.erase(it);
        ++stats_.reuses;
      } else {
        idle_.push_back(conn);
      }
    } else {
      --open_;
      if (!shut_down_ && !waiting_.empty() && open_ < options_.max_connections) {
        auto it = waiting_.begin();
        next = std::move(it->second.op);
        it->second.timer->cancel();
        waiting_.erase(it);
        ++open_;
        stats_.peak_open = std::max(stats_.peak_open, open_);
        open_new = true;
      }
    }
  }
  if (next && open_new) {
    StartOnNewConnection(std::move(next));
  } else if (next) {
    conn->RunOnStrand(std::move(next));  // we are on conn's strand
  }
  return kept;
}

void FastCgiPool::Retry(std::unique_ptr<Operation> op) {
  {
    std::lock_guard lock(mu_);
    ++stats_.retries;
  }
  StartOnNewConnection(std::move(op));
}

void FastCgiPool::OnWaitTimeout(uint64_t waiter_id) {
  std::unique_ptr<Operation> op;
  size_t waiting = 0;
  int open = 0;
  {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(waiter_id);
    if (it == waiting_.end()) return;  // got a connection just in time
    op = std::move(it->second.op);
    waiting_.erase(it);
    waiting = waiting_.size();
    open = open_;
  }
  op->done(DeadlineExceeded(
      fmt::format("no php-fpm connection became free before the deadline ({} busy, {} waiting)",
                  open, waiting)));
}

void FastCgiPool::Shutdown() {
  std::map<uint64_t, Waiter> waiting;
  std::vector<std::shared_ptr<FastCgiConnection>> idle;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    waiting.swap(waiting_);
    idle.swap(idle_);
    open_ -= static_cast<int>(idle.size());
    for (auto& [id, waiter] : waiting) waiter.timer->cancel();
  }
  for (auto& conn : idle) conn->CloseIdle();
  for (auto& [id, waiter] : waiting) {
    PostFailure(std::move(waiter.op->done), Unavailable("FastCGI pool is shut down"),
                waiter.op->preferred);
  }
}

FastCgiPoolStats FastCgiPool::Stats() const {
  std::lock_guard lock(mu_);
  FastCgiPoolStats s = stats_;
  s.open = open_;
  s.idle = static_cast<int>(idle_.size());
  s.waiting = waiting_.size();
  return s;
}

}  // namespace cutover::runtime::fastcgi
