#include "daemon/fleet_peers.h"

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <memory>

#include "common/http_client.h"
#include "common/sha256.h"
#include "store/etcd_client.h"
#include "store/etcd_election.h"

namespace cutover::daemon {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A peer that does not answer must not hold a package or a pre-warm round for long.
HttpClientOptions PeerOptions(std::chrono::milliseconds io) {
  HttpClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.io_timeout = io;
  return o;
}

std::string Short(const std::string& sha256) { return sha256.substr(0, 12); }

}  // namespace

FleetPeers::FleetPeers(FleetPeersOptions options, asio::io_context& control,
                       std::function<void(const std::string&, std::string)> on_artifact)
    : options_(std::move(options)),
      control_(control),
      on_artifact_(std::move(on_artifact)),
      worker_(1),
      work_(asio::make_work_guard(worker_)),
      thread_([this] { worker_.run(); }) {}

FleetPeers::~FleetPeers() {
  work_.reset();
  worker_.stop();
  thread_.join();
}

std::vector<FleetPeers::Peer> FleetPeers::ListPeers(std::string* error) const {
  std::vector<Peer> peers;
  auto client = store::EtcdClient::Create(options_.etcd_endpoints);
  if (!client.ok()) {
    *error = client.status().message();
    return peers;
  }
  const std::string prefix = store::EtcdElection::NodesPrefix(options_.etcd_prefix);
  auto listed = (*client)->Range(prefix, store::EtcdClient::PrefixEnd(prefix));
  if (!listed.ok()) {
    *error = listed.status().message();
    return peers;
  }
  for (const store::EtcdKeyValue& kv : listed->kvs) {
    boost::system::error_code ec;
    json::value v = json::parse(kv.value, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::value* id = o ? o->if_contains("id") : nullptr;
    const json::value* admin = o ? o->if_contains("admin") : nullptr;
    if (id == nullptr || !id->is_string() || admin == nullptr || !admin->is_string()) continue;
    peers.push_back({std::string(id->get_string()), std::string(admin->get_string())});
  }
  return peers;
}

void FleetPeers::WantArtifact(const std::string& sha256) {
  if (!fetching_.insert(sha256).second) return;
  asio::post(worker_, [this, sha256] { Fetch(sha256); });
}

void FleetPeers::Fetch(const std::string& sha256) {
  std::string error;
  std::vector<Peer> peers = ListPeers(&error);
  std::vector<std::string> tried;
  for (const Peer& peer : peers) {
    if (peer.admin_url == options_.self_admin_url) continue;
    auto endpoint = ParseEndpoint(peer.admin_url);
    if (!endpoint.ok()) continue;
    HttpRequest req;
    req.target = "/v1/artifacts/" + sha256;
    if (!options_.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + options_.token);
    auto res = HttpClient(*endpoint, PeerOptions(std::chrono::seconds(120))).Send(req);
    if (!res.ok()) {
      tried.push_back(fmt::format("{} ({})", peer.id, res.status().message()));
      continue;
    }
    if (res->status != 200) {
      tried.push_back(fmt::format("{} (HTTP {})", peer.id, res->status));
      continue;
    }
    // The name is the content: a peer with a damaged copy, or a man in the middle, is caught here
    // and the next peer is asked.
    if (std::string actual = Sha256Hex(res->body); actual != sha256) {
      spdlog::error("package {} from node {} hashes to {}: refused", Short(sha256), peer.id,
                    Short(actual));
      tried.push_back(fmt::format("{} (wrong hash)", peer.id));
      continue;
    }
    spdlog::info("package {} fetched from node {} ({} bytes)", Short(sha256), peer.id,
                 res->body.size());
    asio::post(control_, [this, sha256, bytes = std::move(res->body)]() mutable {
      fetching_.erase(sha256);
      backoff_.erase(sha256);
      on_artifact_(sha256, std::move(bytes));
    });
    return;
  }
  const std::string why =
      !error.empty() ? "etcd: " + error
      : tried.empty() ? std::string("no other node is listed")
                      : fmt::format("asked {}", fmt::join(tried, ", "));
  asio::post(control_, [this, sha256, why] {
    auto& delay = backoff_[sha256];
    delay = delay.count() == 0 ? std::chrono::seconds(1)
                               : std::min(delay * 2, std::chrono::seconds(30));
    // First failure at warn, the retries quieter: a package nobody has would fill the log.
    spdlog::log(delay == std::chrono::seconds(1) ? spdlog::level::warn : spdlog::level::debug,
                "package {} not fetched ({}); trying again in {} s", Short(sha256), why,
                delay.count());
    Retry(sha256);
  });
}

void FleetPeers::Retry(const std::string& sha256) {
  auto timer = std::make_shared<asio::steady_timer>(control_, backoff_[sha256]);
  timer->async_wait([this, timer, sha256](boost::system::error_code ec) {
    if (ec) return;
    asio::post(worker_, [this, sha256] { Fetch(sha256); });
  });
}

void FleetPeers::Prewarm(const std::string& function_name, uint32_t version, int count) {
  Round& round = rounds_[{function_name, version}];
  round.count = count;
  if (round.in_flight) return;
  round.in_flight = true;
  asio::post(worker_, [this, key = VersionKey{function_name, version}, count] {
    RunRound(key, count);
  });
}

std::optional<std::string> FleetPeers::Ready(const std::string& function_name, uint32_t version) {
  auto it = rounds_.find({function_name, version});
  if (it != rounds_.end() && it->second.done && it->second.not_ready.empty()) return std::nullopt;
  // Ask again, but not more than a few times a second while a node is still fetching.
  if (it == rounds_.end() ||
      (!it->second.in_flight &&
       std::chrono::steady_clock::now() - it->second.finished >= std::chrono::milliseconds(250))) {
    Prewarm(function_name, version, it != rounds_.end() ? it->second.count : 1);
  }
  const Round& round = rounds_.at({function_name, version});
  if (!round.done) return std::string("asking every node whether it has the version");
  return fmt::format("waiting for {}", fmt::join(round.not_ready, ", "));
}

void FleetPeers::RunRound(VersionKey key, int count) {
  std::string error;
  std::vector<Peer> peers = ListPeers(&error);
  std::vector<std::string> not_ready;
  if (!error.empty()) not_ready.push_back("etcd (" + error + ")");
  const std::string target = fmt::format("/v1/functions/{}/versions/{}/prewarm",
                                         PercentEncode(key.first), key.second);
  for (const Peer& peer : peers) {
    auto endpoint = ParseEndpoint(peer.admin_url);
    if (!endpoint.ok()) {
      not_ready.push_back(fmt::format("{} (admin address {})", peer.id, peer.admin_url));
      continue;
    }
    HttpRequest req;
    req.method = "POST";
    req.target = target;
    req.body = json::serialize(json::object{{"instances", count}});
    if (!options_.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + options_.token);
    auto res = HttpClient(*endpoint, PeerOptions(std::chrono::seconds(5))).Send(req);
    if (!res.ok()) {
      not_ready.push_back(fmt::format("{} ({})", peer.id, res.status().message()));
    } else if (res->status != 202) {
      not_ready.push_back(fmt::format("{} (HTTP {}: not loaded yet)", peer.id, res->status));
    }
  }
  asio::post(control_, [this, key, not_ready = std::move(not_ready)]() mutable {
    Round& round = rounds_[key];
    round.in_flight = false;
    round.done = true;
    round.finished = std::chrono::steady_clock::now();
    round.not_ready = std::move(not_ready);
  });
}

}  // namespace cutover::daemon
