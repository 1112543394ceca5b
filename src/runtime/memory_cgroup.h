// MemoryCgroups: a function's memorySize enforced by the kernel's memory controller, one cgroup per
// instance, as Lambda enforces it.
//
// Where the daemon may create cgroups below its own in a hierarchy that has the memory controller
// (cgroup v2, or cgroup v1's memory hierarchy), Open() makes `<own cgroup>/cutover.<pid>` and every
// instance gets a child of it, limited to its memorySize (v2 memory.max, v1 memory.limit_in_bytes)
// with no swap. The kernel then charges everything the instance's processes touch, their children
// included, and at the limit its OOM killer SIGKILLs the largest of them; the pool sees the kill in
// the cgroup's oom_kill counter and reports Runtime.OutOfMemory. Where no such cgroup can be made
// (not root and nothing delegated, no memory controller), `serve` falls back to RLIMIT_DATA per
// process (LaunchSpec::data_limit_bytes), which bounds allocations but not page cache or a
// process's children together.
//
//   <own>/                        the daemon's cgroup when it started
//   <own>/cutover.<pid>/          this daemon's instances (v2: +memory in its subtree_control)
//   <own>/cutover.<pid>/i<N>/     one instance's process tree
//
// cgroup v2 lets processes live only in the leaves of a subtree with controllers enabled ("no
// internal processes"). When `<own>` does not yet hand the memory controller to its children,
// Open() moves the daemon into a leaf of its own, `<own>/cutover.<pid>.daemon`, and enables it;
// when other processes share `<own>` that fails (EBUSY) and the daemon is moved back; so it is,
// with `<own>` as it was, when the MemoryCgroups is destroyed.
//
// Open() also removes what a daemon that is gone (SIGKILLed, say) left: `cutover.<N>` directories
// whose process N no longer exists, SIGKILLing anything still in them (unless something in them
// belongs to another pid namespace, where N may well be alive). One MemoryCgroups per process.
//
// A process joins its cgroup before its program's first instruction: the launcher execs a shell
// that writes its own pid into the cgroup's cgroup.procs and then execs the rest
// (LaunchSpec::cgroup_procs, WrapArgv).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::runtime {

enum class CgroupVersion { kV1 = 1, kV2 = 2 };

// The daemon's own cgroup in the hierarchy that holds the memory controller.
struct CgroupLocation {
  CgroupVersion version = CgroupVersion::kV2;
  std::filesystem::path dir;
};

// Where the memory controller is, from the texts of /proc/self/mountinfo and /proc/self/cgroup: a
// cgroup v1 hierarchy mounted with the `memory` option when there is one (a controller lives in one
// hierarchy only), else the cgroup2 mount (whether it offers `memory` is Open()'s to find out).
// NotFound when neither is mounted or the process's path in it is unknown. Pure.
Result<CgroupLocation> LocateMemoryCgroup(std::string_view mountinfo, std::string_view proc_cgroup);

// The `oom_kill N` count of v2's memory.events or v1's memory.oom_control; 0 when absent. Pure.
uint64_t ParseOomKills(std::string_view text);

struct CgroupUsage {
  uint64_t peak_bytes = 0;  // v1 memory.max_usage_in_bytes, v2 memory.peak; 0 when unknown
  uint64_t oom_kills = 0;   // processes of the cgroup the OOM killer killed
};

class MemoryCgroups {
 public:
  // Makes `where.dir/cutover.<self>` (see above) after removing what departed daemons left.
  // Unavailable, with the reason, when the controller is missing or the directory cannot be made or
  // set up; nothing is left behind then.
  static Result<std::shared_ptr<MemoryCgroups>> Open(const CgroupLocation& where, pid_t self);
  // Open() at LocateMemoryCgroup of this process.
  static Result<std::shared_ptr<MemoryCgroups>> OpenForThisProcess();

  // Removes this daemon's directory and the instance cgroups still there (their processes
  // SIGKILLed, waiting up to a second for them to exit); on v2 moves the daemon back out of its
  // leaf.
  ~MemoryCgroups();
  MemoryCgroups(const MemoryCgroups&) = delete;
  MemoryCgroups& operator=(const MemoryCgroups&) = delete;

  CgroupVersion version() const { return version_; }
  const std::filesystem::path& dir() const { return dir_; }
  // "cgroup v1 memory.limit_in_bytes per instance, under /sys/fs/cgroup/memory/cutover.42"
  std::string Describe() const;

  // A new cgroup for one process tree: at most `limit_bytes` of memory and no swap. Returns its
  // directory; the process joins through `<dir>/cgroup.procs`.
  Result<std::filesystem::path> Create(uint64_t limit_bytes);
  CgroupUsage Usage(const std::filesystem::path& cgroup) const;
  // SIGKILLs whatever still runs in `cgroup` and removes it. A cgroup whose processes are still
  // exiting cannot be removed yet: it is kept and retried by Sweep() (and the next Release).
  void Release(const std::filesystem::path& cgroup);
  // Retries the removals that failed. Returns how many cgroups are still waiting.
  size_t Sweep();

  MemoryCgroups(CgroupVersion version, std::filesystem::path dir);

 private:
  const CgroupVersion version_;
  const std::filesystem::path dir_;  // <the daemon's cgroup when it started>/cutover.<pid>
  // v2, when Open moved the daemon into a leaf: its cgroup before, and the leaf (set by Open).
  std::filesystem::path parent_;
  std::filesystem::path leaf_;
  std::atomic<uint64_t> next_{1};
  std::mutex mu_;
  std::vector<std::filesystem::path> pending_;  // released, not removed yet
};

// SIGKILLs every process in `cgroup` (v2's cgroup.kill where there is one) and removes the
// directory and any below it. False when something is left (processes still exiting).
bool KillAndRemoveCgroup(const std::filesystem::path& cgroup);

}  // namespace cutover::runtime
