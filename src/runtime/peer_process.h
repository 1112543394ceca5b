// Which processes hold the other end of a loopback TCP connection: the Runtime API's rule that an
// instance's endpoint serves only that instance (the process the pool launched and its
// descendants), so that a function which learns another instance's port and a running request id
// cannot answer that invocation, or take its next event, through it.
//
// Linux only, without privileges: the peer socket's inode comes from the kernel's sock_diag netlink
// interface (an exact lookup by the connection's addresses and ports, what `ss` uses), and the
// process tree's descriptors from /proc/<pid>/fd, its descendants from
// /proc/<pid>/task/<tid>/children. Each check costs a netlink round trip and a readlink per open
// descriptor of the tree: once per connection, and runtimes keep their connection.
#pragma once

#include <sys/types.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace cutover::runtime {

enum class PeerVerdict {
  kOwn,      // a process of the tree holds the peer socket
  kForeign,  // the peer socket is held by no process of the tree (or by none at all)
  kUnknown,  // the kernel or /proc would not say (no sock_diag, /proc unreadable): not decided
};

struct PeerCheck {
  PeerVerdict verdict = PeerVerdict::kUnknown;
  std::string detail;  // for the log: what was found, or why nothing could be
};

// `local` and `remote` are an accepted connection's own and peer endpoints (IPv4); `root` the
// process whose tree may use the endpoint.
PeerCheck CheckLoopbackPeer(const boost::asio::ip::tcp::endpoint& local,
                            const boost::asio::ip::tcp::endpoint& remote, pid_t root);

// `root` and its living descendants, root first; empty when root is gone. *complete (when given)
// is false when the kernel does not list children (no CONFIG_PROC_CHILDREN): the tree is then
// root alone. Exposed for tests.
std::vector<pid_t> ProcessTree(pid_t root, bool* complete = nullptr);

}  // namespace cutover::runtime
