#include "runtime/peer_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>

namespace cutover::runtime {
namespace {

using tcp = boost::asio::ip::tcp;

// Closes a descriptor or a directory stream at scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};
struct DirCloser {
  DIR* dir;
  ~DirCloser() {
    if (dir != nullptr) ::closedir(dir);
  }
};

// The inode of the socket at the other end of (local, remote): the TCP socket whose own address
// is `remote` and whose peer is `local`. 0 when that socket has no inode (orphaned: its process
// closed it); nullopt with *error set when the kernel would not answer.
std::optional<uint64_t> PeerSocketInode(const tcp::endpoint& local, const tcp::endpoint& remote,
                                        std::string* error) {
  if (!local.address().is_v4() || !remote.address().is_v4()) {
    *error = "not an IPv4 connection";
    return std::nullopt;
  }
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) {
    *error = fmt::format("sock_diag netlink socket: {}", std::strerror(errno));
    return std::nullopt;
  }
  FdCloser closer{fd};
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof(message);
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;  // one socket, found by its addresses and ports
  message.header.nlmsg_seq = 1;
  message.request.sdiag_family = AF_INET;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = ~0u;
  message.request.id.idiag_sport = htons(remote.port());
  message.request.id.idiag_dport = htons(local.port());
  message.request.id.idiag_src[0] = htonl(remote.address().to_v4().to_uint());
  message.request.id.idiag_dst[0] = htonl(local.address().to_v4().to_uint());
  message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, &message, sizeof(message), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel)) < 0) {
    *error = fmt::format("sock_diag request: {}", std::strerror(errno));
    return std::nullopt;
  }
  alignas(nlmsghdr) char buffer[8192];
  const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
  if (n < 0) {
    *error = fmt::format("sock_diag answer: {}", std::strerror(errno));
    return std::nullopt;
  }
  auto* header = reinterpret_cast<nlmsghdr*>(buffer);
  if (!NLMSG_OK(header, static_cast<unsigned>(n))) {
    *error = "sock_diag answer is truncated";
    return std::nullopt;
  }
  if (header->nlmsg_type == NLMSG_ERROR) {
    const auto* failure = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
    if (failure->error == -ENOENT) return 0;  // no such socket any more: nobody holds it
    *error = fmt::format("sock_diag: {}", std::strerror(-failure->error));
    return std::nullopt;
  }
  if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      header->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
    *error = fmt::format("sock_diag answered message type {}", header->nlmsg_type);
    return std::nullopt;
  }
  return static_cast<const inet_diag_msg*>(NLMSG_DATA(header))->idiag_inode;
}

enum class Holds { kYes, kNo, kUnreadable };

// Whether process `pid` has a descriptor open on socket `inode`.
Holds HoldsSocket(pid_t pid, uint64_t inode) {
  const std::string dir_path = fmt::format("/proc/{}/fd", pid);
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return errno == ENOENT ? Holds::kNo : Holds::kUnreadable;
  DirCloser closer{dir};
  const std::string wanted = fmt::format("socket:[{}]", inode);
  char target[64];
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const ssize_t len = ::readlinkat(::dirfd(dir), entry->d_name, target, sizeof(target));
    if (len == static_cast<ssize_t>(wanted.size()) &&
        std::memcmp(target, wanted.data(), wanted.size()) == 0) {
      return Holds::kYes;
    }
  }
  return Holds::kNo;
}

}  // namespace

std::vector<pid_t> ProcessTree(pid_t root, bool* complete) {
  if (complete != nullptr) *complete = true;
  std::vector<pid_t> tree;
  std::set<pid_t> seen;
  if (::access(fmt::format("/proc/{}", root).c_str(), F_OK) != 0) return tree;
  tree.push_back(root);
  seen.insert(root);
  // Children of any thread of each process, breadth first.
  for (size_t i = 0; i < tree.size(); ++i) {
    const std::string tasks_path = fmt::format("/proc/{}/task", tree[i]);
    DIR* tasks = ::opendir(tasks_path.c_str());
    if (tasks == nullptr) continue;  // exited meanwhile
    DirCloser closer{tasks};
    while (const dirent* task = ::readdir(tasks)) {
      if (task->d_name[0] == '.') continue;
      const std::string children_path = fmt::format("{}/{}/children", tasks_path, task->d_name);
      std::ifstream children(children_path);
      if (!children && errno == ENOENT && complete != nullptr &&
          ::access(fmt::format("{}/{}", tasks_path, task->d_name).c_str(), F_OK) == 0) {
        *complete = false;  // the task is there but the kernel keeps no children list
      }
      pid_t child = 0;
      while (children >> child) {
        if (seen.insert(child).second) tree.push_back(child);
      }
    }
  }
  return tree;
}

PeerCheck CheckLoopbackPeer(const tcp::endpoint& local, const tcp::endpoint& remote, pid_t root) {
  std::string error;
  std::optional<uint64_t> inode = PeerSocketInode(local, remote, &error);
  if (!inode) return {PeerVerdict::kUnknown, error};
  if (*inode == 0) {
    return {PeerVerdict::kForeign,
            fmt::format("the socket at {}:{} is held by no process", remote.address().to_string(),
                        remote.port())};
  }
  bool complete = true;
  const std::vector<pid_t> tree = ProcessTree(root, &complete);
  bool unreadable = false;
  for (pid_t pid : tree) {
    switch (HoldsSocket(pid, *inode)) {
      case Holds::kYes:
        return {PeerVerdict::kOwn, fmt::format("held by pid {}", pid)};
      case Holds::kUnreadable:
        unreadable = true;
        break;
      case Holds::kNo:
        break;
    }
  }
  if (unreadable) {
    return {PeerVerdict::kUnknown,
            fmt::format("cannot read the descriptors of pid {}'s processes", root)};
  }
  if (!complete) {
    return {PeerVerdict::kUnknown,
            "this kernel does not list a process's children (CONFIG_PROC_CHILDREN), so the "
            "descendants of an instance cannot be told from other processes"};
  }
  return {PeerVerdict::kForeign,
          fmt::format("socket {} ({}:{}) is not held by pid {} or its {} descendants", *inode,
                      remote.address().to_string(), remote.port(), root,
                      tree.empty() ? 0 : tree.size() - 1)};
}

}  // namespace cutover::runtime
