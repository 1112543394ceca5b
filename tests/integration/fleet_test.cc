// cutover on etcd (issue 8): the real daemon with `--store etcd://` against a real etcd (Debian's
// etcd-server on free loopback ports). Its state lives in etcd under the documented keys, nothing
// of it in the data directory's SQLite; it deploys, shifts and serves exactly as on SQLite, and a
// killed daemon comes back from etcd. A bad or unreachable --store is a clear error at start.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <future>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "etcd_server.h"
#include "harness.h"
#include "prometheus_server.h"
#include "store/etcd_client.h"
#include "support/procfs.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;
using test_support::EtcdServer;

// The value etcd holds at `key`, or "" when there is none.
std::string EtcdValue(const EtcdServer& etcd, const std::string& key) {
  auto client = store::EtcdClient::Create(etcd.endpoint());
  if (!client.ok()) return "";
  auto r = (*client)->Range(key, "");
  if (!r.ok() || r->kvs.empty()) return "";
  return r->kvs.front().value;
}

bool WaitForStatus(Daemon& daemon, const std::string& deployment, const std::string& status) {
  return WaitFor(
      [&] {
        HttpResult r = daemon.Admin("GET", "/v1/deployments/" + deployment);
        if (r.status != 200) return false;
        json::value body = json::parse(r.body);
        const json::value* s = body.as_object()["deployment"].as_object().if_contains("status");
        return s && s->is_string() && s->get_string() == status;
      },
      std::chrono::seconds(20));
}

TEST(FleetTest, ADaemonOnEtcdDeploysShiftsServesAndComesBackFromEtcd) {
  if (!EtcdServer::Installed()) GTEST_SKIP() << "etcd is not installed (scripts/install-deps)";
  fs::path root = MakeTempDir("cutover-fleet");
  EtcdServer etcd(root / "etcd");
  ASSERT_TRUE(etcd.started()) << etcd.log();
  const std::string store = "--store=etcd://" + etcd.endpoint();
  fs::path data = root / "data";
  fs::path service = CopyAliasesService(root, CUTOVER_PROXY_BOOTSTRAP);

  auto daemon = Daemon::Start(data, {store});
  ASSERT_EQ(daemon->Deploy(service).exit_code, 0) << daemon->Log();
  CommandResult second = daemon->Deploy(service, {"--opt", "greeting=bye"});
  ASSERT_EQ(second.exit_code, 0) << second.err << daemon->Log();
  std::string deployment;
  json::value published = json::parse(second.out);
  for (const auto& f : published.as_object()["functions"].as_array()) {
    if (f.as_object().at("key") == "ok") {
      deployment = std::string(f.as_object().at("deployment_id").as_string());
    }
  }
  ASSERT_FALSE(deployment.empty()) << second.out;
  ASSERT_TRUE(WaitForStatus(*daemon, deployment, "Succeeded")) << daemon->Log();
  EXPECT_EQ(daemon->Gateway("GET", "/ok").body, "ok v2 bye");

  HttpResult set = daemon->Admin("PUT", "/v1/functions/aliases-dev-ok/aliases/Live",
                                 R"({"primary_version":1,"additional_version":2,)"
                                 R"("additional_weight":0.3})");
  ASSERT_EQ(set.status, 200) << set.body;

  // The state is etcd's: the alias under its documented key, no state.db beside the packages.
  const std::string alias = EtcdValue(etcd, "/cutover/aliases/aliases-dev-ok/Live");
  ASSERT_FALSE(alias.empty());
  auto a = json::parse(alias).as_object();
  EXPECT_EQ(a["primary_version"].as_int64(), 1);
  EXPECT_EQ(a["additional_version"].as_int64(), 2);
  EXPECT_DOUBLE_EQ(a["additional_weight"].as_double(), 0.3);
  EXPECT_FALSE(EtcdValue(etcd, "/cutover/deployments/" + deployment).empty());
  EXPECT_FALSE(fs::exists(data / "state.db"));
  EXPECT_TRUE(fs::exists(data / "node.db"));

  // Killed, not stopped: the weighted alias comes back from etcd and is served.
  daemon->Kill();
  daemon = Daemon::Start(data, {store});
  HttpResult after = daemon->Admin("GET", "/v1/functions/aliases-dev-ok/aliases/Live");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_DOUBLE_EQ(json::parse(after.body).as_object()["additional_weight"].as_double(), 0.3);
  bool saw[3] = {false, false, false};
  HttpClient client("127.0.0.1", daemon->gateway_port());
  for (int i = 0; i < 300 && !(saw[1] && saw[2]); ++i) {
    HttpResult r = client.Request("GET", "/ok");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    const std::string& v = r.headers["x-cutover-version"];
    ASSERT_TRUE(v == "1" || v == "2") << v;
    saw[std::stoi(v)] = true;
  }
  EXPECT_TRUE(saw[1] && saw[2]);
  daemon.reset();
  fs::remove_all(root);
}

// The alias weights node B serves, as its admin API reports them ("1+2@0.3").
// The Live alias of `function` as the node holds it: "primary+additional@weight".
std::string ServedAlias(Daemon& node, const std::string& function = "aliases-dev-ok") {
  HttpResult r = node.Admin("GET", "/v1/functions/" + function + "/aliases/Live");
  if (r.status != 200) return "HTTP " + std::to_string(r.status);
  auto a = json::parse(r.body).as_object();
  return fmt::format("{}+{}@{}", a["primary_version"].as_int64(),
                     a["additional_version"].as_int64(),
                     a["additional_weight"].to_number<double>());
}

// The fleet as a node's /v1/status lists it: "id:role id:role".
std::string FleetNodes(Daemon& node) {
  HttpResult r = node.Admin("GET", "/v1/status");
  if (r.status != 200) return "HTTP " + std::to_string(r.status);
  json::value status = json::parse(r.body);
  const json::value* fleet = status.as_object().if_contains("fleet");
  if (fleet == nullptr) return "no fleet";
  std::string out;
  for (const json::value& n : fleet->as_object().at("nodes").as_array()) {
    if (!out.empty()) out += ' ';
    out += std::string(n.as_object().at("id").as_string()) + ":" +
           (n.as_object().at("leader").as_bool() ? "leader" : "follower");
  }
  return out;
}

// "live" or "stale": whether a node's routes follow etcd.
std::string Routes(Daemon& node) {
  HttpResult r = node.Admin("GET", "/v1/status");
  if (r.status != 200) return "HTTP " + std::to_string(r.status);
  json::value status = json::parse(r.body);
  return std::string(status.as_object().at("fleet").as_object().at("routes").as_string());
}

TEST(FleetTest, AWeightCommittedThroughOneNodeIsServedByTheOther) {
  if (!EtcdServer::Installed()) GTEST_SKIP() << "etcd is not installed (scripts/install-deps)";
  fs::path root = MakeTempDir("cutover-fleet-two");
  EtcdServer etcd(root / "etcd");
  ASSERT_TRUE(etcd.started()) << etcd.log();
  const std::string store = "--store=etcd://" + etcd.endpoint();
  fs::path service = CopyAliasesService(root, CUTOVER_PROXY_BOOTSTRAP);

  // Node A publishes versions 1 and 2 (a configuration change: the same package).
  auto a = Daemon::Start(root / "a", {store});
  ASSERT_EQ(a->Deploy(service).exit_code, 0) << a->Log();
  CommandResult second = a->Deploy(service, {"--opt", "greeting=bye"});
  ASSERT_EQ(second.exit_code, 0) << second.err << a->Log();
  json::value published = json::parse(second.out);
  std::string deployment;
  for (const auto& f : published.as_object()["functions"].as_array()) {
    if (f.as_object().at("key") == "ok") {
      deployment = std::string(f.as_object().at("deployment_id").as_string());
    }
  }
  ASSERT_TRUE(WaitForStatus(*a, deployment, "Succeeded")) << a->Log();

  // Node B gets the package by the same deploy; versions are already in etcd, none is new.
  auto b = Daemon::Start(root / "b", {store});
  CommandResult on_b = b->Deploy(service, {"--opt", "greeting=bye"});
  ASSERT_EQ(on_b.exit_code, 0) << on_b.err << b->Log();
  json::value b_published = json::parse(on_b.out);
  for (const auto& f : b_published.as_object()["functions"].as_array()) {
    EXPECT_FALSE(f.as_object().at("created").as_bool()) << on_b.out;
  }
  ASSERT_EQ(ServedAlias(*b), "2+0@0");

  // A weight set on A reaches B's gateway without anything said to B.
  const auto put = std::chrono::steady_clock::now();
  HttpResult set = a->Admin("PUT", "/v1/functions/aliases-dev-ok/aliases/Live",
                            R"({"primary_version":1,"additional_version":2,)"
                            R"("additional_weight":0.3})");
  ASSERT_EQ(set.status, 200) << set.body;
  ASSERT_TRUE(WaitFor([&] { return ServedAlias(*b) == "1+2@0.3"; }, std::chrono::seconds(10)))
      << ServedAlias(*b) << "\n"
      << b->Log();
  std::printf(
      "weight on B %.1f ms after A's PUT returned\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - put).count());
  bool saw[3] = {false, false, false};
  HttpClient client("127.0.0.1", b->gateway_port());
  for (int i = 0; i < 300 && !(saw[1] && saw[2]); ++i) {
    HttpResult r = client.Request("GET", "/ok");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    const std::string& v = r.headers["x-cutover-version"];
    ASSERT_TRUE(v == "1" || v == "2") << v;
    saw[std::stoi(v)] = true;
  }
  EXPECT_TRUE(saw[1] && saw[2]);

  // And back to version 1 alone, set on B this time: A follows.
  HttpResult back =
      b->Admin("PUT", "/v1/functions/aliases-dev-ok/aliases/Live", R"({"primary_version":1})");
  ASSERT_EQ(back.status, 200) << back.body;
  ASSERT_TRUE(WaitFor([&] { return ServedAlias(*a) == "1+0@0"; }, std::chrono::seconds(10)))
      << ServedAlias(*a);
  HttpClient on_a("127.0.0.1", a->gateway_port());
  for (int i = 0; i < 50; ++i) {
    HttpResult r = on_a.Request("GET", "/ok");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["x-cutover-version"], "1");
  }

  // etcd gone: both gateways keep serving the last weights, and say why in their logs.
  etcd.Stop();
  ASSERT_TRUE(WaitFor([&] { return b->Log().find("etcd watch lost") != std::string::npos; },
                      std::chrono::seconds(10)));
  EXPECT_EQ(Routes(*b), "stale");
  for (int i = 0; i < 20; ++i) {
    HttpResult r = client.Request("GET", "/ok");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(r.headers["x-cutover-version"], "1");
  }
  HttpResult refused =
      a->Admin("PUT", "/v1/functions/aliases-dev-ok/aliases/Live", R"({"primary_version":2})");
  EXPECT_GE(refused.status, 500) << refused.body;
  EXPECT_EQ(ServedAlias(*a), "1+0@0");  // nothing that etcd does not hold
  // etcd back: the watch resumes and a change reaches B again.
  ASSERT_TRUE(etcd.Start()) << etcd.log();
  ASSERT_TRUE(WaitFor(
      [&] {
        return a->Admin("PUT", "/v1/functions/aliases-dev-ok/aliases/Live",
                        R"({"primary_version":2})")
                   .status == 200;
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return ServedAlias(*b) == "2+0@0"; }, std::chrono::seconds(10)))
      << ServedAlias(*b) << "\n"
      << b->Log();
  EXPECT_TRUE(WaitFor([&] { return Routes(*b) == "live"; }, std::chrono::seconds(10)));
  a.reset();
  b.reset();
  fs::remove_all(root);
}

// testdata/aliases with `ok` shifted by Linear10PercentEvery1Minute instead of AllAtOnce.
fs::path LinearService(const fs::path& root) {
  fs::path dir = CopyAliasesService(root, CUTOVER_PROXY_BOOTSTRAP);
  std::ifstream in(dir / "serverless.yml");
  std::string yml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string from = "type: AllAtOnce";
  yml.replace(yml.find(from), from.size(), "type: Linear10PercentEvery1Minute");
  std::ofstream(dir / "serverless.yml", std::ios::trunc) << yml;
  return dir;
}

bool Leads(Daemon& node) { return node.Log().find("leads the fleet") != std::string::npos; }

TEST(FleetTest, ALeaderKilledMidShiftIsReplacedAndTheDeploymentEndsWithEveryStepOnce) {
  if (!EtcdServer::Installed()) GTEST_SKIP() << "etcd is not installed (scripts/install-deps)";
  fs::path root = MakeTempDir("cutover-fleet-failover");
  EtcdServer etcd(root / "etcd");
  ASSERT_TRUE(etcd.started()) << etcd.log();
  // A minute per second: the deployment takes 9 s; a dead leader is replaced within 2 s + a tick.
  const std::vector<std::string> args = {"--store=etcd://" + etcd.endpoint(), "--time-scale", "60",
                                         "--lease-ttl", "2"};
  auto with_id = [&](const std::string& id) {
    std::vector<std::string> out = args;
    out.push_back("--node-id=" + id);
    return out;
  };
  fs::path service = LinearService(root);

  auto a = Daemon::Start(root / "a", with_id("node-a"));
  ASSERT_TRUE(WaitFor([&] { return Leads(*a); }, std::chrono::seconds(10))) << a->Log();
  auto b = Daemon::Start(root / "b", with_id("node-b"));
  // Both nodes announce themselves; B's status names A the leader.
  ASSERT_TRUE(WaitFor([&] { return FleetNodes(*b) == "node-a:leader node-b:follower"; },
                      std::chrono::seconds(10)))
      << FleetNodes(*b);
  CommandResult status = RunCutover({"status", "--admin", b->admin_url()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("routes live"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("node-a"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("leader"), std::string::npos) << status.out;
  ASSERT_EQ(a->Deploy(service).exit_code, 0) << a->Log();
  ASSERT_EQ(b->Deploy(service).exit_code, 0) << b->Log();  // B gets the package

  CommandResult second = a->Deploy(service, {"--opt", "greeting=bye"});
  ASSERT_EQ(second.exit_code, 0) << second.err << a->Log();
  ASSERT_EQ(b->Deploy(service, {"--opt", "greeting=bye"}).exit_code, 0) << b->Log();
  json::value published = json::parse(second.out);
  std::string deployment;
  for (const auto& f : published.as_object()["functions"].as_array()) {
    if (f.as_object().at("key") == "ok") {
      deployment = std::string(f.as_object().at("deployment_id").as_string());
    }
  }
  ASSERT_FALSE(deployment.empty()) << second.out;
  EXPECT_FALSE(Leads(*b));

  // Mid-shift: B serves a weight A's controller set, then A dies without a word.
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string served = ServedAlias(*b);
        return served != "1+0@0" && served.rfind("1+2@", 0) == 0;
      },
      std::chrono::seconds(20)))
      << ServedAlias(*b) << "\n"
      << a->Log();
  a->Kill();
  ASSERT_TRUE(WaitFor([&] { return Leads(*b); }, std::chrono::seconds(15))) << b->Log();
  EXPECT_EQ(FleetNodes(*b), "node-b:leader");  // A's lease, and with it A, is gone
  ASSERT_TRUE(WaitForStatus(*b, deployment, "Succeeded")) << b->Log();
  EXPECT_EQ(ServedAlias(*b), "2+0@0");

  // The log: no gap, no repeat, and the ten shifts (10 % ... 100 %, steps 0-9) each once, in
  // order, whichever node applied them.
  json::value got = json::parse(b->Admin("GET", "/v1/deployments/" + deployment).body);
  const json::array& events = got.as_object().at("events").as_array();
  uint64_t seq = 0;
  std::vector<int64_t> steps;
  for (const json::value& e : events) {
    EXPECT_EQ(e.as_object().at("seq").to_number<uint64_t>(), ++seq) << "gap in the event log";
    if (e.as_object().at("type") == "TrafficShifted") {
      steps.push_back(e.as_object().at("data").as_object().at("step").to_number<int64_t>());
    }
  }
  const std::vector<int64_t> expected = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(steps, expected) << json::serialize(events);
  b.reset();
  a.reset();
  fs::remove_all(root);
}

// The version a node's gateway answers /ok from, or why it does not ("HTTP 403").
std::string ServedVersion(Daemon& node) {
  HttpClient client("127.0.0.1", node.gateway_port());
  HttpResult r = client.Request("GET", "/ok");
  if (r.status != 200) return "HTTP " + std::to_string(r.status);
  return r.headers["x-cutover-version"];
}

// The deployment id `cutover deploy` printed for function `ok`.
std::string OkDeployment(const CommandResult& deployed) {
  json::value published = json::parse(deployed.out);
  for (const auto& f : published.as_object()["functions"].as_array()) {
    if (f.as_object().at("key") == "ok" && f.as_object().contains("deployment_id")) {
      return std::string(f.as_object().at("deployment_id").as_string());
    }
  }
  return "";
}

TEST(FleetTest, ThreeNodesServeWhatAnyOfThemDeploysAndEveryWeightSetOnAny) {
  if (!EtcdServer::Installed()) GTEST_SKIP() << "etcd is not installed (scripts/install-deps)";
  fs::path root = MakeTempDir("cutover-fleet-three");
  EtcdServer etcd(root / "etcd");
  ASSERT_TRUE(etcd.started()) << etcd.log();
  const std::string store = "--store=etcd://" + etcd.endpoint();
  fs::path service = CopyAliasesService(root, CUTOVER_PROXY_BOOTSTRAP);
  auto a = Daemon::Start(root / "a", {store, "--node-id=node-a"});
  auto b = Daemon::Start(root / "b", {store, "--node-id=node-b"});
  auto c = Daemon::Start(root / "c", {store, "--node-id=node-c"});
  std::vector<Daemon*> nodes = {a.get(), b.get(), c.get()};
  auto all_serve = [&](const std::string& version) {
    return WaitFor(
        [&] {
          for (Daemon* n : nodes) {
            if (ServedVersion(*n) != version) return false;
          }
          return true;
        },
        std::chrono::seconds(20));
  };
  auto served = [&] {
    std::string out;
    for (Daemon* n : nodes) out += ServedVersion(*n) + " ";
    return out;
  };

  // A deploy through A alone: B and C fetch its package from A and serve it.
  ASSERT_EQ(a->Deploy(service).exit_code, 0) << a->Log();
  ASSERT_TRUE(all_serve("1")) << served() << "\n" << b->Log();
  EXPECT_NE(b->Log().find("fetched from node node-a"), std::string::npos) << b->Log();
  EXPECT_NE(c->Log().find("fetched from node node-a"), std::string::npos) << c->Log();

  // New code through C: the leader waits until every node has version 2, then shifts it on all.
  std::ofstream(service / "bootstrap", std::ios::app) << "\n# version two\n";
  CommandResult second = c->Deploy(service);
  ASSERT_EQ(second.exit_code, 0) << second.err << c->Log();
  const std::string deployment = OkDeployment(second);
  ASSERT_FALSE(deployment.empty()) << second.out;
  ASSERT_TRUE(WaitForStatus(*a, deployment, "Succeeded")) << a->Log() << b->Log() << c->Log();
  ASSERT_TRUE(all_serve("2")) << served();
  for (Daemon* n : nodes) {
    EXPECT_EQ(HttpClient("127.0.0.1", n->gateway_port()).Request("GET", "/other").status, 200);
  }

  // A weight set on B reaches all three gateways.
  const auto put = std::chrono::steady_clock::now();
  HttpResult set = b->Admin("PUT", "/v1/functions/aliases-dev-ok/aliases/Live",
                            R"({"primary_version":2,"additional_version":1,)"
                            R"("additional_weight":0.5})");
  ASSERT_EQ(set.status, 200) << set.body;
  for (Daemon* n : nodes) {
    ASSERT_TRUE(WaitFor([&] { return ServedAlias(*n) == "2+1@0.5"; }, std::chrono::seconds(10)))
        << ServedAlias(*n);
  }
  std::printf(
      "weight on all three nodes %.1f ms after B's PUT returned\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - put).count());
  for (Daemon* n : nodes) {
    bool saw[3] = {false, false, false};
    HttpClient client("127.0.0.1", n->gateway_port());
    for (int i = 0; i < 300 && !(saw[1] && saw[2]); ++i) {
      HttpResult r = client.Request("GET", "/ok");
      ASSERT_EQ(r.status, 200) << r.body << r.error;
      saw[std::stoi(r.headers["x-cutover-version"])] = true;
    }
    EXPECT_TRUE(saw[1] && saw[2]);
  }
  a.reset();
  b.reset();
  c.reset();
  fs::remove_all(root);
}

// The TrafficShifted steps of a deployment's log, in order, after checking the log has no gap.
std::vector<int64_t> ShiftedSteps(Daemon& node, const std::string& deployment) {
  json::value got = json::parse(node.Admin("GET", "/v1/deployments/" + deployment).body);
  std::vector<int64_t> steps;
  uint64_t seq = 0;
  for (const json::value& e : got.as_object().at("events").as_array()) {
    EXPECT_EQ(e.as_object().at("seq").to_number<uint64_t>(), ++seq) << "gap in the event log";
    if (e.as_object().at("type") == "TrafficShifted") {
      steps.push_back(e.as_object().at("data").as_object().at("step").to_number<int64_t>());
    }
  }
  return steps;
}

TEST(FleetTest, WhileEtcdIsDownGatewaysServeTheLastWeightsAndTheDeploymentPausesThenResumes) {
  if (!EtcdServer::Installed()) GTEST_SKIP() << "etcd is not installed (scripts/install-deps)";
  fs::path root = MakeTempDir("cutover-fleet-outage");
  EtcdServer etcd(root / "etcd");
  ASSERT_TRUE(etcd.started()) << etcd.log();
  // A minute per second: one step a second, so an outage of several seconds spans several steps.
  const std::vector<std::string> args = {"--store=etcd://" + etcd.endpoint(), "--time-scale", "60",
                                         "--lease-ttl", "2"};
  auto with_id = [&](const std::string& id) {
    std::vector<std::string> out = args;
    out.push_back("--node-id=" + id);
    return out;
  };
  fs::path service = LinearService(root);
  auto a = Daemon::Start(root / "a", with_id("node-a"));
  ASSERT_TRUE(WaitFor([&] { return Leads(*a); }, std::chrono::seconds(10))) << a->Log();
  auto b = Daemon::Start(root / "b", with_id("node-b"));
  ASSERT_EQ(a->Deploy(service).exit_code, 0) << a->Log();
  CommandResult second = a->Deploy(service, {"--opt", "greeting=bye"});
  ASSERT_EQ(second.exit_code, 0) << second.err << a->Log();
  const std::string deployment = OkDeployment(second);
  ASSERT_FALSE(deployment.empty()) << second.out;
  ASSERT_TRUE(WaitFor([&] { return ServedAlias(*b).rfind("1+2@0.2", 0) == 0; },
                      std::chrono::seconds(20)))
      << ServedAlias(*b) << "\n"
      << a->Log();

  etcd.Stop();
  ASSERT_TRUE(WaitFor([&] { return Routes(*b) == "stale"; }, std::chrono::seconds(10)));
  // Several steps' worth of time: nothing moves, and both gateways keep serving both versions.
  const std::string frozen = ServedAlias(*b);
  const auto outage_end = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  for (Daemon* n : {a.get(), b.get()}) {
    HttpClient client("127.0.0.1", n->gateway_port());
    while (std::chrono::steady_clock::now() < outage_end) {
      HttpResult r = client.Request("GET", "/ok");
      ASSERT_EQ(r.status, 200) << r.body << r.error;
      const std::string& v = r.headers["x-cutover-version"];
      ASSERT_TRUE(v == "1" || v == "2") << v;
      if (n == b.get()) break;  // A polls most of the outage, B once at its end
    }
    EXPECT_EQ(ServedAlias(*n), frozen);
  }
  EXPECT_EQ(ServedAlias(*a), frozen);
  EXPECT_EQ(ServedAlias(*b), frozen);

  // etcd back: the deployment resumes where it stopped, with every step once and none skipped.
  ASSERT_TRUE(etcd.Start()) << etcd.log();
  Daemon* leader = nullptr;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (Daemon* n : {a.get(), b.get()}) {
          HttpResult r = n->Admin("GET", "/v1/deployments/" + deployment);
          if (r.status != 200) continue;
          json::value body = json::parse(r.body);
          const json::value* s = body.as_object()["deployment"].as_object().if_contains("status");
          if (s != nullptr && s->is_string() && s->get_string() == "Succeeded") {
            leader = n;
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(40)))
      << a->Log() << b->Log();
  EXPECT_EQ(ShiftedSteps(*leader, deployment),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(WaitFor([&] { return ServedAlias(*a) == "2+0@0" && ServedAlias(*b) == "2+0@0"; },
                      std::chrono::seconds(10)));
  a.reset();
  b.reset();
  fs::remove_all(root);
}

// A connected TCP socket to 127.0.0.1:`port`, or -1.
int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads from `fd` until the peer closes it (true) or `timeout` passes (false); what came in `*got`.
bool ReadUntilClosed(int fd, std::chrono::milliseconds timeout, std::string* got) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) return true;
    got->append(buf, static_cast<size_t>(n));
  }
}

TEST(FleetTest, ANodeLeavingOnSigtermResignsAndFinishesItsRequestsInFlight) {
  if (!EtcdServer::Installed()) GTEST_SKIP() << "etcd is not installed (scripts/install-deps)";
  fs::path root = MakeTempDir("cutover-fleet-leave");
  EtcdServer etcd(root / "etcd");
  ASSERT_TRUE(etcd.started()) << etcd.log();
  // Followers campaign every TTL/3 (2 s): B leads within that only because A resigned; had A
  // just vanished, B would wait for A's lease to expire, 6 s.
  const std::vector<std::string> args = {"--store=etcd://" + etcd.endpoint(), "--lease-ttl", "6"};
  auto with_id = [&](const std::string& id) {
    std::vector<std::string> out = args;
    out.push_back("--node-id=" + id);
    return out;
  };
  auto a = Daemon::Start(root / "a", with_id("node-a"));
  ASSERT_TRUE(WaitFor([&] { return Leads(*a); }, std::chrono::seconds(10))) << a->Log();
  auto b = Daemon::Start(root / "b", with_id("node-b"));

  // testdata/gate: an invocation that runs until the test creates `release`.
  fs::path service = root / "gate";
  fs::create_directories(service);
  fs::copy_file(SourceDir() / "tests/integration/testdata/gate/serverless.yml",
                service / "serverless.yml");
  fs::copy_file(CUTOVER_PROXY_BOOTSTRAP, service / "bootstrap");
  fs::permissions(service / "bootstrap", fs::perms::owner_all);
  const fs::path release = root / "release";
  ASSERT_EQ(a->Deploy(service, {"--opt", "gate=" + release.string()}).exit_code, 0) << a->Log();
  struct Release {
    fs::path file;
    ~Release() { std::ofstream touch(file); }
  } release_on_exit{release};

  // An idle keep-alive connection (one answered request on it) and one request in flight.
  std::ofstream(release) << "";
  int idle = Connect(a->gateway_port());
  ASSERT_GE(idle, 0);
  const std::string get = "GET /gate HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(::write(idle, get.data(), get.size()), static_cast<ssize_t>(get.size()));
  std::string first;
  char buf[4096];
  while (first.find("released") == std::string::npos) {
    ssize_t n = ::read(idle, buf, sizeof(buf));
    ASSERT_GT(n, 0);
    first.append(buf, static_cast<size_t>(n));
  }
  fs::remove(release);
  auto in_flight = std::async(std::launch::async, [port = a->gateway_port()] {
    return HttpClient("127.0.0.1", port).Request("GET", "/gate");
  });
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpResult r = a->Admin("GET", "/v1/functions/gate-dev-gate");
        if (r.status != 200) return false;
        json::value fn = json::parse(r.body);
        return fn.as_object()["versions"].as_array()[0].as_object()["pool"].as_object()["busy"] ==
               1;
      },
      std::chrono::seconds(20)));

  ASSERT_EQ(::kill(a->pid(), SIGTERM), 0);
  // Leadership goes at once, the idle connection is closed, no new connection is taken...
  EXPECT_TRUE(WaitFor([&] { return Leads(*b); }, std::chrono::milliseconds(4500)))
      << a->Log() << b->Log();
  std::string rest;
  EXPECT_TRUE(ReadUntilClosed(idle, std::chrono::seconds(10), &rest));
  EXPECT_EQ(rest, "");
  ::close(idle);
  EXPECT_TRUE(WaitFor(
      [&] {
        int fd = Connect(a->gateway_port());
        if (fd >= 0) ::close(fd);
        return fd < 0;
      },
      std::chrono::seconds(10)));
  // ...but the node waits for the request it is running.
  EXPECT_FALSE(procfs::Ended(a->pid()));
  EXPECT_NE(a->Log().find("draining 2 connection(s)"), std::string::npos) << a->Log();

  { std::ofstream touch(release); }
  HttpResult answered = in_flight.get();
  EXPECT_EQ(answered.status, 200) << answered.error;
  EXPECT_EQ(answered.body, "released");
  EXPECT_EQ(answered.headers["connection"], "close");
  ASSERT_TRUE(WaitFor([&] { return procfs::Ended(a->pid()); }, std::chrono::seconds(20))) << a->Log();
  EXPECT_NE(a->Log().find("drained in"), std::string::npos) << a->Log();
  EXPECT_TRUE(a->Stop());  // reaps it: exit code 0
  a.reset();
  b.reset();
  fs::remove_all(root);
}

TEST(FleetTest, AStoreThatCannotBeUsedIsAClearErrorAtStart) {
  fs::path root = MakeTempDir("cutover-fleet-bad");
  CommandResult bad = RunCutover({"serve", "--data", (root / "data").string(), "--port", "0",
                                  "--admin-port", "0", "--store", "postgres://db:5432"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--store 'postgres://db:5432'"), std::string::npos) << bad.err;

  const std::string nobody = "127.0.0.1:" + std::to_string(test_support::FreeLoopbackPort());
  CommandResult down = RunCutover({"serve", "--data", (root / "data").string(), "--port", "0",
                                   "--admin-port", "0", "--store", "etcd://" + nobody});
  EXPECT_EQ(down.exit_code, 1) << down.err;
  EXPECT_NE(down.err.find("cannot reach etcd at http://" + nobody), std::string::npos) << down.err;
  fs::remove_all(root);
}


// The fleet-wide alarm service: `api` fails every invocation when deployed with --opt fail=1, and
// its deployment (a 10% canary held 5 minutes) watches an alarm on the function's Errors: Sum over
// 30 s >= 6, evaluated every 10 s, so a burst of failures lies whole in some evaluated period. Each
// node below sees 4 failures: only the fleet's sum, read from Prometheus, fires.
constexpr char kFleetAlarmService[] = R"(service: fleetalarm
provider:
  name: aws
  runtime: provided.al2
  stage: dev
  timeout: 10
  environment:
    FAIL: ${opt:fail, '0'}
package:
  patterns: ['!**', bootstrap]
functions:
  api:
    handler: ok
    events:
      - http: 'GET /api'
    deploymentSettings:
      type: Canary10Percent5Minutes
      alias: Live
      alarms:
        - FleetErrorsAlarm
resources:
  Resources:
    FleetErrorsAlarm:
      Type: AWS::CloudWatch::Alarm
      Properties:
        AlarmName: fleetalarm-errors
        Namespace: AWS/Lambda
        MetricName: Errors
        Dimensions:
          - Name: FunctionName
            Value: fleetalarm-dev-api
          - Name: Resource
            Value: fleetalarm-dev-api:Live
        Statistic: Sum
        Period: 30
        EvaluationPeriods: 1
        Threshold: 6
        ComparisonOperator: GreaterThanOrEqualToThreshold
        TreatMissingData: notBreaching
)";

std::string FleetAlarmAlias(Daemon& node) { return ServedAlias(node, "fleetalarm-dev-api"); }

TEST(FleetTest, FailuresSpreadOverTheNodesFireAPrometheusAlarmAndRollBackEveryNode) {
  if (!EtcdServer::Installed()) GTEST_SKIP() << "etcd is not installed (scripts/install-deps)";
  if (!PrometheusServer::Installed()) GTEST_SKIP() << "prometheus is not installed";
  fs::path root = MakeTempDir("cutover-fleet-alarm");
  EtcdServer etcd(root / "etcd");
  ASSERT_TRUE(etcd.started()) << etcd.log();
  const std::string store = "--store=etcd://" + etcd.endpoint();
  // Prometheus's port first: every node is told where it will be, then it is told the nodes.
  const uint16_t prometheus_port = test_support::FreeLoopbackPort();
  const std::string source =
      "--metrics-source=prometheus://127.0.0.1:" + std::to_string(prometheus_port);
  fs::path service = CopyAliasesService(root, CUTOVER_PROXY_BOOTSTRAP);
  std::ofstream(service / "serverless.yml", std::ios::trunc) << kFleetAlarmService;
  auto a = Daemon::Start(root / "a", {store, source, "--node-id=node-a"});
  auto b = Daemon::Start(root / "b", {store, source, "--node-id=node-b"});
  auto c = Daemon::Start(root / "c", {store, source, "--node-id=node-c"});
  std::vector<Daemon*> nodes = {a.get(), b.get(), c.get()};
  PrometheusServer prometheus(root / "prometheus",
                              {a->admin_port(), b->admin_port(), c->admin_port()},
                              prometheus_port);
  ASSERT_TRUE(prometheus.started()) << prometheus.log();
  ASSERT_TRUE(prometheus.WaitForTargetsUp(std::chrono::seconds(30))) << prometheus.log();

  // An alarm Prometheus cannot answer is refused at deploy time, naming where it is defined.
  {
    std::string yml = kFleetAlarmService;
    yml.replace(yml.find("Statistic: Sum"), 14, "ExtendedStatistic: tm90");
    fs::path bad = root / "bad";
    fs::create_directories(bad);
    fs::copy_file(service / "bootstrap", bad / "bootstrap");
    std::ofstream(bad / "serverless.yml") << yml;
    CommandResult refused = a->Deploy(bad);
    EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("serverless.yml:"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("tm90 cannot be read from Prometheus"), std::string::npos)
        << refused.err;
  }

  ASSERT_EQ(a->Deploy(service).exit_code, 0) << a->Log();
  for (Daemon* n : nodes) {
    ASSERT_TRUE(WaitFor([&] { return FleetAlarmAlias(*n) == "1+0@0"; }, std::chrono::seconds(20)))
        << FleetAlarmAlias(*n);
  }
  // Version 2 fails every invocation; B deploys it and the canary reaches every gateway.
  CommandResult second = b->Deploy(service, {"--opt", "fail=1"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err << b->Log();
  const std::string deployment = DeploymentIdOf(second);
  ASSERT_FALSE(deployment.empty()) << second.out;
  for (Daemon* n : nodes) {
    ASSERT_TRUE(WaitFor([&] { return FleetAlarmAlias(*n) == "1+2@0.1"; }, std::chrono::seconds(30)))
        << FleetAlarmAlias(*n) << n->Log();
  }
  // Four failures through each node, the three nodes at once: 12 in the fleet, 4 on any node.
  std::vector<std::future<int>> sent;
  for (Daemon* n : nodes) {
    sent.push_back(std::async(std::launch::async, [port = n->gateway_port()] {
      HttpClient client("127.0.0.1", port);
      int failures = 0;
      for (int i = 0; i < 2000 && failures < 4; ++i) {
        if (client.Request("GET", "/api").status == 502) ++failures;
      }
      return failures;
    }));
  }
  for (auto& f : sent) ASSERT_EQ(f.get(), 4);
  ASSERT_TRUE(WaitFor([&] {
    HttpResult r = a->Admin("GET", "/v1/deployments/" + deployment);
    return r.status == 200 && r.body.find(R"("status":"Stopped")") != std::string::npos;
  }, std::chrono::seconds(45)))
      << a->Admin("GET", "/v1/deployments/" + deployment).body << a->Log() << b->Log()
      << c->Log();
  json::object got = json::parse(a->Admin("GET", "/v1/deployments/" + deployment).body)
                         .as_object()["deployment"]
                         .as_object();
  EXPECT_EQ(got["errorInformation"].as_object()["code"], "ALARM_ACTIVE") << json::serialize(got);
  // The leader decided, on the fleet's sum read from Prometheus: 12 (or at least 6) errors in one
  // period, more than any node saw.
  Daemon* leader = nullptr;
  const std::string fleet = FleetNodes(*a);
  for (Daemon* n : nodes) {
    if (fleet.find(std::string(n == a.get() ? "node-a" : n == b.get() ? "node-b" : "node-c") +
                   ":leader") != std::string::npos) {
      leader = n;
    }
  }
  ASSERT_NE(leader, nullptr) << fleet;
  HttpResult alarm = leader->Admin("GET", "/v1/alarms/fleetalarm-errors");
  ASSERT_EQ(alarm.status, 200) << alarm.body;
  EXPECT_EQ(json::parse(alarm.body).as_object()["state"], "ALARM") << alarm.body;
  // Every node serves version 1 alone again.
  for (Daemon* n : nodes) {
    EXPECT_TRUE(WaitFor([&] { return FleetAlarmAlias(*n) == "1+0@0"; }, std::chrono::seconds(20)))
        << FleetAlarmAlias(*n);
    HttpResult r = HttpClient("127.0.0.1", n->gateway_port()).Request("GET", "/api");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["x-cutover-version"], "1");
  }
  const std::string leader_log = leader->Log();
  EXPECT_NE(leader_log.find("alarms read prometheus://127.0.0.1:" + std::to_string(prometheus_port)),
            std::string::npos)
      << leader_log;
  // From OK, or from INSUFFICIENT_DATA when the failures came before its first evaluation.
  bool alarmed = false;
  std::istringstream lines(leader_log);
  for (std::string line; std::getline(lines, line);) {
    alarmed |= line.find("alarm fleetalarm-errors: ") != std::string::npos &&
               line.find(" -> ALARM: ") != std::string::npos;
  }
  EXPECT_TRUE(alarmed) << leader_log;
  a.reset();
  b.reset();
  c.reset();
  fs::remove_all(root);
}

}  // namespace
}  // namespace cutover::testing
