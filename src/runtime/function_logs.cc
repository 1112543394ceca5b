#include "runtime/function_logs.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <ctime>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <system_error>
#include <vector>

#include "runtime/runtime_service.h"

namespace cutover::runtime {

namespace {

constexpr size_t kFlushBytes = 64 * 1024;
constexpr auto kFlushAge = std::chrono::milliseconds(200);

std::string SanitizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

// Bytes written; fewer than data.size() when the disk is full (or a size limit is hit): the rest
// is dropped, the function keeps running.
size_t WriteAll(int fd, std::string_view data, int* error) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = errno;
      break;
    }
    written += static_cast<size_t>(n);
  }
  return written;
}

// The last `max_bytes` of a file, starting at a line boundary when it had to cut.
Result<std::string> ReadTail(const std::filesystem::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("no logs at {}", path.string()));
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string out(size - start, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  if (start > 0) {
    size_t nl = out.find('\n');
    out.erase(0, nl == std::string::npos ? out.size() : nl + 1);
  }
  return out;
}

}  // namespace

std::filesystem::path FunctionLogDir(const std::filesystem::path& data_dir,
                                     std::string_view function_name) {
  return data_dir / "logs" / SanitizeName(function_name);
}

std::shared_ptr<FunctionLog> FunctionLog::Open(const std::filesystem::path& data_dir,
                                               std::string_view function_name, uint32_t version,
                                               uint64_t max_file_bytes) {
  std::filesystem::path dir = FunctionLogDir(data_dir, function_name);
  std::filesystem::path path = dir / fmt::format("{}.log", version);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // Only the daemon's user reads the logs (through `cutover logs`): START lines name running
  // request ids, which a function run under another user (--run-as) must not learn.
  for (const auto& d : {dir.parent_path(), dir}) {
    std::filesystem::permissions(d, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  uint64_t size = 0;
  if (!fd.valid()) {
    spdlog::error("function logs: cannot open {}: {}", path.string(), std::strerror(errno));
  } else {
    ::fchmod(fd.get(), 0600);  // a file from an older daemon may have been 0644
    if (struct stat st{}; ::fstat(fd.get(), &st) == 0) size = static_cast<uint64_t>(st.st_size);
  }
  return std::shared_ptr<FunctionLog>(
      new FunctionLog(std::move(path), size, std::max<uint64_t>(max_file_bytes, 1)));
}

FunctionLog::~FunctionLog() {
  std::lock_guard lock(mu_);
  FlushLocked();
}

void FunctionLog::Append(std::string_view text) {
  if (text.empty()) return;
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (buffer_.empty()) first_buffered_ = now;
  buffer_.append(text);
  if (buffer_.size() >= kFlushBytes || now - first_buffered_ >= kFlushAge) FlushLocked();
}

void FunctionLog::Flush() {
  std::lock_guard lock(mu_);
  FlushLocked();
}

void FunctionLog::FlushLocked() {
  if (buffer_.empty()) return;
  if (size_ > 0 && size_ + buffer_.size() > max_file_bytes_) RotateLocked();
  int error = 0;
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    error = errno;
  } else {
    size_ += WriteAll(fd.get(), buffer_, &error);
  }
  if (error != 0 && !write_failed_) {
    // Once per episode: a function that keeps writing to a full disk must not flood our log.
    spdlog::error(
        "function logs: writing {} failed: {}; its lines are dropped until writes "
        "succeed again",
        path_.string(), std::strerror(error));
  }
  write_failed_ = error != 0;
  buffer_.clear();
}

void FunctionLog::RotateLocked() {
  std::filesystem::path old = path_;
  old += ".1";
  if (::rename(path_.c_str(), old.c_str()) != 0) {
    spdlog::error("function logs: cannot rotate {}: {}; it keeps growing", path_.string(),
                  std::strerror(errno));
    return;
  }
  spdlog::info("function logs: {} reached {} bytes; rotated to {}", path_.string(), size_,
               old.string());
  size_ = 0;
}

std::string FormatLogTimestamp(SystemTime t) {
  int64_t ms = ToEpochMillis(t);
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string FormatStartLine(std::string_view request_id, uint32_t version) {
  return fmt::format("START RequestId: {} Version: {}\n", request_id, version);
}

std::string FormatEndLine(std::string_view request_id) {
  return fmt::format("END RequestId: {}\n", request_id);
}

std::string FormatReportLine(const ReportLine& r) {
  auto billed = static_cast<int64_t>(std::ceil(std::max(r.duration_ms, 1e-9)));
  std::string out = fmt::format(
      "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax "
      "Memory Used: {} MB",
      r.request_id, r.duration_ms, billed, r.memory_size_mb, r.max_memory_used_mb);
  if (r.init_duration_ms > 0) out += fmt::format("\tInit Duration: {:.2f} ms", r.init_duration_ms);
  if (!r.status.empty()) out += fmt::format("\tStatus: {}", r.status);
  if (!r.error_type.empty()) out += fmt::format("\tError Type: {}", r.error_type);
  out += '\n';
  return out;
}

int ReadMaxMemoryUsedMb(int pid) {
  if (pid <= 0) return 0;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = std::strstr(buf, "VmHWM:");
  if (p == nullptr) return 0;
  long kb = std::strtol(p + 6, nullptr, 10);
  return static_cast<int>((kb + 1023) / 1024);
}

Result<LogChunk> ReadFunctionLogChunk(const std::filesystem::path& data_dir,
                                      const std::string& function_name, uint32_t version,
                                      int64_t offset, size_t max_bytes) {
  std::filesystem::path path =
      FunctionLogDir(data_dir, function_name) / fmt::format("{}.log", version);
  if (offset < 0) {
    CUTOVER_ASSIGN_OR_RETURN(std::string tail, ReadTail(path, max_bytes));
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(path, ec);
    // The file may have grown since the read; the tail ends where the text ends.
    LogChunk chunk{std::move(tail), ec ? 0 : size};
    return chunk;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("no logs for {} version {}", function_name, version));
  in.seekg(0, std::ios::end);
  auto size = static_cast<uint64_t>(in.tellg());
  // Past the end: the file was rotated since the caller's last read.
  uint64_t start = static_cast<uint64_t>(offset) > size ? 0 : static_cast<uint64_t>(offset);
  uint64_t length = std::min<uint64_t>(size - start, max_bytes);
  std::string text(length, '\0');
  in.seekg(static_cast<std::streamoff>(start));
  in.read(text.data(), static_cast<std::streamsize>(length));
  text.resize(static_cast<size_t>(in.gcount()));
  // Hand out whole lines only; a partial last line comes with the next read.
  size_t last_nl = text.rfind('\n');
  text.resize(last_nl == std::string::npos ? 0 : last_nl + 1);
  uint64_t end = start + text.size();
  return LogChunk{std::move(text), end};
}

Result<std::string> ReadFunctionLogs(const std::filesystem::path& data_dir,
                                     const std::string& function_name, uint32_t version,
                                     size_t max_bytes) {
  std::filesystem::path dir = FunctionLogDir(data_dir, function_name);
  if (version != 0) return ReadTail(dir / fmt::format("{}.log", version), max_bytes);

  // All versions, oldest version first, so the newest output ends the text.
  std::error_code ec;
  std::vector<uint32_t> versions;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::filesystem::path& p = entry.path();
    if (p.extension() != ".log") continue;
    std::string stem = p.stem().string();
    if (stem.empty() || stem.size() > 9 || !std::all_of(stem.begin(), stem.end(), ::isdigit))
      continue;
    versions.push_back(static_cast<uint32_t>(std::stoul(stem)));
  }
  if (ec || versions.empty())
    return NotFound(fmt::format("no logs for function '{}'", function_name));
  std::sort(versions.begin(), versions.end());
  std::string out;
  for (uint32_t v : versions) {
    auto tail = ReadTail(dir / fmt::format("{}.log", v), max_bytes);
    if (tail.ok()) out += *tail;
  }
  if (out.size() > max_bytes) {
    out.erase(0, out.size() - max_bytes);
    size_t nl = out.find('\n');
    out.erase(0, nl == std::string::npos ? out.size() : nl + 1);
  }
  return out;
}

}  // namespace cutover::runtime
