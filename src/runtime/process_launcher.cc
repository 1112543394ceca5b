#include "runtime/process_launcher.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

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

// The permission bits that apply to `user` for a file with `st`: owner, else group, else other.
mode_t BitsFor(const RunAs& user, const struct stat& st) {
  if (user.uid == 0) return 07;  // root: the kernel's own checks decide
  if (st.st_uid == user.uid) return (st.st_mode >> 6) & 07;
  if (st.st_gid == user.gid ||
      std::find(user.groups.begin(), user.groups.end(), st.st_gid) != user.groups.end()) {
    return (st.st_mode >> 3) & 07;
  }
  return st.st_mode & 07;
}

}  // namespace

bool AccessibleBy(const RunAs& user, const std::filesystem::path& path, int need) {
  std::error_code ec;
  std::filesystem::path full = std::filesystem::absolute(path, ec);
  if (ec) return false;
  std::filesystem::path at = full.root_path();
  struct stat st {};
  for (const std::filesystem::path& part : full.relative_path()) {
    if (::stat(at.c_str(), &st) != 0 || (BitsFor(user, st) & 01) == 0) return false;
    at /= part;
  }
  if (::stat(at.c_str(), &st) != 0) return false;
  const mode_t bits = ((need & R_OK) ? 04 : 0) | ((need & X_OK) ? 01 : 0);
  return (BitsFor(user, st) & bits) == bits;
}

bool IsLoaderVariable(std::string_view entry) {
  // glibc's list of variables it removes in secure (setuid) mode, sysdeps/generic/unsecvars.h.
  static constexpr std::string_view kNames[] = {"GCONV_PATH",       "GETCONF_DIR",
                                                "GLIBC_TUNABLES",   "HOSTALIASES",
                                                "LOCALDOMAIN",      "LOCPATH",
                                                "MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST",
                                                "MALLOC_PERTURB_",  "MALLOC_TRACE",
                                                "MALLOC_TOP_PAD_",  "MALLOC_TRIM_THRESHOLD_",
                                                "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_",
                                                "NIS_PATH",         "NLSPATH",
                                                "RESOLV_HOST_CONF", "RES_OPTIONS",
                                                "TMPDIR",           "TZDIR"};
  const std::string_view name = entry.substr(0, entry.find('='));
  if (name.starts_with("LD_")) return true;
  for (std::string_view n : kNames) {
    if (name == n) return true;
  }
  return false;
}

std::vector<std::string> SpawnEnvironment(const LaunchSpec& spec) {
  if (!spec.run_as) return spec.env;
  std::vector<std::string> out;
  for (const std::string& e : spec.env) {
    if (!IsLoaderVariable(e)) out.push_back(e);
  }
  return out;
}

std::vector<std::string> WrapArgv(const LaunchSpec& spec, const WrapperPaths& wrappers,
                                  pid_t parent) {
  std::vector<std::string> out;
  if (!spec.cgroup_procs.empty()) {
    // The shell's pid is the program's: it joins the cgroup, then becomes the next wrapper. A
    // cgroup that is gone fails the launch with the shell's message on stderr.
    out.push_back(wrappers.shell.string());
    out.push_back("-c");
    out.push_back(R"(echo $$ > "$0" && exec "$@")");
    out.push_back(spec.cgroup_procs.string());
  }
  if (spec.data_limit_bytes > 0 || spec.max_processes > 0) {
    out.push_back(wrappers.prlimit.string());
    if (spec.data_limit_bytes > 0) out.push_back(fmt::format("--data={}", spec.data_limit_bytes));
    if (spec.max_processes > 0) out.push_back(fmt::format("--nproc={}", spec.max_processes));
    out.push_back("--");
  }
  if (spec.run_as || spec.parent_death_signal > 0) {
    out.push_back(wrappers.setpriv.string());
  }
  if (spec.run_as) {
    out.push_back(fmt::format("--reuid={}", spec.run_as->uid));
    out.push_back(fmt::format("--regid={}", spec.run_as->gid));
    if (spec.run_as->groups.empty()) {
      out.push_back("--clear-groups");
    } else {
      std::string groups;
      for (gid_t g : spec.run_as->groups) {
        groups += (groups.empty() ? "" : ",") + std::to_string(g);
      }
      out.push_back("--groups=" + groups);
    }
    // No setuid binary can give the function back what the daemon took away.
    out.push_back("--no-new-privs");
  }
  if (spec.parent_death_signal > 0) {
    // setpriv sets it after changing the user, which clears it.
    // setpriv takes a signal's name ("TERM"), not its number.
    const char* name = ::sigabbrev_np(spec.parent_death_signal);
    out.push_back(fmt::format("--pdeathsig={}", name != nullptr ? name : "KILL"));
  }
  if (spec.run_as || spec.parent_death_signal > 0) out.push_back("--");
  if (spec.parent_death_signal > 0) {
    out.push_back(wrappers.shell.string());
    out.push_back("-c");
    out.push_back(R"([ "$PPID" = "$0" ] && exec "$@")");
    out.push_back(std::to_string(parent));
  }
  if (spec.run_as) {
    // The loader variables SpawnEnvironment held back from the root wrappers, given back as USER.
    std::vector<std::string> held;
    for (const std::string& e : spec.env) {
      if (IsLoaderVariable(e)) held.push_back(e);
    }
    if (!held.empty()) {
      out.push_back(wrappers.env.string());
      out.insert(out.end(), held.begin(), held.end());
    }
  }
  out.insert(out.end(), spec.argv.begin(), spec.argv.end());
  return out;
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

bool Executable(const std::string& path, const std::optional<RunAs>& run_as) {
  if (::access(path.c_str(), X_OK) != 0) return false;
  return !run_as || AccessibleBy(*run_as, path, X_OK);
}

// `name` itself when it holds a '/', else the first match on the daemon's PATH (what posix_spawnp
// would run), executable by `run_as` when set (a PATH may hold root's private directories, such as
// ~/.pyenv/shims); empty when there is none.
std::string ResolveProgram(const std::string& name, const std::optional<RunAs>& run_as) {
  if (name.find('/') != std::string::npos) return Executable(name, run_as) ? name : "";
  const char* env_path = std::getenv("PATH");
  std::string_view search = env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= search.size()) {
    size_t end = search.find(':', start);
    if (end == std::string_view::npos) end = search.size();
    std::string dir(search.substr(start, end - start));
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (Executable(candidate, run_as)) return candidate;
    }
    start = end + 1;
  }
  return "";
}

// While alive, the calling thread may run on every CPU the process may (the main thread's set,
// which serve never pins); the thread's own set comes back at destruction. Nothing happens when
// the two sets are the same or the kernel will not say.
class UnpinnedForSpawn {
 public:
  UnpinnedForSpawn() {
    cpu_set_t process;
    CPU_ZERO(&process);
    CPU_ZERO(&thread_);
    if (::sched_getaffinity(0, sizeof thread_, &thread_) != 0) return;
    if (::sched_getaffinity(::getpid(), sizeof process, &process) != 0) return;
    if (CPU_EQUAL(&process, &thread_)) return;
    restore_ = ::sched_setaffinity(0, sizeof process, &process) == 0;
  }
  ~UnpinnedForSpawn() {
    if (restore_) ::sched_setaffinity(0, sizeof thread_, &thread_);
  }
  UnpinnedForSpawn(const UnpinnedForSpawn&) = delete;
  UnpinnedForSpawn& operator=(const UnpinnedForSpawn&) = delete;

 private:
  cpu_set_t thread_;
  bool restore_ = false;
};

class PosixProcessLauncher final : public ProcessLauncher {
 public:
  explicit PosixProcessLauncher(WrapperPaths wrappers) : wrappers_(std::move(wrappers)) {}

  Result<LaunchedProcess> Launch(const LaunchSpec& spec) override {
    if (spec.argv.empty()) return InvalidArgument("empty argv");
    const bool wrapped = spec.data_limit_bytes > 0 || spec.max_processes > 0 || spec.run_as ||
                         !spec.cgroup_procs.empty() || spec.parent_death_signal > 0;
    std::vector<std::string> args = spec.argv;
    if (wrapped) {
      // The wrappers exec the program with execvp and the child's PATH, which the function may
      // set: resolve it here with the daemon's, as posix_spawnp does for an unwrapped program,
      // and report a missing one here rather than as the wrapper's early exit.
      std::string program = ResolveProgram(spec.argv[0], spec.run_as);
      if (program.empty()) {
        return Unavailable(
            spec.run_as
                ? fmt::format("cannot execute {}: not found or not executable by uid {}",
                              spec.argv[0], spec.run_as->uid)
                : fmt::format("cannot execute {}: not found or not executable", spec.argv[0]));
      }
      if (spec.run_as && program.find('=') != std::string::npos) {
        // `env` (WrapArgv) would take it for one more NAME=VALUE.
        return InvalidArgument(
            fmt::format("cannot run {} as another user: its path contains '='", program));
      }
      LaunchSpec resolved = spec;
      resolved.argv[0] = std::move(program);
      args = WrapArgv(resolved, wrappers_, ::getpid());
    }
    CUTOVER_ASSIGN_OR_RETURN(auto out, MakePipe());
    CUTOVER_ASSIGN_OR_RETURN(auto err, MakePipe());
    if (spec.run_as) {
      // A pipe's inode is its creator's, mode 0600: without this the user could write to the
      // descriptors it inherits but not reopen them through /proc/self/fd (php-fpm's error_log).
      for (int fd : {out.second.get(), err.second.get()}) {
        if (::fchown(fd, spec.run_as->uid, spec.run_as->gid) != 0) return Errno("fchown pipe");
      }
    }

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
    argv.reserve(args.size() + 1);
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::vector<std::string> env = SpawnEnvironment(spec);
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = -1;
    int rc;
    {
      // The child inherits the calling thread's CPU affinity, and a gateway worker is pinned to
      // one core: a function (a php-fpm master and all its workers) would be confined to it. It
      // gets the daemon's own set instead, so a busy one can move to an idle core.
      const UnpinnedForSpawn unpinned;
      // posix_spawnp searches the daemon's PATH for bare names; glibc reports exec failures here.
      rc = ::posix_spawnp(&pid, argv[0], actions, setup.attr(), argv.data(), envp.data());
    }
    if (rc != 0) {
      return Unavailable(fmt::format("cannot execute {}: {}", args[0], std::strerror(rc)));
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

 private:
  const WrapperPaths wrappers_;
};

}  // namespace

std::unique_ptr<ProcessLauncher> NewPosixProcessLauncher(WrapperPaths wrappers) {
  return std::make_unique<PosixProcessLauncher>(std::move(wrappers));
}

}  // namespace cutover::runtime
