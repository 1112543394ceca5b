// FleetPeers: what a node of a fleet on etcd asks of the other nodes, on a thread of its own so
// the control loop never waits on a peer.
//
//   - Packages. A version published through another node runs from a package this node lacks.
//     WantArtifact fetches it by its SHA-256 from the nodes listed under `<prefix>nodes/` (their
//     admin API's GET /v1/artifacts/{sha256}), one after the other, and hands the bytes to the
//     control loop only when they hash to the name asked for. A package no node has is asked for
//     again with a growing delay (1 s doubling to 30 s) for as long as it is wanted.
//   - Pre-warming. Prewarm asks every listed node, this one included, to start instances of a
//     version (POST /v1/functions/{name}/versions/{version}/prewarm). A node that has not loaded
//     the version yet answers 404. Ready says whether every node answered the last round with the
//     version loaded; the deployment controller shifts no weight before it does.
//
// Thread-safety: every public method is called on the control loop; results come back to it
// through asio::post.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cutover::daemon {

struct FleetPeersOptions {
  std::string etcd_endpoints;  // "HOST:PORT[,...]"
  std::string etcd_prefix;     // "/cutover/"
  std::string self_admin_url;  // this node's admin API, not asked for packages
  std::string token;           // the fleet's admin token ("" when the admin APIs need none)
};

class FleetPeers {
 public:
  // `on_artifact(sha256, bytes)` runs on `control` with a package whose bytes hash to sha256.
  FleetPeers(FleetPeersOptions options, boost::asio::io_context& control,
             std::function<void(const std::string& sha256, std::string bytes)> on_artifact);
  ~FleetPeers();  // abandons what is in flight
  FleetPeers(const FleetPeers&) = delete;
  FleetPeers& operator=(const FleetPeers&) = delete;

  // Fetches a package unless a fetch of it is under way or waiting to be retried.
  void WantArtifact(const std::string& sha256);

  // Asks every node to warm `count` instances of a version; the answers update Ready.
  void Prewarm(const std::string& function_name, uint32_t version, int count);

  // nullopt when every node listed in etcd answered the last pre-warm round for this version with
  // it loaded. Otherwise the nodes still waited for (a round is started if none is under way).
  std::optional<std::string> Ready(const std::string& function_name, uint32_t version);

 private:
  struct Peer {
    std::string id;
    std::string admin_url;
  };
  struct Round {  // one pre-warm round's answers
    bool in_flight = false;
    bool done = false;
    std::vector<std::string> not_ready;  // "node-b (HTTP 404: ...)"
    int count = 1;
    std::chrono::steady_clock::time_point finished;
  };
  using VersionKey = std::pair<std::string, uint32_t>;

  // Worker thread: the nodes listed in etcd now.
  std::vector<Peer> ListPeers(std::string* error) const;
  void Fetch(const std::string& sha256);                        // worker thread
  void RunRound(VersionKey key, int count);                     // worker thread
  void Retry(const std::string& sha256);                        // control loop

  const FleetPeersOptions options_;
  boost::asio::io_context& control_;
  const std::function<void(const std::string&, std::string)> on_artifact_;

  boost::asio::io_context worker_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;

  // Control loop only.
  std::set<std::string> fetching_;                          // in flight or waiting to retry
  std::map<std::string, std::chrono::seconds> backoff_;     // by package
  std::map<VersionKey, Round> rounds_;
};

}  // namespace cutover::daemon
