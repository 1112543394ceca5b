// ProcessLauncher: the one seam through which cutover starts, signals and reaps child processes.
//
// A launched process runs in its own process group (so a timeout can kill the bootstrap together
// with everything it started), with stdin on /dev/null, stdout and stderr on two non-blocking pipes
// the caller reads, and every other descriptor of the daemon closed. Where the kernel supports it,
// the launcher also hands back a pidfd that becomes readable the moment the process exits, so exits
// are noticed without polling; Tick-driven TryReap() is the fallback and the backstop.
//
// Thread-safety: every method may be called from any thread. The caller makes sure a pid is reaped
// exactly once (InstancePool does it under its mutex) and never signals a pid it has already
// reaped.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cutover::runtime {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

struct LaunchSpec {
  // argv[0] is the program: a path, or a bare name looked up in the daemon's PATH.
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value", the complete environment of the child
  std::filesystem::path cwd;
};

struct LaunchedProcess {
  pid_t pid = -1;
  UniqueFd stdout_fd;  // read end, O_NONBLOCK | O_CLOEXEC
  UniqueFd stderr_fd;
  UniqueFd exit_fd;  // pidfd (readable once the process exited), or invalid when unsupported
};

struct ExitStatus {
  int code = -1;   // exit code when the process exited normally, else -1
  int signal = 0;  // terminating signal, 0 when it exited normally
  // Lambda's wording: "exit status 1", "signal: killed".
  std::string Describe() const;
};

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;

  // Starts the process. Fails when the program cannot be executed (missing, not executable).
  virtual Result<LaunchedProcess> Launch(const LaunchSpec& spec) = 0;
  // Sends `signal` to the process group led by `pid`. Harmless when the group is gone.
  virtual void SignalGroup(pid_t pid, int signal) = 0;
  // Non-blocking reap (waitpid WNOHANG). nullopt while the process runs. When it has exited,
  // whatever is left in its process group is killed before the pid is released. REQUIRES: `pid` was
  // launched here and has not been reaped yet.
  virtual std::optional<ExitStatus> TryReap(pid_t pid) = 0;
};

// The real launcher: posix_spawn with a new process group and pidfd_open.
std::unique_ptr<ProcessLauncher> NewPosixProcessLauncher();

}  // namespace cutover::runtime
