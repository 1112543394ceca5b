// What tests read from /proc about the processes and threads the code under test starts: whether
// one has ended, whose child it is, which CPUs it may use, what it has cost. One parser for
// /proc/PID/stat (whose command name may hold spaces and parentheses) and one for the
// "Key:<tab>value" lines of /proc/PID/status, for unit and integration tests alike.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cutover::procfs {

namespace fs = std::filesystem;

// /proc/PID; /proc/self is `Dir("self")`, and a thread's directory is `Dir(pid) / "task" / tid`.
inline fs::path Dir(pid_t pid) { return fs::path("/proc") / std::to_string(pid); }
inline fs::path Dir(const std::string& name) { return fs::path("/proc") / name; }

// The fields of DIR/stat this code uses (proc(5) numbers them 3, 4, 5, 14 and 15).
struct Stat {
  char state = 0;  // 'R', 'S', 'Z', ...
  pid_t ppid = 0;
  pid_t pgrp = 0;
  double cpu_seconds = 0;  // utime + stime
};

// nullopt when DIR is gone (the process ended and was reaped) or unreadable.
inline std::optional<Stat> ReadStat(const fs::path& dir) {
  std::ifstream in(dir / "stat");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');  // the last one: the name itself may hold ')'
  if (paren == std::string::npos) return std::nullopt;
  Stat s;
  unsigned long utime = 0;
  unsigned long stime = 0;
  // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  if (std::sscanf(text.c_str() + paren + 1, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                  &s.state, &s.ppid, &s.pgrp, &utime, &stime) != 5) {
    return std::nullopt;
  }
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return s;
}

// Whether `pid` has ended: no such process, or a zombie waiting for whoever reaps it (a
// container's init may never).
inline bool Ended(pid_t pid) {
  const std::optional<Stat> s = ReadStat(Dir(pid));
  return !s || s->state == 'Z';
}

// The value of DIR/status's "KEY:" line, without the blanks after the colon; "" when absent.
inline std::string StatusField(const fs::path& dir, std::string_view key) {
  std::ifstream in(dir / "status");
  for (std::string line; std::getline(in, line);) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ':') {
      const size_t value = line.find_first_not_of(" \t", key.size() + 1);
      return value == std::string::npos ? "" : line.substr(value);
    }
  }
  return "";
}

// The pids of every process now in /proc.
inline std::vector<pid_t> AllPids() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    out.push_back(static_cast<pid_t>(std::atoi(name.c_str())));
  }
  return out;
}

// The live (not zombie) processes whose parent is `parent`.
inline std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : AllPids()) {
    const std::optional<Stat> s = ReadStat(Dir(pid));
    if (s && s->ppid == parent && s->state != 'Z') out.push_back(pid);
  }
  return out;
}

// The NUL-separated command line of `pid`; "" when it is gone.
inline std::string Cmdline(pid_t pid) {
  std::ifstream in(Dir(pid) / "cmdline", std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Each thread of `pid` as (its name, its /proc/PID/task/TID directory).
inline std::vector<std::pair<std::string, fs::path>> ThreadsOf(pid_t pid) {
  std::vector<std::pair<std::string, fs::path>> out;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator(Dir(pid) / "task", ec)) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    out.emplace_back(std::move(name), task.path());
  }
  return out;
}

}  // namespace cutover::procfs
