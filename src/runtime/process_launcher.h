// ProcessLauncher: the one seam through which cutover starts, signals and reaps child processes.
//
// A launched process runs in its own process group (so a timeout can kill the bootstrap together
// with everything it started), with stdin on /dev/null, stdout and stderr on two non-blocking pipes
// the caller reads, and every other descriptor of the daemon closed. Where the kernel supports it,
// the launcher also hands back a pidfd that becomes readable the moment the process exits, so exits
// are noticed without polling; Tick-driven TryReap() is the fallback and the backstop.
//
// The cgroup, limits and identity (LaunchSpec::cgroup_procs, data_limit_bytes, max_processes,
// run_as) must be in force before the program's first instruction, and posix_spawn can neither join
// a cgroup, set rlimits nor change ids in the child. The POSIX launcher therefore execs wrappers in
// front of the program (WrapArgv): a shell that writes its pid into the cgroup's cgroup.procs, then
// util-linux's `prlimit`, which sets the limits (soft = hard, so the function cannot raise them),
// then `setpriv`, which drops to the user; each execs the next. Same pid, same process group.
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
#include <string_view>
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

// The user a process runs as (`cutover serve --run-as`).
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  // Supplementary groups (the user's, from LookUpUser); empty: none.
  std::vector<gid_t> groups;
  auto operator<=>(const RunAs&) const = default;
};

// Whether `user` may access `path` with `need` (R_OK and/or X_OK), and search every directory above
// it, judged by the owner/group/other permission bits. ACLs, capabilities and mount options are
// not considered; the kernel has the last word. A path that does not exist is not accessible.
bool AccessibleBy(const RunAs& user, const std::filesystem::path& path, int need);

struct LaunchSpec {
  // argv[0] is the program: a path, or a bare name looked up in the daemon's PATH.
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value", the complete environment of the child
  std::filesystem::path cwd;
  // RLIMIT_DATA in bytes (the function's memorySize); 0: inherited. RLIMIT_DATA rather than
  // RLIMIT_AS: V8 reserves far more address space than it uses, so Node fails or hangs under an
  // address-space limit the size of memorySize, while RLIMIT_DATA bounds what is actually
  // allocatable (heap, anonymous mappings, thread stacks) for every runtime.
  uint64_t data_limit_bytes = 0;
  // RLIMIT_NPROC; 0: inherited. The kernel counts every process and thread of the *user*, not of
  // this process tree, and ignores the limit for root: it bites only with run_as.
  uint64_t max_processes = 0;
  // Run as this user (real and effective ids, its supplementary groups, no_new_privs); nullopt: as
  // the daemon. A bare argv[0] is then the first match on the daemon's PATH that this user can
  // execute. The stdout and stderr pipes are handed to the user so that the process can reopen
  // them (/proc/self/fd/2, /dev/stderr), as php-fpm's error_log does.
  std::optional<RunAs> run_as;
  // The cgroup.procs file of the cgroup the process must run in (MemoryCgroups::Create); empty:
  // the daemon's.
  std::filesystem::path cgroup_procs;
  // The signal the process gets when the daemon's thread that launched it ends (PR_SET_PDEATHSIG,
  // set by setpriv after any change of user, which would clear it); 0: none. For a process that
  // would otherwise outlive a SIGKILLed daemon, like a php-fpm master serving nobody.
  int parent_death_signal = 0;
};

// Paths of the exec wrappers the POSIX launcher puts in front of a program with limits.
struct WrapperPaths {
  std::filesystem::path shell = "/bin/sh";
  std::filesystem::path env = "/usr/bin/env";
  std::filesystem::path prlimit = "/usr/bin/prlimit";
  std::filesystem::path setpriv = "/usr/bin/setpriv";
};

// The argv actually exec'd for `spec`, whose argv[0] is already resolved to a path:
//   [sh -c 'echo $$ > "$0" && exec "$@"' CGROUP_PROCS]
//   [prlimit --data=B --nproc=N --]
//   [setpriv [--reuid=U --regid=G --groups=G1,G2|--clear-groups --no-new-privs]
//            [--pdeathsig=SIG] --]
//   [sh -c '[ "$PPID" = "$0" ] && exec "$@"' PARENT]
//   [env NAME=VALUE...] argv...
// Each wrapper only when something asks for it; spec.argv unchanged when nothing does. Pure.
//
// A parent death signal set after the parent (`parent`, the daemon) has died is never sent: the
// shell after setpriv goes on only while the daemon is still its parent, so a process launched
// just before the daemon was killed does not outlive it either.
//
// With run_as the wrappers before setpriv run as root, and a function's environment must not reach
// them: LD_PRELOAD or an LD_LIBRARY_PATH into its code would run the function's code as root. The
// variables glibc ignores in privileged programs (IsLoaderVariable) are held back from the spawn
// (SpawnEnvironment) and given to the program by `env` after setpriv, as the user.
std::vector<std::string> WrapArgv(const LaunchSpec& spec, const WrapperPaths& wrappers,
                                  pid_t parent);

// Whether "NAME=value" names a variable glibc drops for setuid programs (LD_*, GCONV_PATH,
// GLIBC_TUNABLES, ...: the dynamic loader's and libc's ways to load code or files). Pure.
bool IsLoaderVariable(std::string_view entry);

// The environment posix_spawn starts the (first wrapper of the) process with: spec.env, less the
// loader variables when run_as is set (WrapArgv gives them back after setpriv). Pure.
std::vector<std::string> SpawnEnvironment(const LaunchSpec& spec);

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

// The real launcher: posix_spawn with a new process group and pidfd_open; limits and run_as through
// the wrappers (WrapArgv).
std::unique_ptr<ProcessLauncher> NewPosixProcessLauncher(WrapperPaths wrappers = {});

}  // namespace cutover::runtime
