// runtime/peer_process.h against real loopback connections: this process, its children, and a
// process that holds nothing.
#include "runtime/peer_process.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

namespace cutover::runtime {
namespace {

using tcp = boost::asio::ip::tcp;

tcp::endpoint Endpoint(const sockaddr_in& a) {
  return tcp::endpoint(boost::asio::ip::address_v4(ntohl(a.sin_addr.s_addr)), ntohs(a.sin_port));
}

// A listening socket on 127.0.0.1 and the connections accepted from it.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof address_;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address_), &len);
  }
  ~Listener() { ::close(fd_); }

  // Connects a new client socket (from this process).
  int Connect() const {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(c, reinterpret_cast<const sockaddr*>(&address_), sizeof address_), 0);
    return c;
  }

  // Accepts one connection: its (local, remote) endpoints; the accepted descriptor in *fd.
  std::pair<tcp::endpoint, tcp::endpoint> Accept(int* fd) const {
    *fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    EXPECT_GE(*fd, 0);
    sockaddr_in local{}, remote{};
    socklen_t len = sizeof local;
    ::getsockname(*fd, reinterpret_cast<sockaddr*>(&local), &len);
    len = sizeof remote;
    ::getpeername(*fd, reinterpret_cast<sockaddr*>(&remote), &len);
    return {Endpoint(local), Endpoint(remote)};
  }

  const sockaddr_in& address() const { return address_; }

 private:
  int fd_ = -1;
  sockaddr_in address_{};
};

// A child that runs `body` and then waits until the test closes its pipe.
pid_t SpawnWaiting(int* release_fd, const std::function<void()>& body) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[1]);
    body();
    char c;
    while (::read(fds[0], &c, 1) > 0) {
    }
    ::_exit(0);
  }
  ::close(fds[0]);
  *release_fd = fds[1];
  return pid;
}

// Closes every release pipe first (a later child inherited the earlier ones' write ends), then
// reaps the children.
void Release(const std::vector<std::pair<pid_t, int>>& children) {
  for (const auto& [pid, fd] : children) ::close(fd);
  for (const auto& [pid, fd] : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

TEST(PeerProcessTest, ThisProcessHoldsItsOwnClientSocket) {
  Listener listener;
  const int client = listener.Connect();
  int accepted = -1;
  auto [local, remote] = listener.Accept(&accepted);
  const PeerCheck check = CheckLoopbackPeer(local, remote, ::getpid());
  EXPECT_EQ(check.verdict, PeerVerdict::kOwn) << check.detail;
  ::close(client);
  ::close(accepted);
}

// The socket a child opened belongs to the tree of its parent, and not to an unrelated process.
TEST(PeerProcessTest, AChildsSocketIsTheTreesAndNotAnotherProcesss) {
  Listener listener;
  int release_client = -1, release_other = -1;
  const sockaddr_in address = listener.address();
  const pid_t client = SpawnWaiting(&release_client, [&] {
    const int c = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(c, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) _exit(1);
  });
  const pid_t other = SpawnWaiting(&release_other, [] {});
  int accepted = -1;
  auto [local, remote] = listener.Accept(&accepted);

  bool complete = false;
  std::vector<pid_t> tree = ProcessTree(::getpid(), &complete);
  EXPECT_TRUE(complete) << "this kernel lists no children: the check serves every connection";
  EXPECT_NE(std::find(tree.begin(), tree.end(), client), tree.end());
  EXPECT_EQ(tree.front(), ::getpid());

  PeerCheck check = CheckLoopbackPeer(local, remote, ::getpid());
  EXPECT_EQ(check.verdict, PeerVerdict::kOwn) << check.detail;
  check = CheckLoopbackPeer(local, remote, client);
  EXPECT_EQ(check.verdict, PeerVerdict::kOwn) << check.detail;
  check = CheckLoopbackPeer(local, remote, other);
  EXPECT_EQ(check.verdict, PeerVerdict::kForeign) << check.detail;

  Release({{client, release_client}, {other, release_other}});
  ::close(accepted);
}

// Once the client closed its end nobody holds it: no process may speak for it.
TEST(PeerProcessTest, AClosedClientSocketIsNobodys) {
  Listener listener;
  const int client = listener.Connect();
  int accepted = -1;
  auto [local, remote] = listener.Accept(&accepted);
  ::close(client);
  const PeerCheck check = CheckLoopbackPeer(local, remote, ::getpid());
  EXPECT_EQ(check.verdict, PeerVerdict::kForeign) << check.detail;
  ::close(accepted);
}

TEST(PeerProcessTest, AProcessThatIsGoneHasNoTree) {
  int release = -1;
  const pid_t child = SpawnWaiting(&release, [] {});
  Release({{child, release}});
  EXPECT_TRUE(ProcessTree(child).empty());
}

}  // namespace
}  // namespace cutover::runtime
