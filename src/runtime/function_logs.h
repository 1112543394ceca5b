// Function logs: one append-only file per function version, data_dir/logs/<function>/<version>.log.
//
// An instance's stdout and stderr lines go there (OutputPump), together with the platform's own
// lines in Lambda's shapes: START / END / REPORT per invocation, timeouts, crashes and init
// failures. Writes are buffered in memory and reach the file when the buffer grows past 64 KiB,
// when the oldest buffered byte is older than 200 ms at the next write, or on Flush() (the control
// loop's Tick and Shutdown call it), so a busy function costs one write(2) per batch rather than
// per line.
//
// Size: a file that would grow past kMaxLogFileBytes is rotated first: <version>.log becomes
// <version>.log.1 (replacing the previous one) and a new <version>.log starts, so a version keeps
// at most twice that on disk however much its function writes. A reader following a file by
// offset (ReadFunctionLogChunk) sees it shrink and starts the new one from its beginning.
//
// Thread-safety: FunctionLog is safe to use from any thread (its own mutex; never held while
// calling out). The Format* helpers and ReadFunctionLogs (runtime_service.h) are pure / stateless.
#pragma once

#include "common/clock.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "runtime/process_launcher.h"
#include "runtime/thread_annotations.h"

namespace cutover::runtime {

// Where a version's log file is rotated (see above): 64 MiB.
inline constexpr uint64_t kMaxLogFileBytes = 64ull * 1024 * 1024;

class FunctionLog final {
 public:
  // The log of data_dir/logs/<function>/<version>.log, creating the directories and the file. The
  // file is open only while a batch is written: a pool exists for every published version, and
  // a descriptor held per version would run a long-lived daemon into its descriptor limit. When
  // the file cannot be opened or written the log drops that batch and says so once per episode
  // on the daemon's log. `max_file_bytes` is where the file is rotated (tests make it small).
  static std::shared_ptr<FunctionLog> Open(const std::filesystem::path& data_dir,
                                           std::string_view function_name, uint32_t version,
                                           uint64_t max_file_bytes = kMaxLogFileBytes);

  // Appends `text`, which holds whole lines each ending with '\n'.
  void Append(std::string_view text);
  void Flush();
  const std::filesystem::path& path() const { return path_; }

  ~FunctionLog();

 private:
  FunctionLog(std::filesystem::path path, uint64_t size, uint64_t max_file_bytes)
      : path_(std::move(path)), max_file_bytes_(max_file_bytes), size_(size) {}
  void FlushLocked() CUTOVER_REQUIRES(mu_);
  // Moves the full file to <path>.1; the next write creates a new one.
  void RotateLocked() CUTOVER_REQUIRES(mu_);

  const std::filesystem::path path_;
  const uint64_t max_file_bytes_;
  std::mutex mu_;
  uint64_t size_ CUTOVER_GUARDED_BY(mu_);              // bytes in the current file
  bool write_failed_ CUTOVER_GUARDED_BY(mu_) = false;  // the last write failed (said once)
  std::string buffer_ CUTOVER_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point first_buffered_ CUTOVER_GUARDED_BY(mu_);
};

// The directory of a function's logs; the name is sanitized so it cannot leave data_dir/logs.
std::filesystem::path FunctionLogDir(const std::filesystem::path& data_dir,
                                     std::string_view function_name);

// "2026-11-27T15:04:05.123Z": the timestamp of the platform's own log lines (timeouts, crashes).
std::string FormatLogTimestamp(SystemTime t);

// "START RequestId: <id> Version: <v>\n"
std::string FormatStartLine(std::string_view request_id, uint32_t version);
// "END RequestId: <id>\n"
std::string FormatEndLine(std::string_view request_id);

struct ReportLine {
  std::string_view request_id;
  double duration_ms = 0;
  int memory_size_mb = 0;
  int max_memory_used_mb = 0;
  double init_duration_ms = 0;       // omitted when 0 (warm invocation)
  std::string_view status = {};      // "" for a normal end, else "timeout" / "error"
  std::string_view error_type = {};  // with status "error"
};
// "REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t
//  Max Memory Used: 20 MB[\tInit Duration: 12.34 ms][\tStatus: timeout]\n"
std::string FormatReportLine(const ReportLine& report);

// Largest VmHWM of a live process in MB, rounded up; 0 when it cannot be read.
int ReadMaxMemoryUsedMb(int pid);

}  // namespace cutover::runtime
