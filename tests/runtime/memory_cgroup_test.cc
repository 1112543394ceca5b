// MemoryCgroups: finding the memory controller, and (as root on a cgroup v1 machine) instances
// limited, OOM-killed, counted and cleaned up by the kernel's own accounting.
#include "runtime/memory_cgroup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "runtime/process_launcher.h"

namespace cutover::runtime {
namespace {

namespace fs = std::filesystem;

// This machine's kind of layout: cgroup v1 hierarchies, memory among them, and an empty cgroup2.
constexpr char kHybridMountinfo[] =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr char kHybridCgroup[] =
    "4:memory:/process_api/7128d8\n"
    "1:cpu:/\n"
    "0::/\n";

TEST(LocateMemoryCgroupTest, PrefersTheV1HierarchyThatHoldsTheMemoryController) {
  Result<CgroupLocation> where = LocateMemoryCgroup(kHybridMountinfo, kHybridCgroup);
  ASSERT_TRUE(where.ok()) << where.status().ToString();
  EXPECT_EQ(where->version, CgroupVersion::kV1);
  EXPECT_EQ(where->dir, "/sys/fs/cgroup/memory/process_api/7128d8");
}

TEST(LocateMemoryCgroupTest, FindsTheUnifiedHierarchy) {
  Result<CgroupLocation> where = LocateMemoryCgroup(
      "25 20 0:22 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n",
      "0::/system.slice/cutover.service\n");
  ASSERT_TRUE(where.ok()) << where.status().ToString();
  EXPECT_EQ(where->version, CgroupVersion::kV2);
  EXPECT_EQ(where->dir, "/sys/fs/cgroup/system.slice/cutover.service");
}

TEST(LocateMemoryCgroupTest, PathsAreTakenRelativeToTheMountsRootAndUnescaped) {
  // A container's view: the hierarchy mounted from /docker/abc, at a path with a space.
  Result<CgroupLocation> where = LocateMemoryCgroup(
      "40 30 0:37 /docker/abc /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n", "0::/docker/abc/x\n");
  ASSERT_TRUE(where.ok()) << where.status().ToString();
  EXPECT_EQ(where->dir, "/mnt/my cgroups/x");
  // A process outside the mount's root, or outside its cgroup namespace, cannot be reached
  // through it.
  EXPECT_FALSE(LocateMemoryCgroup("40 30 0:37 /docker/abc /c rw - cgroup2 cgroup2 rw\n",
                                  "0::/docker/abcd/x\n")
                   .ok());
  EXPECT_FALSE(LocateMemoryCgroup("25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                  "0::/../../system.slice\n")
                   .ok());
  EXPECT_FALSE(
      LocateMemoryCgroup("40 30 0:37 /docker/abc /c rw - cgroup2 cgroup2 rw\n", "0::/elsewhere\n")
          .ok());
}

TEST(LocateMemoryCgroupTest, NoHierarchyIsNotFound) {
  Result<CgroupLocation> where = LocateMemoryCgroup(
      "30 22 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", "1:cpu:/\n");
  EXPECT_EQ(where.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(LocateMemoryCgroup("", "").ok());
}

TEST(ParseOomKillsTest, ReadsV1AndV2Counters) {
  EXPECT_EQ(ParseOomKills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3u);
  EXPECT_EQ(ParseOomKills("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n"), 1u);
  EXPECT_EQ(ParseOomKills("oom_kill_disable 0\nunder_oom 0\n"), 0u);  // kernels before 4.13
}

TEST(MemoryCgroupWrapTest, TheShellJoinsTheCgroupBeforeTheOtherWrappers) {
  WrapperPaths w{.shell = "/x/sh", .prlimit = "/x/prlimit", .setpriv = "/x/setpriv"};
  LaunchSpec spec{.argv = {"/usr/bin/node", "i.mjs"}, .env = {}, .cwd = {}, .max_processes = 9};
  spec.cgroup_procs = "/cg/i1/cgroup.procs";
  EXPECT_EQ(WrapArgv(spec, w, 1234),
            (std::vector<std::string>{"/x/sh", "-c", R"(echo $$ > "$0" && exec "$@")",
                                      "/cg/i1/cgroup.procs", "/x/prlimit", "--nproc=9", "--",
                                      "/usr/bin/node", "i.mjs"}));
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// How many processes a cgroup holds.
size_t Processes(const fs::path& cgroup) {
  std::string procs = ReadText(cgroup / "cgroup.procs");
  return static_cast<size_t>(std::count(procs.begin(), procs.end(), '\n'));
}

// Polls `condition` every 10 ms until it holds or 10 s pass (a condition with a deadline).
template <typename F>
bool Eventually(F condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A pid no process has: above the kernel's largest.
pid_t PidNoProcessHas() {
  std::ifstream in("/proc/sys/kernel/pid_max");
  pid_t max = 4194304;
  in >> max;
  return max + 1;
}

// The kernel's side, where this process may make memory cgroups (root, cgroup v1 here). Each test
// works in a private cgroup below this process's (`cutover-test.<pid>`, which no daemon's start
// takes for a departed daemon's), so that the daemons and tests ctest runs beside it cannot touch
// what it makes.
class MemoryCgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<CgroupLocation> own =
        LocateMemoryCgroup(ReadText("/proc/self/mountinfo"), ReadText("/proc/self/cgroup"));
    // As root on a cgroup v1 machine (this one, CI) the tests must run, not skip.
    const bool expected = ::geteuid() == 0 && fs::exists("/sys/fs/cgroup/memory/cgroup.procs");
    if (!own.ok()) {
      if (expected) FAIL() << own.status().ToString();
      GTEST_SKIP() << "no memory cgroup here: " << own.status().message();
    }
    where_ = {own->version, own->dir / ("cutover-test." + std::to_string(::getpid()))};
    std::error_code ec;
    fs::create_directory(where_.dir, ec);
    Result<std::shared_ptr<MemoryCgroups>> opened = MemoryCgroups::Open(where_, ::getpid());
    if (!opened.ok()) {
      if (expected) FAIL() << opened.status().ToString();
      GTEST_SKIP() << "no memory cgroup here: " << opened.status().message();
    }
    cgroups_ = *opened;
  }
  void TearDown() override {
    cgroups_.reset();
    if (!where_.dir.empty()) KillAndRemoveCgroup(where_.dir);
  }

  // Polls TryReap (a condition with a deadline).
  static std::optional<ExitStatus> WaitExit(ProcessLauncher& launcher, pid_t pid) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto st = launcher.TryReap(pid)) return st;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  CgroupLocation where_;
  std::shared_ptr<MemoryCgroups> cgroups_;
};

TEST_F(MemoryCgroupsTest, AProcessPastItsLimitIsKilledAndCounted) {
  Result<fs::path> cgroup = cgroups_->Create(32 << 20);
  ASSERT_TRUE(cgroup.ok()) << cgroup.status().ToString();
  EXPECT_EQ(cgroup->parent_path(), cgroups_->dir());
  auto launcher = NewPosixProcessLauncher();
  // Its /proc/self/cgroup names the cgroup before it allocates (and its children are in it too).
  auto p = launcher->Launch(
      {.argv = {"/bin/sh", "-c",
                "grep -q \"$CG\\$\" /proc/self/cgroup && python3 -c 'bytearray(100 << 20)'"},
       .env = {"CG=" + cgroup->filename().string(), "PATH=/usr/bin:/bin"},
       .cwd = {},
       .cgroup_procs = *cgroup / "cgroup.procs"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::optional<ExitStatus> st = WaitExit(*launcher, p->pid);
  ASSERT_TRUE(st.has_value());
  // The shell's child (python) was the one killed; the shell reports it as 128 + 9.
  EXPECT_EQ(st->code, 128 + SIGKILL) << st->Describe();
  CgroupUsage usage = cgroups_->Usage(*cgroup);
  EXPECT_EQ(usage.oom_kills, 1u);
  EXPECT_GE(usage.peak_bytes, 30u << 20);
  EXPECT_LE(usage.peak_bytes, 32u << 20);
  cgroups_->Release(*cgroup);
  EXPECT_EQ(cgroups_->Sweep(), 0u);
  EXPECT_FALSE(fs::exists(*cgroup));
}

TEST_F(MemoryCgroupsTest, ReleaseKillsWhatStillRunsInTheCgroup) {
  Result<fs::path> cgroup = cgroups_->Create(64 << 20);
  ASSERT_TRUE(cgroup.ok()) << cgroup.status().ToString();
  auto launcher = NewPosixProcessLauncher();
  // A grandchild in its own session, out of the process group a timeout would signal.
  auto p = launcher->Launch({.argv = {"/bin/sh", "-c", "setsid sleep 120 & wait"},
                             .env = {"PATH=/usr/bin:/bin"},
                             .cwd = {},
                             .cgroup_procs = *cgroup / "cgroup.procs"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(Eventually([&] { return Processes(*cgroup) == 2; }));
  cgroups_->Release(*cgroup);
  std::optional<ExitStatus> st = WaitExit(*launcher, p->pid);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->signal, SIGKILL) << st->Describe();
  // Removed once the sleep has exited too.
  EXPECT_TRUE(Eventually([&] { return cgroups_->Sweep() == 0; }));
  EXPECT_FALSE(fs::exists(*cgroup));
}

TEST_F(MemoryCgroupsTest, OpenRemovesWhatADepartedDaemonLeft) {
  // A departed daemon's directory with one of its instances still running in it.
  const fs::path stale = where_.dir / ("cutover." + std::to_string(PidNoProcessHas()));
  fs::create_directories(stale / "i7");
  auto launcher = NewPosixProcessLauncher();
  auto p = launcher->Launch({.argv = {"/bin/sleep", "120"},
                             .env = {},
                             .cwd = {},
                             .cgroup_procs = stale / "i7" / "cgroup.procs"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(Eventually([&] { return Processes(stale / "i7") == 1; }));

  // Another daemon starting beside ours, as a second `serve` would: it kills the instance, waits
  // for it to exit and removes the directory.
  Result<std::shared_ptr<MemoryCgroups>> other = MemoryCgroups::Open(where_, PidNoProcessHas() + 1);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_FALSE(fs::exists(stale));
  std::optional<ExitStatus> st = WaitExit(*launcher, p->pid);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->signal, SIGKILL) << st->Describe();
  // Ours is not a departed daemon's.
  EXPECT_TRUE(fs::exists(cgroups_->dir()));
}

TEST_F(MemoryCgroupsTest, DestroyingRemovesTheDaemonsDirectory) {
  const fs::path dir = cgroups_->dir();
  ASSERT_TRUE(cgroups_->Create(16 << 20).ok());
  cgroups_.reset();
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace cutover::runtime
