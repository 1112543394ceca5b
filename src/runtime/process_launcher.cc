#include "runtime/process_launcher.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace cutover::runtime {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ExitStatus::Describe() const {
  if (signal != 0) {
    switch (signal) {
      case SIGKILL:
        return "signal: killed";
      case SIGTERM:
        return "signal: terminated";
      case SIGSEGV:
        return "signal: segmentation fault";
      case SIGABRT:
        return "signal: aborted";
      default:
        return fmt::format("signal: {}", signal);
    }
  }
  if (code < 0) return "exit status unknown";
  return fmt::format("exit status {}", code);
}

namespace {

// posix_spawn's attribute and file-action objects, released on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    posix_spawnattr_destroy(&attr_);
    posix_spawn_file_actions_destroy(&actions_);
  }
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

Status Errno(std::string_view what) {
  return Internal(fmt::format("{}: {}", what, std::strerror(errno)));
}

Result<std::pair<UniqueFd, UniqueFd>> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe2");
  // The read end is ours and must never block the reader; the write end belongs to the child.
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

class PosixProcessLauncher final : public ProcessLauncher {
 public:
  Result<LaunchedProcess> Launch(const LaunchSpec& spec) override {
    if (spec.argv.empty()) return InvalidArgument("empty argv");
    CUTOVER_ASSIGN_OR_RETURN(auto out, MakePipe());
    CUTOVER_ASSIGN_OR_RETURN(auto err, MakePipe());

    SpawnSetup setup;
    // New process group led by the child: SignalGroup(pid) reaches its descendants too.
    posix_spawnattr_setpgroup(setup.attr(), 0);
    // The daemon may block or ignore signals (SIGPIPE); the function starts with defaults.
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(setup.attr(), &empty);
    posix_spawnattr_setsigdefault(setup.attr(), &all);
    posix_spawnattr_setflags(
        setup.attr(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    posix_spawn_file_actions_t* actions = setup.actions();
    posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(actions, out.second.get(), 1);
    posix_spawn_file_actions_adddup2(actions, err.second.get(), 2);
    // Sockets and pipes of the daemon (Boost.Asio does not open them close-on-exec) stay out of the
    // child.
    posix_spawn_file_actions_addclosefrom_np(actions, 3);
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(actions, spec.cwd.c_str());

    std::vector<char*> argv;
    argv.reserve(spec.argv.size() + 1);
    for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(spec.env.size() + 1);
    for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = -1;
    // posix_spawnp searches the daemon's PATH for bare names; glibc reports exec failures here.
    int rc = ::posix_spawnp(&pid, argv[0], actions, setup.attr(), argv.data(), envp.data());
    if (rc != 0) {
      return Unavailable(fmt::format("cannot execute {}: {}", spec.argv[0], std::strerror(rc)));
    }

    LaunchedProcess p;
    p.pid = pid;
    p.stdout_fd = std::move(out.first);
    p.stderr_fd = std::move(err.first);
#ifdef SYS_pidfd_open
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
      ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
      p.exit_fd = UniqueFd(pidfd);
    }
#endif
    return p;
  }

  void SignalGroup(pid_t pid, int signal) override {
    if (pid <= 0) return;
    // posix_spawn returns after the child's setpgid, so the group exists; ESRCH means it is gone.
    ::kill(-pid, signal);
  }

  std::optional<ExitStatus> TryReap(pid_t pid) override {
    // Peek first: while the exited leader is an unreaped zombie its pid (the group id) cannot be
    // reused, so this is the moment to kill what it left behind in its group (a `sleep` of a bash
    // bootstrap would otherwise keep the output pipes open).
    siginfo_t info{};
    int peek;
    do {
      peek = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (peek < 0 && errno == EINTR);
    if (peek == 0 && info.si_pid == 0) return std::nullopt;  // still running
    if (peek == 0) ::kill(-pid, SIGKILL);
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return std::nullopt;
    ExitStatus st;
    if (r < 0) return st;  // ECHILD: someone else reaped it; report an unknown exit
    if (WIFEXITED(status)) st.code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) st.signal = WTERMSIG(status);
    return st;
  }
};

}  // namespace

std::unique_ptr<ProcessLauncher> NewPosixProcessLauncher() {
  return std::make_unique<PosixProcessLauncher>();
}

}  // namespace cutover::runtime
