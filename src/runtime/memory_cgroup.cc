#include "runtime/memory_cgroup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace cutover::runtime {

namespace fs = std::filesystem;

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Contains(std::string_view list, std::string_view item, char sep) {
  for (std::string_view x : Split(list, sep)) {
    if (x == item) return true;
  }
  return false;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') octal = false;
        v = v * 8 + (s[i + k] - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// `path` (a process's cgroup path) below a mount whose root is `root`, at `mount_point`. None when
// the path is outside that root, or outside the process's cgroup namespace ("/../x").
std::optional<fs::path> Below(const std::string& mount_point, const std::string& root,
                              std::string_view path) {
  if (path.find("/..") != std::string_view::npos) return std::nullopt;
  std::string_view rest = path;
  if (root != "/") {
    if (rest.substr(0, root.size()) != root) return std::nullopt;
    rest.remove_prefix(root.size());
    if (!rest.empty() && rest.front() != '/') return std::nullopt;  // /docker/abc vs /docker/abcd
  }
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  fs::path dir = mount_point;
  if (!rest.empty()) dir /= std::string(rest);
  return dir;
}

std::string ReadSmallFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A v2 list file ("cpu io memory\n") without its newline.
std::string ControlWords(const fs::path& path) {
  std::string text = ReadSmallFile(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

uint64_t ReadNumber(const fs::path& path) {
  std::string text = ReadSmallFile(path);
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// Writes `value` to a cgroup control file in one write(2), as the kernel wants it.
Status WriteControl(const fs::path& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable(fmt::format("{}: {}", path.string(), std::strerror(errno)));
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return Unavailable(fmt::format("writing {} to {}: {}", value, path.string(),
                                   n < 0 ? std::strerror(err) : "short write"));
  }
  return Status::Ok();
}

// The processes of a cgroup as this process sees them: 0 stands for one in another pid namespace.
std::vector<pid_t> Procs(const fs::path& cgroup) {
  std::vector<pid_t> out;
  std::istringstream in(ReadSmallFile(cgroup / "cgroup.procs"));
  pid_t pid;
  while (in >> pid) out.push_back(pid);
  return out;
}

// Whether a process this one cannot see (another pid namespace's) is in `cgroup` or below it.
bool HoldsHiddenProcesses(const fs::path& cgroup) {
  for (pid_t pid : Procs(cgroup)) {
    if (pid <= 0) return true;
  }
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(cgroup, ec)) {
    if (e.is_directory(ec) && HoldsHiddenProcesses(e.path())) return true;
  }
  return false;
}

// A `cutover.<N>` (or v2's `cutover.<N>.daemon`) directory whose daemon N is gone: no process N in
// this pid namespace, and nothing in it from another (whose daemon we could not see).
bool LeftByDepartedDaemon(const fs::path& dir, pid_t self) {
  constexpr std::string_view kPrefix = "cutover.";
  const std::string name = dir.filename().string();
  if (name.rfind(kPrefix, 0) != 0) return false;
  std::string_view rest = std::string_view(name).substr(kPrefix.size());
  if (rest.ends_with(".daemon")) rest.remove_suffix(std::string_view(".daemon").size());
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
  if (ec != std::errc() || p != rest.data() + rest.size() || pid <= 0 || pid == self) return false;
  return ::kill(pid, 0) != 0 && errno == ESRCH && !HoldsHiddenProcesses(dir);
}

// KillAndRemoveCgroup, retried for up to a second while the killed processes exit: for start and
// shutdown, never for the request path.
bool KillAndRemoveWaiting(const fs::path& cgroup) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!KillAndRemoveCgroup(cgroup)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

Result<CgroupLocation> LocateMemoryCgroup(std::string_view mountinfo,
                                          std::string_view proc_cgroup) {
  // The process's path per hierarchy: v1 "N:memory,...:/path", v2 "0::/path".
  std::optional<std::string> v1_path, v2_path;
  for (std::string_view line : Split(proc_cgroup, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1);
    std::string path(line.substr(b + 1));
    if (id == "0" && controllers.empty()) {
      v2_path = path;
    } else if (Contains(controllers, "memory", ',')) {
      v1_path = path;
    }
  }
  std::optional<CgroupLocation> v2;
  for (std::string_view line : Split(mountinfo, '\n')) {
    // "36 35 98:0 /root /mount/point rw,opts [optional...] - fstype source super,opts"
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> head = Split(line.substr(0, dash), ' ');
    std::vector<std::string_view> tail = Split(line.substr(dash + 3), ' ');
    if (head.size() < 5 || tail.size() < 3) continue;
    std::string root = Unescape(head[3]), mount_point = Unescape(head[4]);
    if (tail[0] == "cgroup" && v1_path && Contains(tail[2], "memory", ',')) {
      if (auto dir = Below(mount_point, root, *v1_path)) {
        return CgroupLocation{CgroupVersion::kV1, *dir};
      }
    } else if (tail[0] == "cgroup2" && v2_path && !v2) {
      if (auto dir = Below(mount_point, root, *v2_path)) {
        v2 = CgroupLocation{CgroupVersion::kV2, *dir};
      }
    }
  }
  if (v2) return *v2;
  return NotFound("no cgroup hierarchy with the memory controller is mounted for this process");
}

uint64_t ParseOomKills(std::string_view text) {
  for (std::string_view line : Split(text, '\n')) {
    constexpr std::string_view kKey = "oom_kill ";
    if (line.rfind(kKey, 0) != 0) continue;
    line.remove_prefix(kKey.size());
    uint64_t v = 0;
    std::from_chars(line.data(), line.data() + line.size(), v);
    return v;
  }
  return 0;
}

bool KillAndRemoveCgroup(const fs::path& cgroup) {
  std::error_code ec;
  if (!fs::exists(cgroup, ec)) return true;
  bool removed = true;
  for (const fs::directory_entry& e : fs::directory_iterator(cgroup, ec)) {
    if (e.is_directory(ec) && !KillAndRemoveCgroup(e.path())) removed = false;
  }
  if (fs::exists(cgroup / "cgroup.kill", ec)) {
    (void)WriteControl(cgroup / "cgroup.kill", "1");
  } else {
    for (pid_t pid : Procs(cgroup)) {
      if (pid > 0) ::kill(pid, SIGKILL);  // never kill(0): this process's own group
    }
  }
  // rmdir succeeds once the processes have exited (reaped or not); a cgroup directory is empty of
  // regular files as far as rmdir is concerned.
  if (::rmdir(cgroup.c_str()) != 0 && errno != ENOENT) removed = false;
  return removed;
}

MemoryCgroups::MemoryCgroups(CgroupVersion version, fs::path dir)
    : version_(version), dir_(std::move(dir)) {}

Result<std::shared_ptr<MemoryCgroups>> MemoryCgroups::Open(const CgroupLocation& where,
                                                           pid_t self) {
  std::error_code ec;
  const fs::path parent = where.dir;
  if (!fs::is_directory(parent, ec)) {
    return Unavailable(fmt::format("{} is not a directory", parent.string()));
  }
  if (where.version == CgroupVersion::kV2) {
    std::string offered = ControlWords(parent / "cgroup.controllers");
    if (!Contains(offered, "memory", ' ')) {
      return Unavailable(fmt::format("the memory controller is not available in {} (it offers: {})",
                                     parent.string(), offered.empty() ? "none" : offered));
    }
  }
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    if (e.is_directory(ec) && LeftByDepartedDaemon(e.path(), self)) KillAndRemoveWaiting(e.path());
  }
  const fs::path dir = parent / fmt::format("cutover.{}", self);
  // From here on, a failure returns through the destructor, which undoes what was done.
  auto cgroups = std::make_shared<MemoryCgroups>(where.version, dir);
  if (where.version == CgroupVersion::kV2 &&
      !Contains(ControlWords(parent / "cgroup.subtree_control"), "memory", ' ')) {
    // No internal processes: the daemon leaves `parent` for a leaf before `parent` may hand the
    // memory controller to its children.
    const fs::path leaf = parent / fmt::format("cutover.{}.daemon", self);
    if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
      return Unavailable(fmt::format("mkdir {}: {}", leaf.string(), std::strerror(errno)));
    }
    cgroups->parent_ = parent;
    cgroups->leaf_ = leaf;
    CUTOVER_RETURN_IF_ERROR(WriteControl(leaf / "cgroup.procs", std::to_string(self)));
    if (Status st = WriteControl(parent / "cgroup.subtree_control", "+memory"); !st.ok()) {
      return st.WithPrefix(
          "cannot delegate the memory controller (do other processes share the daemon's cgroup?)");
    }
  }
  // A directory of our pid is a departed process's that had it before us: nothing of ours yet.
  if (fs::exists(dir, ec)) KillAndRemoveWaiting(dir);
  if (::mkdir(dir.c_str(), 0755) != 0) {
    return Unavailable(fmt::format("mkdir {}: {}", dir.string(), std::strerror(errno)));
  }
  if (where.version == CgroupVersion::kV2) {
    CUTOVER_RETURN_IF_ERROR(WriteControl(dir / "cgroup.subtree_control", "+memory"));
  }
  // The proof: a child that takes a limit.
  Result<fs::path> probe = cgroups->Create(64 << 20);
  if (!probe.ok()) return probe.status();
  cgroups->Release(*probe);
  return cgroups;
}

Result<std::shared_ptr<MemoryCgroups>> MemoryCgroups::OpenForThisProcess() {
  Result<CgroupLocation> where =
      LocateMemoryCgroup(ReadSmallFile("/proc/self/mountinfo"), ReadSmallFile("/proc/self/cgroup"));
  if (!where.ok()) return where.status();
  return Open(*where, ::getpid());
}

MemoryCgroups::~MemoryCgroups() {
  Sweep();
  KillAndRemoveWaiting(dir_);
  if (!leaf_.empty()) {
    // Back where the daemon started, with `parent_` as it was: a process may join it again.
    (void)WriteControl(parent_ / "cgroup.subtree_control", "-memory");
    (void)WriteControl(parent_ / "cgroup.procs", std::to_string(::getpid()));
    ::rmdir(leaf_.c_str());
  }
}

std::string MemoryCgroups::Describe() const {
  return fmt::format("cgroup v{} {} per instance, under {}", static_cast<int>(version_),
                     version_ == CgroupVersion::kV1 ? "memory.limit_in_bytes" : "memory.max",
                     dir_.string());
}

Result<fs::path> MemoryCgroups::Create(uint64_t limit_bytes) {
  fs::path cg;
  for (int attempt = 0;; ++attempt) {
    cg = dir_ / fmt::format("i{}", next_.fetch_add(1, std::memory_order_relaxed));
    if (::mkdir(cg.c_str(), 0755) == 0) break;
    // EEXIST: one not yet removed (Release retries it); take the next number.
    if (errno != EEXIST || attempt == 100) {
      return Unavailable(fmt::format("mkdir {}: {}", cg.string(), std::strerror(errno)));
    }
  }
  const std::string limit = std::to_string(limit_bytes);
  Status st;
  if (version_ == CgroupVersion::kV1) {
    st = WriteControl(cg / "memory.limit_in_bytes", limit);
    // memory+swap at the same figure: no swap. Absent without swap accounting.
    std::error_code ec;
    if (st.ok() && fs::exists(cg / "memory.memsw.limit_in_bytes", ec)) {
      (void)WriteControl(cg / "memory.memsw.limit_in_bytes", limit);
    }
    // Without swap accounting (no memsw files) this is what keeps the instance out of swap.
    if (st.ok()) (void)WriteControl(cg / "memory.swappiness", "0");
  } else {
    st = WriteControl(cg / "memory.max", limit);
    std::error_code ec;
    if (st.ok() && fs::exists(cg / "memory.swap.max", ec)) {
      (void)WriteControl(cg / "memory.swap.max", "0");
    }
  }
  if (!st.ok()) {
    ::rmdir(cg.c_str());
    return st;
  }
  return cg;
}

CgroupUsage MemoryCgroups::Usage(const fs::path& cgroup) const {
  CgroupUsage u;
  if (version_ == CgroupVersion::kV1) {
    u.peak_bytes = ReadNumber(cgroup / "memory.max_usage_in_bytes");
    u.oom_kills = ParseOomKills(ReadSmallFile(cgroup / "memory.oom_control"));
  } else {
    u.peak_bytes = ReadNumber(cgroup / "memory.peak");  // Linux 5.19 and later
    u.oom_kills = ParseOomKills(ReadSmallFile(cgroup / "memory.events"));
  }
  return u;
}

void MemoryCgroups::Release(const fs::path& cgroup) {
  bool removed = KillAndRemoveCgroup(cgroup);
  std::lock_guard lock(mu_);
  if (!removed) pending_.push_back(cgroup);
}

size_t MemoryCgroups::Sweep() {
  std::vector<fs::path> pending;
  {
    std::lock_guard lock(mu_);
    pending.swap(pending_);
  }
  std::vector<fs::path> left;
  for (const fs::path& cg : pending) {
    if (!KillAndRemoveCgroup(cg)) left.push_back(cg);
  }
  std::lock_guard lock(mu_);
  pending_.insert(pending_.end(), left.begin(), left.end());
  return pending_.size();
}

}  // namespace cutover::runtime
