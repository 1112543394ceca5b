// OutputPump: reads one of an instance's output pipes (stdout or stderr) asynchronously and appends
// its lines to the function's log, so a chatty function never blocks on a full pipe. An optional
// line hook sees each line after it was appended (RuntimeSettings::on_function_line).
//
// LineSplitter is the pure part: bytes in, whole lines out, a line longer than the cap is split
// into pieces of the cap's size.
//
// Thread-safety: OutputPump lives on its instance's strand; Start, DrainNow and Close must run
// there. LineSplitter is a plain value.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/function_logs.h"
#include "runtime/process_launcher.h"

namespace cutover::runtime {

inline constexpr size_t kMaxLogLineBytes = 256 * 1024;

class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line = kMaxLogLineBytes) : max_line_(max_line) {}

  // Appends every line completed by `data` to `out`, each ending with '\n'.
  void Feed(std::string_view data, std::string& out);
  // Appends a trailing unterminated line, if any (the stream ended).
  void Finish(std::string& out);

 private:
  const size_t max_line_;
  std::string partial_;
};

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// Called with one line, without its '\n'.
using LineHook = std::function<void(std::string_view line)>;

// Calls `hook` for each line of `text` (whole lines, each ending with '\n'), without the '\n'.
void ForEachLine(std::string_view text, const LineHook& hook);

class OutputPump final : public std::enable_shared_from_this<OutputPump> {
 public:
  static constexpr int kQuietDrains = 16;

  // `on_line` may be empty (no per-line work at all).
  OutputPump(Strand strand, UniqueFd fd, std::shared_ptr<FunctionLog> log, LineHook on_line = {});

  // Starts reading until end of file. REQUIRES: on the strand.
  void Start();
  // Reads whatever is in the pipe right now, without waiting, so output written before a Runtime
  // API call is logged before the platform's END line. A pump whose last kQuietDrains drains found
  // nothing and which has read nothing since skips the read(2): a silent function pays no syscall
  // for it. REQUIRES: on the strand.
  void DrainNow();

 private:
  // How a read of what the pipe holds ended.
  enum class ReadEnd { kRead, kEmpty, kClosed };
  // Reads per readiness wakeup, so a function that never stops writing cannot hold the thread.
  static constexpr int kReadsPerWakeup = 16;

  void Wait();
  // Reads what the pipe holds now, at most `max_reads` reads (0: until it is empty).
  ReadEnd ReadAvailable(int max_reads);
  void Consume(size_t n);
  void Finish();
  void Flush();  // lines_ to the log and the hook

  boost::asio::posix::stream_descriptor pipe_;
  std::shared_ptr<FunctionLog> log_;
  const LineHook on_line_;
  LineSplitter splitter_;
  std::array<char, 64 * 1024> buffer_;
  std::string lines_;
  bool done_ = false;
  int quiet_drains_ = 0;
};

}  // namespace cutover::runtime
