// EtcdElection: one leader among the nodes sharing an etcd prefix, through a key held with a lease
// (etcd's own election recipe, done with a compare-and-put): the node whose put of `<prefix>leader`
// succeeded while the key did not exist leads for as long as it keeps the lease alive.
//
//   - Every kCampaignInterval a follower tries to create the key (a compare-and-put, which fails
//     while the key exists); it succeeds as soon as etcd has ended the leader's lease, so a leader
//     that died is replaced within the TTL, plus etcd's own delay in expiring a lease (its lessor
//     looks every 500 ms), plus kCampaignInterval. Renewing the lease and reading who leads keep
//     the slow pace of a third of the TTL.
//   - The leader renews its lease every tick. It steps down on its own (on_lost) when it could not
//     renew for two thirds of the TTL, before etcd can have let the lease expire and elected
//     another node: two nodes never both believe they lead, if their clocks run at the same rate.
//   - Destroying the election resigns: the lease is revoked, the key goes at once, and another node
//     takes over on its next tick instead of after the TTL.
//
// Thread-safety: callbacks run on the election's thread, one at a time, and must not block for
// long. leading() and leader() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "store/etcd_client.h"

namespace cutover::store {

struct EtcdElectionCallbacks {
  // This node became the leader; `revision` is the store's revision of its leader key (it grows
  // with every new term, so it can tell terms apart).
  std::function<void(int64_t revision)> on_elected;
  // This node is no longer the leader, and why.
  std::function<void(const std::string& why)> on_lost;
};

class EtcdElection {
 public:
  static constexpr std::chrono::milliseconds kCampaignInterval{100};

  // Campaigns for `prefix` + "leader" as `node_id` with leases of `ttl` (whole seconds, >= 1).
  // The node also announces itself under NodesPrefix(prefix) + its id, with `node_info` as the
  // value, on the same lease: the key lives exactly as long as the node keeps its lease.
  static Result<std::unique_ptr<EtcdElection>> Start(std::string_view endpoints, std::string prefix,
                                                     std::string node_id, std::chrono::seconds ttl,
                                                     EtcdElectionCallbacks callbacks,
                                                     std::string node_info = "{}");

  // Where the nodes of a fleet announce themselves: `prefix` + "nodes/".
  static std::string NodesPrefix(const std::string& prefix) { return prefix + "nodes/"; }
  ~EtcdElection();  // resigns
  EtcdElection(const EtcdElection&) = delete;
  EtcdElection& operator=(const EtcdElection&) = delete;

  bool leading() const { return leading_.load(); }
  // The node id the key named when last read ("" when none, or not read yet).
  std::string leader() const;

 private:
  EtcdElection(std::unique_ptr<EtcdClient> etcd, std::string prefix, std::string node_id,
               std::chrono::seconds ttl, EtcdElectionCallbacks callbacks, std::string node_info);
  void Run();
  void Tick();
  void StepDown(const std::string& why);

  const std::unique_ptr<EtcdClient> etcd_;
  const std::string key_;
  const std::string node_key_;
  const std::string node_id_;
  const std::string node_info_;
  const std::chrono::seconds ttl_;
  const std::chrono::milliseconds tick_;  // a third of the TTL: renewals and reading the leader
  const EtcdElectionCallbacks callbacks_;
  int64_t lease_ = 0;       // election thread only
  bool announced_ = false;  // node_key_ written on lease_ (election thread only)
  std::chrono::steady_clock::time_point renewed_;  // when the lease was last renewed or granted
  std::atomic<bool> leading_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::string leader_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace cutover::store
