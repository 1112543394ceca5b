#include "runtime/process_launcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "runtime_fixture.h"
#include "support/procfs.h"

namespace cutover::runtime {
namespace {

struct Output {
  std::string out;
  std::string err;
};

// Reads both pipes until end of file (the process and everything it started closed them).
Output ReadAll(LaunchedProcess& p) {
  Output o;
  bool open_out = true, open_err = true;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((open_out || open_err) && std::chrono::steady_clock::now() < end) {
    pollfd fds[2] = {{p.stdout_fd.get(), POLLIN, 0}, {p.stderr_fd.get(), POLLIN, 0}};
    ::poll(fds, 2, 100);
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      bool& open = i == 0 ? open_out : open_err;
      if (!open || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        (i == 0 ? o.out : o.err).append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        open = false;
      }
    }
  }
  return o;
}

ExitStatus WaitExit(ProcessLauncher& launcher, LaunchedProcess& p) {
  // The pidfd says when; TryReap collects.
  if (p.exit_fd.valid()) {
    pollfd fd{p.exit_fd.get(), POLLIN, 0};
    EXPECT_EQ(::poll(&fd, 1, 20000), 1);
  }
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < end) {
    if (auto st = launcher.TryReap(p.pid)) return *st;
    ::poll(nullptr, 0, 5);
  }
  ADD_FAILURE() << "process did not exit";
  return {};
}

TEST(ProcessLauncherTest, RunsWithEnvironmentCwdAndSeparatePipes) {
  auto launcher = NewPosixProcessLauncher();
  std::filesystem::path cwd = std::filesystem::temp_directory_path();
  auto p =
      launcher->Launch({.argv = {"/bin/sh", "-c", "echo out; echo err >&2; pwd; echo $FOO; exit 7"},
                        .env = {"FOO=bar"},
                        .cwd = cwd});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->exit_fd.valid());
  Output o = ReadAll(*p);
  EXPECT_EQ(o.out, "out\n" + std::filesystem::canonical(cwd).string() + "\nbar\n");
  EXPECT_EQ(o.err, "err\n");
  ExitStatus st = WaitExit(*launcher, *p);
  EXPECT_EQ(st.code, 7);
  EXPECT_EQ(st.signal, 0);
  EXPECT_EQ(st.Describe(), "exit status 7");
}

TEST(ProcessLauncherTest, FindsBareNamesInPath) {
  auto launcher = NewPosixProcessLauncher();
  auto p = launcher->Launch({.argv = {"sh", "-c", "exit 0"}, .env = {}, .cwd = {}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(WaitExit(*launcher, *p).code, 0);
}

TEST(ProcessLauncherTest, MissingProgramFailsToLaunch) {
  auto launcher = NewPosixProcessLauncher();
  auto p = launcher->Launch({.argv = {"/nonexistent/bootstrap"}, .env = {}, .cwd = {}});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("/nonexistent/bootstrap"), std::string::npos);
}

TEST(ProcessLauncherTest, ChildLeadsItsOwnProcessGroup) {
  auto launcher = NewPosixProcessLauncher();
  auto p = launcher->Launch(
      {.argv = {"/bin/sh", "-c", "echo $$ $(cut -d' ' -f5 /proc/$$/stat)"}, .env = {}, .cwd = {}});
  ASSERT_TRUE(p.ok());
  Output o = ReadAll(*p);
  std::string expected = std::to_string(p->pid) + " " + std::to_string(p->pid) + "\n";
  EXPECT_EQ(o.out, expected);
  WaitExit(*launcher, *p);
}

TEST(ProcessLauncherTest, SignalGroupReachesGrandchildren) {
  auto launcher = NewPosixProcessLauncher();
  auto p = launcher->Launch(
      {.argv = {"/bin/sh", "-c", "sleep 120 & echo $!; wait"}, .env = {}, .cwd = {}});
  ASSERT_TRUE(p.ok());
  // Wait for the grandchild's pid line.
  std::string line;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < end) {
    pollfd fd{p->stdout_fd.get(), POLLIN, 0};
    ::poll(&fd, 1, 100);
    char buf[64];
    ssize_t n = ::read(p->stdout_fd.get(), buf, sizeof(buf));
    if (n > 0) line.append(buf, static_cast<size_t>(n));
  }
  int grandchild = std::stoi(line);
  launcher->SignalGroup(p->pid, SIGKILL);
  ExitStatus st = WaitExit(*launcher, *p);
  EXPECT_EQ(st.signal, SIGKILL);
  EXPECT_EQ(st.Describe(), "signal: killed");
  // Both pipes reach end of file: nothing in the group holds them any more.
  ReadAll(*p);
  auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!procfs::Ended(grandchild) && std::chrono::steady_clock::now() < gone_by) {
    ::poll(nullptr, 0, 5);
  }
  EXPECT_TRUE(procfs::Ended(grandchild));
}

TEST(ProcessLauncherTest, TryReapKillsWhatTheLeaderLeftBehind) {
  auto launcher = NewPosixProcessLauncher();
  auto p =
      launcher->Launch({.argv = {"/bin/sh", "-c", "sleep 120 & exit 3"}, .env = {}, .cwd = {}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(WaitExit(*launcher, *p).code, 3);
  // The orphaned sleep held stdout; it was killed, so the pipes end.
  auto start = std::chrono::steady_clock::now();
  ReadAll(*p);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(ProcessLauncherTest, DaemonDescriptorsAreNotInherited) {
  int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  int high = ::fcntl(leaked, F_DUPFD, 100);
  ::close(leaked);
  ASSERT_GE(high, 100);
  auto launcher = NewPosixProcessLauncher();
  auto p = launcher->Launch({.argv = {"/bin/sh", "-c", "ls /proc/$$/fd"}, .env = {}, .cwd = {}});
  ASSERT_TRUE(p.ok());
  Output o = ReadAll(*p);
  EXPECT_EQ(o.out.find(std::to_string(high)), std::string::npos) << o.out;
  WaitExit(*launcher, *p);
  ::close(high);
}

TEST(ProcessLauncherTest, WrapsTheProgramOnlyInWhatIsAsked) {
  WrapperPaths w{.prlimit = "/x/prlimit", .setpriv = "/x/setpriv"};
  LaunchSpec spec{.argv = {"/usr/bin/python3", "b.py"}, .env = {}, .cwd = {}};
  EXPECT_EQ(WrapArgv(spec, w, 1234), spec.argv);
  spec.data_limit_bytes = 128ull << 20;
  EXPECT_EQ(WrapArgv(spec, w, 1234), (std::vector<std::string>{"/x/prlimit", "--data=134217728", "--",
                                                         "/usr/bin/python3", "b.py"}));
  spec.max_processes = 1024;
  spec.run_as = RunAs{65534, 65534};
  EXPECT_EQ(WrapArgv(spec, w, 1234), (std::vector<std::string>{
                                   "/x/prlimit", "--data=134217728", "--nproc=1024", "--",
                                   "/x/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                   "--no-new-privs", "--", "/usr/bin/python3", "b.py"}));
  spec.data_limit_bytes = 0;
  spec.max_processes = 0;
  spec.run_as->groups = {65534, 27};
  EXPECT_EQ(
      WrapArgv(spec, w, 1234),
      (std::vector<std::string>{"/x/setpriv", "--reuid=65534", "--regid=65534", "--groups=65534,27",
                                "--no-new-privs", "--", "/usr/bin/python3", "b.py"}));
}

TEST(ProcessLauncherTest, AParentDeathSignalIsSetLastBySetpriv) {
  WrapperPaths w{.prlimit = "/x/prlimit", .setpriv = "/x/setpriv"};
  LaunchSpec spec{.argv = {"/usr/sbin/php-fpm8.2"}, .env = {}, .cwd = {}};
  spec.parent_death_signal = SIGTERM;
  const std::vector<std::string> check = {"/bin/sh", "-c", R"([ "$PPID" = "$0" ] && exec "$@")",
                                          "1234"};
  std::vector<std::string> want = {"/x/setpriv", "--pdeathsig=TERM", "--"};
  want.insert(want.end(), check.begin(), check.end());
  want.push_back("/usr/sbin/php-fpm8.2");
  EXPECT_EQ(WrapArgv(spec, w, 1234), want);
  // After the change of user, which would clear it.
  spec.run_as = RunAs{65534, 65534};
  want = {"/x/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
          "--pdeathsig=TERM", "--"};
  want.insert(want.end(), check.begin(), check.end());
  want.push_back("/usr/sbin/php-fpm8.2");
  EXPECT_EQ(WrapArgv(spec, w, 1234), want);
}

// A gateway worker is pinned to one core; what it launches must not be (a php-fpm master and
// its workers were all confined to the worker's core), and the worker stays pinned.
TEST(ProcessLauncherTest, AProcessLaunchedFromAPinnedThreadMayRunOnEveryCpu) {
  cpu_set_t all;
  CPU_ZERO(&all);
  ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
  if (CPU_COUNT(&all) < 2) GTEST_SKIP() << "one CPU: nothing to pin";
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  auto launcher = NewPosixProcessLauncher();
  LaunchSpec spec{.argv = {"/bin/sh", "-c", "grep Cpus_allowed_list /proc/$$/status"},
                  .env = {},
                  .cwd = {}};
  Result<LaunchedProcess> p = InvalidArgument("not launched");
  std::string thread_after;
  std::thread([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
    p = launcher->Launch(spec);
    thread_after = procfs::StatusField(procfs::Dir("self") / "task" / std::to_string(::gettid()),
                                       "Cpus_allowed_list");
  }).join();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Output o = ReadAll(*p);
  EXPECT_EQ(o.out, "Cpus_allowed_list:\t" +
                       procfs::StatusField(procfs::Dir("self"), "Cpus_allowed_list") + "\n");
  EXPECT_EQ(thread_after, std::to_string(first));
  WaitExit(*launcher, *p);
}

// What a daemon killed with SIGKILL leaves behind: a process launched with a parent death signal
// gets it when the thread that launched it ends, and only then.
TEST(ProcessLauncherTest, AParentDeathSignalEndsTheProcessWithItsLaunchingThread) {
  auto launcher = NewPosixProcessLauncher();
  LaunchSpec spec{.argv = {"/bin/sleep", "60"}, .env = {}, .cwd = {}};
  spec.parent_death_signal = SIGTERM;
  Result<LaunchedProcess> p = InvalidArgument("not launched");
  bool became_sleep = false;
  std::thread([&] {
    p = launcher->Launch(spec);
    if (!p.ok()) return;
    // setpriv sets the signal just before it becomes sleep; a thread that ended before that would
    // leave nothing to send it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!became_sleep && std::chrono::steady_clock::now() < deadline) {
      std::ifstream comm("/proc/" + std::to_string(p->pid) + "/comm");
      std::string name;
      std::getline(comm, name);
      became_sleep = name == "sleep";
      if (!became_sleep) ::poll(nullptr, 0, 5);
    }
  }).join();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(became_sleep);
  ExitStatus st = WaitExit(*launcher, *p);
  EXPECT_EQ(st.signal, SIGTERM) << st.Describe();
}

// The daemon killed between the spawn and setpriv's prctl: the signal would be set after the
// parent died, and never sent. The check after setpriv ends the process instead.
TEST(ProcessLauncherTest, AProcessWhoseParentDiedBeforeItsDeathSignalWasSetEndsToo) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    // The "daemon": launches and dies at once, before the wrappers can have run.
    auto launcher = NewPosixProcessLauncher();
    LaunchSpec spec{.argv = {"/bin/sleep", "60"}, .env = {}, .cwd = {}};
    spec.parent_death_signal = SIGTERM;
    Result<LaunchedProcess> p = launcher->Launch(spec);
    const pid_t pid = p.ok() ? p->pid : -1;
    (void)!::write(pipe_fds[1], &pid, sizeof(pid));
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  pid_t pid = -1;
  ASSERT_EQ(::read(pipe_fds[0], &pid, sizeof(pid)), static_cast<ssize_t>(sizeof(pid)));
  ::close(pipe_fds[0]);
  ::waitpid(parent, nullptr, 0);
  ASSERT_GT(pid, 0);
  // Gone, or a zombie nobody reaps (a container's init may not).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!procfs::Ended(pid) && std::chrono::steady_clock::now() < deadline) ::poll(nullptr, 0, 10);
  EXPECT_TRUE(procfs::Ended(pid)) << "pid " << pid << " outlived the process that launched it";
  if (!procfs::Ended(pid)) ::kill(pid, SIGKILL);
}

// The daemon's PATH may start with a directory only root can enter (~/.pyenv/shims): the program
// is the first match the user can execute, as execvp would find as that user.
TEST(ProcessLauncherTest, RunAsFindsTheProgramThatUserCanExecute) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing the user needs root";
  std::filesystem::path dir = testing::MakeTempDir();
  std::filesystem::permissions(dir, std::filesystem::perms(0755));
  for (const char* which : {"private", "public"}) {
    std::filesystem::create_directories(dir / which);
    std::ofstream(dir / which / "cutover-probe") << "#!/bin/sh\necho " << which << "\n";
    std::filesystem::permissions(dir / which / "cutover-probe", std::filesystem::perms(0755));
  }
  std::filesystem::permissions(dir / "private", std::filesystem::perms(0700));
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path ? old_path : "";
  ::setenv(
      "PATH",
      ((dir / "private").string() + ":" + (dir / "public").string() + ":/usr/bin:/bin").c_str(), 1);
  auto launcher = NewPosixProcessLauncher();
  auto as_root =
      launcher->Launch({.argv = {"cutover-probe"}, .env = {}, .cwd = {}, .max_processes = 100});
  auto as_nobody = launcher->Launch(
      {.argv = {"cutover-probe"}, .env = {}, .cwd = {}, .run_as = RunAs{65534, 65534}});
  ::setenv("PATH", saved.c_str(), 1);
  ASSERT_TRUE(as_root.ok()) << as_root.status().ToString();
  ASSERT_TRUE(as_nobody.ok()) << as_nobody.status().ToString();
  EXPECT_EQ(ReadAll(*as_root).out, "private\n");
  EXPECT_EQ(ReadAll(*as_nobody).out, "public\n");
  WaitExit(*launcher, *as_root);
  WaitExit(*launcher, *as_nobody);
  std::filesystem::remove_all(dir);
}

TEST(ProcessLauncherTest, LimitsAreInForceWhenTheProgramStarts) {
  auto launcher = NewPosixProcessLauncher();
  // A bare name is still found on the daemon's PATH, not the child's.
  auto p = launcher->Launch({.argv = {"sh", "-c", "ulimit -d; ulimit -p"},
                             .env = {"PATH=/nonexistent"},
                             .cwd = {},
                             .data_limit_bytes = 64ull << 20,
                             .max_processes = 300});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Output o = ReadAll(*p);
  EXPECT_EQ(o.out, "65536\n300\n") << o.err;  // ulimit -d is in KiB
  EXPECT_EQ(WaitExit(*launcher, *p).code, 0);

  auto missing = launcher->Launch(
      {.argv = {"no-such-program-anywhere"}, .env = {}, .cwd = {}, .max_processes = 300});
  EXPECT_FALSE(missing.ok());
}

TEST(ProcessLauncherTest, AllocationsPastTheDataLimitFail) {
  auto launcher = NewPosixProcessLauncher();
  auto p = launcher->Launch(
      {.argv =
           {"python3", "-c",
            "import sys\ntry:\n  b = bytearray(200 << 20)\nexcept MemoryError:\n  sys.exit(42)"},
       .env = {},
       .cwd = {},
       .data_limit_bytes = 64ull << 20});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Output o = ReadAll(*p);
  EXPECT_EQ(WaitExit(*launcher, *p).code, 42) << o.err;
}

TEST(ProcessLauncherTest, RunsAsAnotherUserThatCanReopenItsOutput) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing the user needs root";
  auto launcher = NewPosixProcessLauncher();
  // /proc/self/fd/2 is what php-fpm's error_log opens.
  auto p =
      launcher->Launch({.argv = {"/bin/sh", "-c", "id -u; id -g; echo reopened > /proc/self/fd/2"},
                        .env = {},
                        .cwd = {},
                        .run_as = RunAs{65534, 65534}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Output o = ReadAll(*p);
  EXPECT_EQ(o.out, "65534\n65534\n");
  EXPECT_EQ(o.err, "reopened\n");
  EXPECT_EQ(WaitExit(*launcher, *p).code, 0);
}

// A function's LD_PRELOAD (or an LD_LIBRARY_PATH into its code) must not reach the wrappers that
// run as root before setpriv: only the program, as the user, sees it.
TEST(ProcessLauncherTest, LoaderVariablesReachOnlyTheProgramUnderRunAs) {
  LaunchSpec spec{.argv = {"/usr/bin/python3", "b.py"},
                  .env = {"LD_PRELOAD=/t/evil.so", "FOO=1", "GCONV_PATH=/t/gconv"},
                  .cwd = {},
                  .run_as = RunAs{65534, 65534}};
  EXPECT_EQ(SpawnEnvironment(spec), (std::vector<std::string>{"FOO=1"}));
  EXPECT_EQ(
      WrapArgv(spec, {.env = "/x/env", .setpriv = "/x/setpriv"}, 1234),
      (std::vector<std::string>{"/x/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                "--no-new-privs", "--", "/x/env", "LD_PRELOAD=/t/evil.so",
                                "GCONV_PATH=/t/gconv", "/usr/bin/python3", "b.py"}));
  spec.run_as.reset();  // no privilege to drop: the process gets its environment as it is
  EXPECT_EQ(SpawnEnvironment(spec), spec.env);
  EXPECT_FALSE(IsLoaderVariable("LDX=1"));
  EXPECT_TRUE(IsLoaderVariable("LD_LIBRARY_PATH=/var/task/lib"));

  if (::geteuid() != 0) GTEST_SKIP() << "changing the user needs root";
  // The dynamic loader complains once per program it finds a missing preload in: once (the
  // program), not once per root wrapper (the cgroup shell, prlimit, setpriv) as well.
  auto launcher = NewPosixProcessLauncher();
  auto p = launcher->Launch({.argv = {"/bin/sh", "-c", "echo \"$LD_PRELOAD\""},
                             .env = {"LD_PRELOAD=/nonexistent/preload.so", "PATH=/usr/bin:/bin"},
                             .cwd = {},
                             .max_processes = 1000,
                             .run_as = RunAs{65534, 65534}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Output o = ReadAll(*p);
  EXPECT_EQ(o.out, "/nonexistent/preload.so\n");
  size_t complaints = 0;
  for (size_t at = o.err.find("cannot be preloaded"); at != std::string::npos;
       at = o.err.find("cannot be preloaded", at + 1)) {
    ++complaints;
  }
  EXPECT_EQ(complaints, 1u) << o.err;
  EXPECT_EQ(WaitExit(*launcher, *p).code, 0);
}

TEST(ProcessLauncherTest, DescribesExits) {
  EXPECT_EQ((ExitStatus{.code = 0, .signal = 0}).Describe(), "exit status 0");
  EXPECT_EQ((ExitStatus{.code = -1, .signal = SIGTERM}).Describe(), "signal: terminated");
  EXPECT_EQ((ExitStatus{.code = -1, .signal = SIGSEGV}).Describe(), "signal: segmentation fault");
}

}  // namespace
}  // namespace cutover::runtime
