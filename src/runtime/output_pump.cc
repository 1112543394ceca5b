#include "runtime/output_pump.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <cstring>

namespace cutover::runtime {

void LineSplitter::Feed(std::string_view data, std::string& out) {
  while (!data.empty()) {
    const void* nl = std::memchr(data.data(), '\n', data.size());
    size_t line_end =
        nl ? static_cast<size_t>(static_cast<const char*>(nl) - data.data()) : data.size();
    size_t room = max_line_ - partial_.size();
    if (line_end >= room) {
      // Over the cap: emit exactly `room` bytes as a line of their own.
      out.append(partial_).append(data.substr(0, room)).push_back('\n');
      partial_.clear();
      data.remove_prefix(room);
      // A newline right at the cut would make an empty line; it belongs to the piece just written.
      if (!data.empty() && data.front() == '\n' && line_end == room) data.remove_prefix(1);
      continue;
    }
    if (!nl) {
      partial_.append(data);
      return;
    }
    out.append(partial_).append(data.substr(0, line_end + 1));
    partial_.clear();
    data.remove_prefix(line_end + 1);
  }
}

void LineSplitter::Finish(std::string& out) {
  if (partial_.empty()) return;
  out.append(partial_).push_back('\n');
  partial_.clear();
}

void ForEachLine(std::string_view text, const LineHook& hook) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) nl = text.size();
    hook(text.substr(0, nl));
    text.remove_prefix(std::min(nl + 1, text.size()));
  }
}

OutputPump::OutputPump(Strand strand, UniqueFd fd, std::shared_ptr<FunctionLog> log,
                       LineHook on_line)
    : pipe_(strand, fd.release()), log_(std::move(log)), on_line_(std::move(on_line)) {}

void OutputPump::Start() {
  // Every read is ours, on the strand, and must never block it.
  boost::system::error_code ignored;
  pipe_.non_blocking(true, ignored);
  Wait();
}

// Waits for readiness only and reads in the handler. An async_read_some would let the reactor
// read ahead into buffer_ and queue the completion: a DrainNow running before that completion
// (on a Runtime API response) would log the pipe's newer bytes, the platform's END and REPORT
// lines, and only then the older bytes, and would overwrite them in buffer_ meanwhile.
void OutputPump::Wait() {
  pipe_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](boost::system::error_code ec) {
                     if (self->done_) return;
                     if (ec || self->ReadAvailable(kReadsPerWakeup) == ReadEnd::kClosed) {
                       self->Finish();
                       return;
                     }
                     self->Wait();
                   });
}

OutputPump::ReadEnd OutputPump::ReadAvailable(int max_reads) {
  bool found = false;
  for (int i = 0; max_reads <= 0 || i < max_reads; ++i) {
    ssize_t n = ::read(pipe_.native_handle(), buffer_.data(), buffer_.size());
    if (n > 0) {
      Consume(static_cast<size_t>(n));
      found = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return found ? ReadEnd::kRead : ReadEnd::kEmpty;
    }
    return ReadEnd::kClosed;  // end of file, or the pipe failed
  }
  return ReadEnd::kRead;  // more may be waiting: the next wakeup reads it
}

void OutputPump::DrainNow() {
  if (done_ || !pipe_.is_open() || quiet_drains_ >= kQuietDrains) return;
  // End of file is left to the pending wait, which sees it too and finishes.
  if (ReadAvailable(0) == ReadEnd::kEmpty) ++quiet_drains_;
}

void OutputPump::Consume(size_t n) {
  quiet_drains_ = 0;
  splitter_.Feed(std::string_view(buffer_.data(), n), lines_);
  if (!lines_.empty()) Flush();
}

void OutputPump::Flush() {
  log_->Append(lines_);
  if (on_line_) ForEachLine(lines_, on_line_);
  lines_.clear();
}

void OutputPump::Finish() {
  done_ = true;
  splitter_.Finish(lines_);
  Flush();
  boost::system::error_code ignored;
  pipe_.close(ignored);
}

}  // namespace cutover::runtime
