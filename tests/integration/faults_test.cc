// Fault injection against the real daemon (issue 7, section 3), daemon, processes and store: the
// daemon SIGKILLed at random points of deploys and deployments (mid store write included), a
// function instance SIGKILLed mid-request, the daemon SIGKILLed under an instance that would
// outlive it, a hook that never reports, a trigger endpoint that
// never answers, a read-only data directory, a full disk (RLIMIT_FSIZE on the running daemon) and
// a database locked by another process. Each test asserts what must survive: the daemon keeps
// serving, deployments end in a valid state, the alias the gateway serves is the one in the
// store, no request waits past its timeout, nothing stored is lost, and the failure is named in
// the daemon's (or the function's) log and, where a user waits, in their answer.
//
// Already covered elsewhere, so not repeated here: the php-fpm master killed
// (php_test.cc, KillingTheMasterGives502ThenRecoversAndCountsARestart), a function that crashes
// itself (platform_test.cc), the daemon killed after chosen event counts of a PHP deployment
// (deployments_test.cc).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "harness.h"
#include "support/procfs.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kApi[] = "faults-dev-api";

json::object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object();
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

double Num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<double>() : 0;
}

fs::path ServiceDir(const std::string& name) {
  return SourceDir() / "tests/integration/testdata" / name;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// What state.db holds, read by another process (python3's sqlite3, the database as any tool
// would see it) while the daemon runs.
struct Stored {
  bool read = false;
  std::string integrity;
  bool has_alias = false;
  uint32_t primary = 0, additional = 0;
  double weight = 0;
  std::set<uint32_t> versions;
  std::map<std::string, std::string> deployments;  // id → status
  std::map<std::string, int> events;               // id → number of events
};

constexpr char kReadStore[] = R"(import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
fn = sys.argv[2]
out = {"integrity": db.execute("PRAGMA integrity_check").fetchone()[0]}
row = db.execute("SELECT primary_version, coalesce(additional_version, 0), additional_weight "
                 "FROM aliases WHERE function_name = ? AND name = 'Live'", (fn,)).fetchone()
if row: out["alias"] = list(row)
out["versions"] = [r[0] for r in db.execute("SELECT version FROM versions WHERE function_name = ?",
                                             (fn,))]
out["deployments"] = {r[0]: r[1] for r in db.execute(
    "SELECT id, status FROM deployments WHERE function_name = ?", (fn,))}
out["events"] = {r[0]: r[1] for r in db.execute(
    "SELECT deployment_id, count(*) FROM deployment_events GROUP BY deployment_id")}
print(json.dumps(out))
)";

Stored ReadStore(const fs::path& db, const std::string& function) {
  Stored s;
  CommandResult r =
      RunProgram({"/usr/bin/env", "python3", "-c", kReadStore, db.string(), function}, seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json::object o = ParseObject(r.out);
  if (o.empty()) return s;
  s.read = true;
  s.integrity = Str(o, "integrity");
  if (const json::value* a = o.if_contains("alias")) {
    s.has_alias = true;
    s.primary = static_cast<uint32_t>(a->as_array()[0].to_number<int64_t>());
    s.additional = static_cast<uint32_t>(a->as_array()[1].to_number<int64_t>());
    s.weight = a->as_array()[2].to_number<double>();
  }
  for (const json::value& v : o.at("versions").as_array()) {
    s.versions.insert(static_cast<uint32_t>(v.to_number<int64_t>()));
  }
  for (const auto& [id, status] : o.at("deployments").as_object()) {
    s.deployments[std::string(id)] = std::string(status.as_string());
  }
  for (const auto& [id, n] : o.at("events").as_object()) {
    s.events[std::string(id)] = static_cast<int>(n.to_number<int64_t>());
  }
  return s;
}

// The alias as the admin API reports it (the daemon's catalogue).
json::object AdminAlias(Daemon& d, const std::string& function) {
  json::object got =
      ParseObject(d.Admin("GET", "/v1/functions/" + function + "/aliases/Live").body);
  return got.contains("alias") ? got["alias"].as_object() : got;
}

// The versions that answered `n` requests to `path` through the gateway.
std::multiset<uint32_t> Served(Daemon& d, const std::string& path, int n) {
  std::multiset<uint32_t> out;
  HttpClient client("127.0.0.1", d.gateway_port());
  for (int i = 0; i < n; ++i) {
    HttpResult r = client.Request("GET", path);
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    if (r.status == 200)
      out.insert(static_cast<uint32_t>(std::stoul(r.headers["x-cutover-version"])));
  }
  return out;
}

// The route table matches the store: the store's alias row, the admin API's alias and what the
// gateway serves agree; every stored deployment is in a valid state, at most one is active, its
// event log has no gap and its weight is the alias' weight. "" when all hold, else what did not.
std::string Inconsistency(Daemon& d, const Stored& s) {
  if (!s.has_alias) return "no alias in the store";
  const json::object alias = AdminAlias(d, kApi);
  if (Num(alias, "primary_version") != s.primary ||
      Num(alias, "additional_version") != s.additional ||
      Num(alias, "additional_weight") != s.weight) {
    return "the admin API's alias " + json::serialize(alias) + " is not the store's " +
           std::to_string(s.primary) + "+" + std::to_string(s.additional) + "@" +
           std::to_string(s.weight);
  }
  for (uint32_t v : Served(d, "/api", 12)) {
    const bool split = s.additional != 0 && s.weight > 0;
    if (v != s.primary && !(split && v == s.additional)) {
      return "the gateway served version " + std::to_string(v);
    }
  }
  static const std::set<std::string> kValid = {"Created", "InProgress", "Succeeded", "Failed",
                                               "Stopped"};
  int active = 0;
  for (const auto& [id, status] : s.deployments) {
    if (!kValid.count(status)) return id + " has status " + status;
    if (status != "Created" && status != "InProgress") continue;
    ++active;
    json::object got = ParseObject(d.Admin("GET", "/v1/deployments/" + id).body);
    if (!got.contains("deployment")) return "the admin API does not know " + id;
    uint64_t seq = 0;
    for (const json::value& e : got["events"].as_array()) {
      if (e.as_object().at("seq").to_number<uint64_t>() != ++seq) return "a gap in " + id;
    }
    const json::object& target = got["deployment"].as_object().at("lambdaTarget").as_object();
    const double weight = Num(target, "targetVersionWeight");
    const auto current = std::stoul(Str(target, "currentVersion"));
    const auto next = std::stoul(Str(target, "targetVersion"));
    const bool agrees = weight >= 1.0 ? s.primary == next && s.additional == 0
                        : weight > 0.0
                            ? s.primary == current && s.additional == next && s.weight == weight
                            : s.primary == current && s.additional == 0;
    if (!agrees) return id + " at weight " + std::to_string(weight) + " disagrees with the alias";
  }
  if (active > 1) return std::to_string(active) + " active deployments";
  return "";
}

// Inconsistency() on a fresh read of the store until it holds: a deployment may shift its weights
// between reading the store and asking the daemon, so a disagreement must last to count.
void ExpectConsistent(Daemon& d, const fs::path& db) {
  std::string why;
  EXPECT_TRUE(WaitFor(
      [&] {
        why = Inconsistency(d, ReadStore(db, kApi));
        return why.empty();
      },
      seconds(10)))
      << why;
}

bool HasActive(const Stored& s) {
  for (const auto& [id, status] : s.deployments) {
    if (status == "Created" || status == "InProgress") return true;
  }
  return false;
}

// Blocks until the daemon's process writes state.db-wal (a store transaction under way), or
// `timeout`: the kill then lands inside the write. inotify reports the first write(2) of the
// transaction's frames, before its commit and fsync.
bool WaitForStoreWrite(const fs::path& data, milliseconds timeout) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return false;
  inotify_add_watch(fd, data.c_str(), IN_MODIFY);
  bool seen = false;
  const auto deadline = Clock::now() + timeout;
  while (!seen && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(std::max<int64_t>(
        1, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count()));
    if (poll(&p, 1, left) <= 0) continue;
    alignas(inotify_event) char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf + off);
      if (ev->len > 0 && std::string_view(ev->name) == "state.db-wal") seen = true;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  close(fd);
  return seen;
}

uint64_t SeedForThisRun() {
  if (const char* s = std::getenv("CUTOVER_FAULT_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device{}();
}

// A daemon killed outright leaves no function instance behind, whatever the instance does. This
// bootstrap is AWS's custom-runtime tutorial without `set -e`: when /next cannot be reached it
// tries again, forever, so before instances had a parent death signal it outlived the daemon,
// polling a port nobody listened on (unless a cgroup sweep at the next start found it).
TEST(DaemonFaultsTest, KilledDaemonLeavesNoFunctionInstanceRunning) {
  const fs::path root = MakeTempDir("cutover-faults-orphans");
  const fs::path service = root / "service";
  fs::create_directories(service);
  std::ofstream(service / "serverless.yml") << R"(service: orphans
provider:
  name: aws
  runtime: provided.al2
  stage: dev
functions:
  loop:
    handler: bootstrap
    events:
      - http: GET /loop
)";
  std::ofstream(service / "bootstrap") << R"sh(#!/bin/bash
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
HEADERS="$(mktemp)"
while true; do
  EVENT="$(curl -sS -D "$HEADERS" "$API/next")" || { sleep 0.05; continue; }
  ID="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
  curl -sS -X POST "$API/$ID/response" -d '{"statusCode":200,"body":"looping"}' >/dev/null || true
done
)sh";
  fs::permissions(service / "bootstrap", fs::perms::owner_all | fs::perms::group_read |
                                             fs::perms::group_exec | fs::perms::others_read |
                                             fs::perms::others_exec);
  // Without limits the instance is exec'd as is; with RLIMIT_DATA through prlimit first.
  for (const std::string mode : {"off", "rlimit"}) {
    SCOPED_TRACE("--memory-limit " + mode);
    auto daemon = Daemon::Start(root / ("data-" + mode), {"--memory-limit", mode});
    CommandResult deployed = daemon->Deploy(service);
    ASSERT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err;
    HttpResult first = daemon->Gateway("GET", "/loop");
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.body, "looping");
    const std::vector<pid_t> instances = procfs::ChildrenOf(daemon->pid());
    ASSERT_EQ(instances.size(), 1u);

    daemon->Kill();
    const bool ended =
        WaitFor([&] { return std::all_of(instances.begin(), instances.end(), procfs::Ended); },
                seconds(10));
    EXPECT_TRUE(ended) << "the instance (pid " << instances[0] << ") outlived its daemon";
    for (pid_t pid : instances) {  // their process groups: the bootstrap and its curl
      if (!procfs::Ended(pid)) ::kill(-pid, SIGKILL);
    }
  }
}

TEST(DaemonFaultsTest, KilledAtRandomPointsOfDeploysAndStoreWritesComesBackConsistent) {
  const uint64_t seed = SeedForThisRun();
  // Printed whatever happens, so a failure can be replayed with CUTOVER_FAULT_SEED.
  std::cout << "[   SEED   ] CUTOVER_FAULT_SEED=" << seed << std::endl;
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("CUTOVER_FAULT_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);

  const fs::path root = MakeTempDir("cutover-faults-kill");
  const fs::path data = root / "data";
  // A step (one scaled minute) lasts 250 ms: a deployment ends within a few rounds, so later
  // rounds deploy again, and the rollup writer commits every 250 ms too.
  const std::vector<std::string> args = {"--time-scale", "240"};
  auto daemon = Daemon::Start(data, args);
  int release = 1;
  CommandResult first = daemon->Deploy(ServiceDir("faults"), {"--opt", "release=1"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;

  std::set<uint32_t> acknowledged = {1};  // versions a deploy reported as published
  Stored before = ReadStore(data / "state.db", kApi);
  int kills = 0, mid_write = 0;
  double worst_recovery_ms = 0;
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    // A deploy of the next release, when no deployment is running, killed or not on the way.
    std::future<CommandResult> deploy;
    if (!HasActive(before)) {
      const int r = ++release;
      Daemon* d = daemon.get();
      deploy = std::async(std::launch::async, [d, r] {
        return d->Deploy(ServiceDir("faults"), {"--opt", "release=" + std::to_string(r)});
      });
    }
    // Kill points, the store write twice as likely as the others.
    const int mode = std::array<int, 5>{0, 1, 1, 2, 3}[random() % 5];
    const char* point = "";
    if (mode == 0) {
      point = "at a random moment";
      // The injection point itself: 0–150 ms into a deploy or a deployment's steps.
      std::this_thread::sleep_for(milliseconds(random() % 150));
    } else if (mode == 1) {
      point = "inside a store write";
      std::this_thread::sleep_for(milliseconds(random() % 400));  // picks which write
      mid_write += WaitForStoreWrite(data, seconds(5));
    } else if (mode == 2) {
      point = "after more deployment events";
      const int total = [&] {
        int n = 0;
        for (const auto& [id, c] : before.events) n += c;
        return n;
      }();
      const int more = 1 + static_cast<int>(random() % 3);
      WaitFor(
          [&] {
            int n = 0;
            for (const auto& [id, c] : ReadStore(data / "state.db", kApi).events) n += c;
            return n >= total + more;
          },
          seconds(10));
    } else {
      point = "right after the restart";
    }
    daemon->Kill();
    ++kills;
    std::cout << "[  KILL  ] round " << round << ": " << point;
    if (deploy.valid()) {
      CommandResult r = deploy.get();
      std::cout << ", with the deploy of release " << release << " in flight: it exited "
                << r.exit_code;
      if (r.exit_code == 0) {
        json::object out = ParseObject(r.out);
        for (const json::value& f : out["functions"].as_array()) {
          if (f.as_object().at("function_name") == kApi) {
            acknowledged.insert(
                static_cast<uint32_t>(f.as_object().at("version").to_number<int64_t>()));
          }
        }
      }
    }
    std::cout << std::endl;

    const auto killed_at = Clock::now();
    daemon = Daemon::Start(data, args);
    ASSERT_TRUE(WaitFor([&] { return daemon->Gateway("GET", "/api").status == 200; }, seconds(20)));
    worst_recovery_ms = std::max(worst_recovery_ms, Ms(Clock::now() - killed_at));

    Stored now = ReadStore(data / "state.db", kApi);
    ASSERT_TRUE(now.read);
    EXPECT_EQ(now.integrity, "ok");
    // Nothing already stored is lost: versions, deployments and their events only grow, and
    // every version a deploy acknowledged is there.
    for (uint32_t v : before.versions) EXPECT_TRUE(now.versions.count(v)) << "lost version " << v;
    for (uint32_t v : acknowledged) EXPECT_TRUE(now.versions.count(v)) << "lost acknowledged " << v;
    for (const auto& [id, n] : before.events) {
      EXPECT_GE(now.events[id], n) << "events of " << id << " were lost";
      EXPECT_TRUE(now.deployments.count(id)) << "lost deployment " << id;
    }
    ExpectConsistent(*daemon, data / "state.db");
    if (::testing::Test::HasFatalFailure()) return;
    before = now;
  }
  EXPECT_EQ(kills, kRounds);

  // The last deployment (resumed by the last restart) finishes, and the alias ends on the newest
  // version, in the store and at the gateway.
  ASSERT_TRUE(WaitFor([&] { return !HasActive(ReadStore(data / "state.db", kApi)); }, seconds(60)));
  Stored end = ReadStore(data / "state.db", kApi);
  for (const auto& [id, status] : end.deployments) EXPECT_EQ(status, "Succeeded") << id;
  EXPECT_EQ(end.primary, *end.versions.rbegin());
  EXPECT_EQ(end.additional, 0u);
  EXPECT_EQ(Inconsistency(*daemon, end), "");
  std::cout << "[ FIGURES  ] " << kills << " kills (" << mid_write
            << " inside a store write), worst kill-to-first-200 " << worst_recovery_ms << " ms, "
            << end.versions.size() << " versions, " << end.deployments.size() << " deployments"
            << std::endl;
  daemon.reset();
  fs::remove_all(root);
}

// --- Function instances ---------------------------------------------------------------------

class ServiceFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir("cutover-faults");
    fs::create_directories(root_ / "pids");
  }
  void TearDown() override {
    daemon_.reset();
    fs::remove_all(root_);
  }
  void StartAndDeploy(const DaemonOptions& options = {}) {
    daemon_ = Daemon::Start(root_ / "data", options);
    CommandResult r =
        daemon_->Deploy(ServiceDir("faults"), {"--opt", "piddir=" + (root_ / "pids").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  std::string FunctionLog(const std::string& function) {
    return RunCutover({"logs", function, "--admin", daemon_->admin_url()}).out;
  }

  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(ServiceFaultsTest, InstanceKilledMidRequestAnswers502AtOnceAndTheNextRequestSucceeds) {
  StartAndDeploy();
  const fs::path pid_file = root_ / "pids/hold.pid";
  std::future<HttpResult> held =
      std::async(std::launch::async, [this] { return daemon_->Gateway("GET", "/hold?s=25"); });
  ASSERT_TRUE(WaitFor([&] { return fs::exists(pid_file); }, seconds(20)));
  pid_t pid = 0;
  std::ifstream(pid_file) >> pid;
  ASSERT_GT(pid, 0);
  const auto killed = Clock::now();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // The client learns at once, not at the function's 30 s timeout or the 29 s integration one.
  ASSERT_EQ(held.wait_for(seconds(5)), std::future_status::ready) << "the request hung";
  const double answered_ms = Ms(Clock::now() - killed);
  HttpResult r = held.get();
  EXPECT_EQ(r.status, 502) << r.body << r.error;
  EXPECT_EQ(r.body, R"({"message": "Internal server error"})");
  // The same function serves the next request, on a new instance.
  HttpResult next = daemon_->Gateway("GET", "/hold?s=0");
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.body, "held 0 s");
  EXPECT_EQ(daemon_->Gateway("GET", "/ok").status, 200);
  // The function's log says what happened, in Lambda's words.
  EXPECT_TRUE(WaitFor(
      [&] {
        return FunctionLog("faults-dev-hold").find("Runtime exited with error: signal: killed") !=
               std::string::npos;
      },
      seconds(10)))
      << FunctionLog("faults-dev-hold");
  EXPECT_NE(FunctionLog("faults-dev-hold").find("Error Type: Runtime.ExitError"),
            std::string::npos);
  std::cout << "[ FIGURES  ] 502 " << answered_ms << " ms after the SIGKILL" << std::endl;
}

// --- Hooks and triggers ---------------------------------------------------------------------

// Accepts connections (the kernel's backlog does) and never reads or answers: a trigger endpoint
// that hangs every delivery until the sender's own timeout.
class SilentEndpoint {
 public:
  SilentEndpoint() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 64);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentEndpoint() { close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/never"; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

std::string DeploymentStatus(Daemon& d, const std::string& id, json::object* out = nullptr) {
  json::object got = ParseObject(d.Admin("GET", "/v1/deployments/" + id).body);
  if (out != nullptr) *out = got;
  return got.contains("deployment") ? Str(got["deployment"].as_object(), "status") : "";
}

TEST(HookFaultsTest, HookThatNeverReportsFailsTheDeploymentAtItsTimeoutAndRollsBack) {
  SilentEndpoint triggers;
  const fs::path root = MakeTempDir("cutover-faults-hook");
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "60"});
  const std::vector<std::string> opts = {"--opt", "trigger=" + triggers.url()};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), opts.begin(), opts.end());
    return more;
  };
  ASSERT_EQ(daemon->Deploy(ServiceDir("faults-hooks"), with({"--opt", "release=1"})).exit_code, 0);
  CommandResult v2 = daemon->Deploy(ServiceDir("faults-hooks"), with({"--opt", "release=2"}));
  ASSERT_EQ(v2.exit_code, 0) << v2.out << v2.err;
  const std::string id = DeploymentIdOf(v2);
  ASSERT_FALSE(id.empty()) << v2.out;
  const auto started = Clock::now();
  // hookTimeout is one scaled minute: a second here. The hook itself sleeps 50 s.
  ASSERT_TRUE(WaitFor([&] { return DeploymentStatus(*daemon, id) == "Failed"; }, seconds(20)))
      << daemon->Admin("GET", "/v1/deployments/" + id).body;
  const double failed_after_ms = Ms(Clock::now() - started);
  json::object got;
  DeploymentStatus(*daemon, id, &got);
  const json::object& dep = got["deployment"].as_object();
  EXPECT_EQ(Str(dep.at("errorInformation").as_object(), "code"), "HOOK_EXECUTION_FAILURE");
  EXPECT_NE(Str(dep.at("errorInformation").as_object(), "message").find("did not report"),
            std::string::npos)
      << json::serialize(dep);
  // Rolled back: the alias never left version 1 (and a rollback deployment, if one was made,
  // succeeded).
  if (const json::value* info = dep.if_contains("rollbackInfo");
      info != nullptr && info->is_object()) {
    const std::string rollback = Str(info->as_object(), "rollbackDeploymentId");
    if (!rollback.empty()) {
      EXPECT_TRUE(
          WaitFor([&] { return DeploymentStatus(*daemon, rollback) == "Succeeded"; }, seconds(10)));
    }
  }
  json::object alias = AdminAlias(*daemon, "faults-hooks-dev-api");
  EXPECT_EQ(Num(alias, "primary_version"), 1);
  EXPECT_EQ(Num(alias, "additional_version"), 0);
  for (int i = 0; i < 5; ++i) {
    HttpResult r = daemon->Gateway("GET", "/api");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "release 1");
  }
  EXPECT_NE(daemon->Log().find("did not report its status within"), std::string::npos)
      << daemon->Log();
  // The next deploy is not blocked by the failed one (nor by the hook still sleeping).
  CommandResult v3 = daemon->Deploy(ServiceDir("faults-hooks"),
                                    with({"--opt", "release=3", "--opt", "hook=noneHook", "--opt",
                                          "hookTimeout=10m"}));
  ASSERT_EQ(v3.exit_code, 0) << v3.out << v3.err;
  const std::string next = DeploymentIdOf(v3);
  EXPECT_TRUE(WaitFor([&] { return DeploymentStatus(*daemon, next) == "Succeeded"; }, seconds(30)))
      << daemon->Admin("GET", "/v1/deployments/" + next).body;
  std::cout << "[ FIGURES  ] hung hook: deployment Failed " << failed_after_ms
            << " ms after its deploy (hookTimeout 1 scaled minute = 1 s)" << std::endl;
  daemon.reset();
  fs::remove_all(root);
}

TEST(TriggerFaultsTest, TriggerEndpointThatNeverAnswersDoesNotHoldTheDeployment) {
  SilentEndpoint triggers;
  const fs::path root = MakeTempDir("cutover-faults-trigger");
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "60"});
  const std::vector<std::string> opts = {"--opt", "trigger=" + triggers.url(), "--opt",
                                         "hook=noneHook", "--opt", "hookTimeout=10m"};
  auto with = [&](const std::string& release) {
    std::vector<std::string> v = opts;
    v.insert(v.end(), {"--opt", "release=" + release});
    return v;
  };
  ASSERT_EQ(daemon->Deploy(ServiceDir("faults-hooks"), with("1")).exit_code, 0);
  CommandResult v2 = daemon->Deploy(ServiceDir("faults-hooks"), with("2"));
  ASSERT_EQ(v2.exit_code, 0) << v2.out << v2.err;
  const std::string id = DeploymentIdOf(v2);
  ASSERT_FALSE(id.empty());
  const auto started = Clock::now();
  // Two steps of one scaled minute each: about 2 s, whatever the endpoint does with the
  // DeploymentStart notification (its attempts time out after 5 s each).
  ASSERT_TRUE(WaitFor([&] { return DeploymentStatus(*daemon, id) == "Succeeded"; }, seconds(15)))
      << daemon->Admin("GET", "/v1/deployments/" + id).body;
  const double succeeded_ms = Ms(Clock::now() - started);
  // The DeploymentStart notice is tried five times, each attempt abandoned after 5 s, with
  // 1+2+4+8 s between them: a deployment that waited on it would be held 40 s, past the 15 s
  // deadline above. The admin API and the gateway answer while it is still being tried.
  EXPECT_EQ(daemon->Admin("GET", "/v1/health").status, 200);
  HttpResult r = daemon->Gateway("GET", "/api");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "release 2");
  // Each attempt that timed out is logged with the endpoint.
  EXPECT_TRUE(WaitFor(
      [&] {
        const std::string log = daemon->Log();
        return log.find(triggers.url()) != std::string::npos &&
               log.find("failed") != std::string::npos;
      },
      seconds(15)))
      << daemon->Log();
  std::cout << "[ FIGURES  ] deployment Succeeded " << succeeded_ms
            << " ms after its deploy with a silent trigger endpoint" << std::endl;
  daemon.reset();
  fs::remove_all(root);
}

// --- Store ----------------------------------------------------------------------------------

// As root, permissions do not stop writes: the daemon then runs as `nobody` through setpriv.
std::vector<std::string> AsUnprivileged(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  argv.insert(argv.begin(),
              {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"});
  return argv;
}

TEST(StoreFaultsTest, ReadOnlyDataDirectoryIsRefusedAtStartWithAClearError) {
  if (::geteuid() == 0 && !fs::exists("/usr/bin/setpriv")) GTEST_SKIP() << "no setpriv";
  const fs::path root = MakeTempDir("cutover-faults-ro");
  fs::permissions(root, fs::perms(0755));  // nobody must reach the data directory
  const fs::path data = root / "data";
  const fs::path ready_dir = root / "ready";  // where the unprivileged daemon may write
  fs::create_directories(ready_dir);
  fs::permissions(ready_dir, fs::perms(0777));
  // A daemon (as the same user) stores a service first: what is there must survive the refusal.
  auto serve = [&](const fs::path& ready) {
    return AsUnprivileged({CutoverBinary().string(), "serve", "--port", "0", "--admin-port", "0",
                           "--data", data.string(), "--ready-file", ready.string()});
  };
  fs::create_directories(data);
  if (::geteuid() == 0) {
    ASSERT_EQ(RunProgram({"/bin/chown", "-R", "nobody:nogroup", data.string()}).exit_code, 0);
  }
  {
    // Started by hand (not Daemon::Start) so it runs as the unprivileged user too.
    std::future<CommandResult> daemon = std::async(std::launch::async, [&] {
      return RunProgram(serve(ready_dir / "ready.json"), seconds(60));
    });
    ASSERT_TRUE(WaitFor([&] { return fs::exists(ready_dir / "ready.json"); }, seconds(20)));
    std::ifstream in(ready_dir / "ready.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json::object ready = ParseObject(text);
    CommandResult r = RunCutover(
        {"deploy", "--dir", ServiceDir("faults").string(), "--admin", Str(ready, "admin")});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    ::kill(static_cast<pid_t>(Num(ready, "pid")), SIGTERM);
    EXPECT_EQ(daemon.get().exit_code, 0);
  }
  const std::string before = RunProgram({"/usr/bin/env", "python3", "-c",
                                         "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"
                                         "'rb').read()).hexdigest())",
                                         (data / "state.db").string()})
                                 .out;

  // The directory read-only: refused at start, with the directory named and why.
  fs::permissions(data, fs::perms(0555));
  CommandResult refused = RunProgram(serve(ready_dir / "ready2.json"), seconds(30));
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("the data directory " + data.string() + " is not writable"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("Permission denied"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(ready_dir / "ready2.json"));
  std::cout << "[ MESSAGE  ] " << refused.err;

  // The database file read-only in a writable directory: the same, naming the file.
  fs::permissions(data, fs::perms(0755));
  fs::permissions(data / "state.db", fs::perms(0444));
  refused = RunProgram(serve(ready_dir / "ready3.json"), seconds(30));
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("file " + (data / "state.db").string()), std::string::npos)
      << refused.err;

  // Nothing was touched: writable again, the daemon serves what was stored.
  fs::permissions(data / "state.db", fs::perms(0644));
  const std::string after = RunProgram({"/usr/bin/env", "python3", "-c",
                                        "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"
                                        "'rb').read()).hexdigest())",
                                        (data / "state.db").string()})
                                .out;
  EXPECT_EQ(before, after);
  auto daemon = Daemon::Start(data);
  EXPECT_EQ(daemon->Gateway("GET", "/ok").status, 200);
  daemon.reset();
  fs::remove_all(root);
}

// Sets the running daemon's RLIMIT_FSIZE: with `bytes` = 0, every write to a regular file fails
// with EFBIG, as on a full disk (the daemon ignores SIGXFSZ). RLIM_INFINITY lifts it.
void LimitFileSize(pid_t pid, rlim_t bytes) {
  rlimit limit{bytes, RLIM_INFINITY};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, &limit, nullptr), 0) << std::strerror(errno);
}

TEST_F(ServiceFaultsTest, DiskFullFailsDeploysClearlyWhileTheDaemonKeepsServing) {
  DaemonOptions options;
  options.extra_args = {"--time-scale", "60"};
  options.log_through_pipe = true;  // the daemon's own log is not a file it writes
  StartAndDeploy(options);
  const fs::path data = root_ / "data";
  ASSERT_EQ(daemon_->Gateway("GET", "/api").body, "release 1");
  const Stored stored = ReadStore(data / "state.db", kApi);

  LimitFileSize(daemon_->pid(), 0);
  // New code: the package cannot be stored.
  const fs::path changed = root_ / "changed";
  fs::copy(ServiceDir("faults"), changed, fs::copy_options::recursive);
  std::ofstream(changed / "handler.py", std::ios::app) << "\n# changed\n";
  const auto asked = Clock::now();
  CommandResult code = daemon_->Deploy(changed, {"--opt", "piddir=" + (root_ / "pids").string()});
  EXPECT_NE(code.exit_code, 0) << code.out;
  EXPECT_NE(code.err.find("disk full"), std::string::npos) << code.err;
  // Same code, new configuration: the package is there, the store's commit fails.
  CommandResult config = daemon_->Deploy(
      ServiceDir("faults"), {"--opt", "piddir=" + (root_ / "pids").string(), "--opt", "release=2"});
  EXPECT_NE(config.exit_code, 0) << config.out;
  // SQLite says "disk I/O error" (EFBIG; a real ENOSPC is its "database or disk is full").
  EXPECT_NE(config.err.find("sqlite: committing: disk I/O error"), std::string::npos) << config.err;
  EXPECT_LT(Ms(Clock::now() - asked), 20'000) << "a deploy waited on the full disk";
  std::cout << "[ MESSAGE  ] new code: exit " << code.exit_code << ", " << code.err
            << "[ MESSAGE  ] new configuration: exit " << config.exit_code << ", " << config.err;

  // Still serving, the old release, with function logs failing (and said so, once).
  EXPECT_EQ(::kill(daemon_->pid(), 0), 0) << "the daemon died";
  EXPECT_EQ(daemon_->Admin("GET", "/v1/health").status, 200);
  for (int i = 0; i < 20; ++i) {
    HttpResult r = daemon_->Gateway("GET", "/api");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(r.body, "release 1");
  }
  const std::string log = daemon_->Log();
  EXPECT_NE(log.find("not stored: cannot write"), std::string::npos) << log;
  EXPECT_NE(log.find("deploy refused, nothing published"), std::string::npos) << log;
  EXPECT_TRUE(
      WaitFor([&] { return daemon_->Log().find("function logs: writing") != std::string::npos; },
              seconds(5)))
      << daemon_->Log();

  // Space again: nothing was lost, and the same deploys now go through.
  LimitFileSize(daemon_->pid(), RLIM_INFINITY);
  const Stored after = ReadStore(data / "state.db", kApi);
  EXPECT_EQ(after.integrity, "ok");
  EXPECT_EQ(after.versions, stored.versions);
  EXPECT_EQ(after.primary, stored.primary);
  CommandResult retry = daemon_->Deploy(
      ServiceDir("faults"), {"--opt", "piddir=" + (root_ / "pids").string(), "--opt", "release=2"});
  ASSERT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  const std::string id = DeploymentIdOf(retry);
  ASSERT_FALSE(id.empty()) << retry.out;
  EXPECT_TRUE(WaitFor([&] { return DeploymentStatus(*daemon_, id) == "Succeeded"; }, seconds(30)));
  EXPECT_EQ(daemon_->Gateway("GET", "/api").body, "release 2");
  CommandResult code_again = daemon_->Deploy(
      changed, {"--opt", "piddir=" + (root_ / "pids").string(), "--opt", "release=2"});
  EXPECT_EQ(code_again.exit_code, 0) << code_again.out << code_again.err;
}

TEST_F(ServiceFaultsTest, LockedDatabaseFailsDeploysAfterTheBusyTimeoutAndTheGatewayKeepsServing) {
  DaemonOptions options;
  options.extra_args = {"--time-scale", "60"};
  StartAndDeploy(options);
  const fs::path data = root_ / "data";
  const fs::path release_lock = root_ / "release-lock";
  // Another process takes the write lock and keeps it until the test releases it.
  constexpr char kLock[] = R"(import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
open(sys.argv[2] + ".locked", "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.02)
db.execute("ROLLBACK")
)";
  std::future<CommandResult> holder = std::async(std::launch::async, [&] {
    return RunProgram({"/usr/bin/env", "python3", "-c", kLock, (data / "state.db").string(),
                       release_lock.string()},
                      seconds(90));
  });
  struct Unlock {
    fs::path file;
    ~Unlock() { std::ofstream touch(file); }
  } unlock_on_exit{release_lock};
  fs::path locked = release_lock;
  locked += ".locked";
  ASSERT_TRUE(WaitFor([&] { return fs::exists(locked); }, seconds(20)));

  // The gateway does not touch the store: it keeps answering at once.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad{0};
  std::atomic<double> slowest{0};
  std::thread traffic([&] {
    HttpClient client("127.0.0.1", daemon_->gateway_port());
    while (!stop) {
      const auto t = Clock::now();
      HttpResult r = client.Request("GET", "/api");
      const double ms = Ms(Clock::now() - t);
      if (ms > slowest) slowest = ms;
      (r.status == 200 && r.body == "release 1" ? ok : bad)++;
    }
  });
  const auto asked = Clock::now();
  CommandResult refused = daemon_->Deploy(
      ServiceDir("faults"), {"--opt", "piddir=" + (root_ / "pids").string(), "--opt", "release=2"});
  const double refused_after_ms = Ms(Clock::now() - asked);
  std::cout << "[ MESSAGE  ] exit " << refused.exit_code << ", " << refused.err;
  stop = true;
  traffic.join();
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.err.find("database is locked"), std::string::npos) << refused.err;
  // SQLite's busy timeout (5 s) bounds the wait; the CLI is not left hanging.
  // Each admin request may queue behind a control-loop write waiting out its own busy timeout.
  EXPECT_LT(refused_after_ms, 25'000);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LT(slowest.load(), 2'000) << "a gateway request waited on the lock";
  EXPECT_NE(daemon_->Log().find("deploy refused, nothing published"), std::string::npos)
      << daemon_->Log();
  EXPECT_NE(daemon_->Log().find("database is locked"), std::string::npos);

  // Lock released: the same deploy goes through and its deployment runs to the end.
  { std::ofstream touch(release_lock); }
  EXPECT_EQ(holder.get().exit_code, 0);
  CommandResult retry = daemon_->Deploy(
      ServiceDir("faults"), {"--opt", "piddir=" + (root_ / "pids").string(), "--opt", "release=2"});
  ASSERT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  const std::string id = DeploymentIdOf(retry);
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(WaitFor([&] { return DeploymentStatus(*daemon_, id) == "Succeeded"; }, seconds(30)));
  const Stored end = ReadStore(data / "state.db", kApi);
  EXPECT_EQ(end.versions, (std::set<uint32_t>{1, 2}));
  EXPECT_EQ(Inconsistency(*daemon_, end), "");
  std::cout << "[ FIGURES  ] locked database: deploy refused after " << refused_after_ms << " ms; "
            << ok.load() << " gateway requests meanwhile, slowest " << slowest.load() << " ms"
            << std::endl;
}

}  // namespace
}  // namespace cutover::testing
