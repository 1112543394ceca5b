#include "store/etcd_election.h"

#include <fmt/format.h>

#include <algorithm>

namespace cutover::store {
namespace {

// A node id as one key component: '/' and '%' escaped.
std::string NodeKeyComponent(std::string_view id) {
  std::string out;
  for (char c : id) {
    if (c == '/' || c == '%') {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<EtcdElection>> EtcdElection::Start(std::string_view endpoints,
                                                          std::string prefix, std::string node_id,
                                                          std::chrono::seconds ttl,
                                                          EtcdElectionCallbacks callbacks,
                                                          std::string node_info) {
  if (ttl.count() < 1) return InvalidArgument("an election's lease needs a TTL of 1 s or more");
  if (node_id.empty()) return InvalidArgument("an election needs a node id");
  HttpClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(500);
  // A request may not take longer than a tick, or a stuck one would keep the leader from noticing
  // it can no longer renew.
  options.io_timeout = std::max(std::chrono::milliseconds(200),
                                std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 3);
  CUTOVER_ASSIGN_OR_RETURN(auto etcd, EtcdClient::Create(endpoints, options));
  return std::unique_ptr<EtcdElection>(
      new EtcdElection(std::move(etcd), std::move(prefix), std::move(node_id), ttl,
                       std::move(callbacks), std::move(node_info)));
}

EtcdElection::EtcdElection(std::unique_ptr<EtcdClient> etcd, std::string prefix,
                           std::string node_id, std::chrono::seconds ttl,
                           EtcdElectionCallbacks callbacks, std::string node_info)
    : etcd_(std::move(etcd)),
      key_(prefix + "leader"),
      node_key_(NodesPrefix(prefix) + NodeKeyComponent(node_id)),
      node_id_(std::move(node_id)),
      node_info_(std::move(node_info)),
      ttl_(ttl),
      tick_(std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 3),
      callbacks_(std::move(callbacks)) {
  thread_ = std::thread([this] { Run(); });
}

EtcdElection::~EtcdElection() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::string EtcdElection::leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_;
}

void EtcdElection::Run() {
  while (!stopping_.load()) {
    Tick();
    // The leader wakes a tick after its last renewal (a new leader's lease may be most of a tick
    // old already). A follower asks for the key every kCampaignInterval: a compare-and-put that
    // fails while the leader lives, and wins the moment etcd has ended a dead leader's lease.
    const auto soon = std::chrono::steady_clock::now() + std::min(tick_, kCampaignInterval);
    const auto until = leading_.load() ? std::max(renewed_ + tick_, soon) : soon;
    while (!stopping_.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // Resign: the key goes with the lease, and the next node need not wait for the TTL.
  if (lease_ != 0) (void)etcd_->LeaseRevoke(lease_);
  if (leading_.load()) StepDown("resigned");
}

void EtcdElection::StepDown(const std::string& why) {
  leading_.store(false);
  if (callbacks_.on_lost) callbacks_.on_lost(why);
}

void EtcdElection::Tick() {
  const auto now = std::chrono::steady_clock::now();
  // Lease renewals and reading who leads keep the slow pace (a third of the TTL), whatever the
  // campaign's.
  const bool slow_tick_due = now - renewed_ >= tick_;
  if (lease_ != 0 && slow_tick_due) {
    Result<int64_t> left = etcd_->LeaseKeepAlive(lease_);
    if (left.ok() && *left > 0) {
      renewed_ = now;
    } else if (left.ok()) {
      // Expired or revoked: whatever it held is gone.
      lease_ = 0;
      if (leading_.load()) StepDown(fmt::format("the lease of {} expired", key_));
    } else if (leading_.load() && now - renewed_ > 2 * tick_) {
      // Not renewed for two thirds of the TTL: etcd may let it expire before we hear back.
      StepDown(
          fmt::format("could not renew the lease of {} for {} ms: {}", key_,
                      std::chrono::duration_cast<std::chrono::milliseconds>(now - renewed_).count(),
                      left.status().message()));
      return;
    }
  }
  // The node's own key, on its lease: gone when the lease ends. Written as soon as there is a
  // lease, not a tick later: peers look for it to fetch packages from this node.
  auto announce = [&] {
    if (lease_ == 0 || announced_) return;
    Result<EtcdTxnResult> put = etcd_->Txn({}, {{node_key_, node_info_, lease_}});
    announced_ = put.ok();
  };
  announce();
  if (leading_.load()) {
    // The key is ours for as long as the lease lives, unless someone deleted it by hand.
    Result<EtcdRangeResult> holder = etcd_->Range(key_, "");
    if (holder.ok() && (holder->kvs.empty() || holder->kvs.front().value != node_id_)) {
      StepDown(fmt::format("{} no longer names this node", key_));
    } else {
      return;
    }
  }
  if (lease_ == 0) {
    Result<int64_t> granted = etcd_->LeaseGrant(ttl_.count());
    if (!granted.ok()) return;
    lease_ = *granted;
    renewed_ = now;
    announced_ = false;
    announce();
  }
  // Create the key if nobody holds it (mod_revision 0: it does not exist).
  Result<EtcdTxnResult> won = etcd_->Txn({{key_, 0}}, {{key_, node_id_, lease_}});
  if (!won.ok()) return;
  if (won->succeeded) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      leader_ = node_id_;
    }
    leading_.store(true);
    if (callbacks_.on_elected) callbacks_.on_elected(won->revision);
    return;
  }
  if (!slow_tick_due && !leader().empty()) return;
  Result<EtcdRangeResult> holder = etcd_->Range(key_, "");
  if (!holder.ok()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    leader_ = holder->kvs.empty() ? std::string() : holder->kvs.front().value;
  }
  if (holder->kvs.empty() || holder->kvs.front().value != node_id_) return;
  const EtcdKeyValue& kv = holder->kvs.front();
  if (kv.lease == lease_) {
    // Our own key on our live lease: this node stepped down when it could not reach etcd, and
    // etcd, back, kept the lease (it restarts leases' TTLs when it restarts). Lead again.
    leading_.store(true);
    if (callbacks_.on_elected) callbacks_.on_elected(kv.mod_revision);
  } else if (kv.lease != 0) {
    // A key this node left on an older lease: end it rather than wait out its TTL.
    (void)etcd_->LeaseRevoke(kv.lease);
  }
}

}  // namespace cutover::store
