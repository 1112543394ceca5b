// What a function process may not take from the machine (docs/ARCHITECTURE.md, "Limits of function
// processes"): memory past its memorySize (a memory cgroup per instance, or RLIMIT_DATA), the
// daemon's descriptors, and, with `serve --run-as USER`, the daemon's identity. Each service is
// written into a temporary directory.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>

#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// `hog` allocates ?mb= MiB (400 by default) under memorySize 128; `fds` describes its descriptors,
// telling apart the one connection the bootstrap itself keeps to the Runtime API; `cgroup` answers
// its /proc/self/cgroup.
constexpr char kLimitsService[] = R"(service: limits
provider:
  name: aws
  runtime: python3.11
  stage: test
functions:
  hog:
    handler: handler.hog
    memorySize: 128
    timeout: 20
    events:
      - http: GET /hog
  fds:
    handler: handler.fds
    events:
      - http: GET /fds
  cgroup:
    handler: handler.cgroup
    memorySize: 160
    events:
      - http: GET /cgroup
)";

constexpr char kLimitsHandler[] = R"(import json
import os
import socket


def hog(event, context):
    mb = int(((event.get("queryStringParameters") or {}).get("mb")) or 400)
    block = bytearray(mb << 20)
    return {"statusCode": 200, "body": "allocated %d MiB" % (len(block) >> 20)}


def fds(event, context):
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    out = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            target = os.readlink("/proc/self/fd/" + name)
        except OSError:
            target = None  # the listing's own descriptor, closed by now
        runtime_api = False
        if target and target.startswith("socket:"):
            try:
                s = socket.socket(fileno=os.dup(fd))
                peer = s.getpeername()
                s.close()
                runtime_api = "%s:%d" % (peer[0], peer[1]) == api
            except OSError:
                pass
        out.append({"fd": fd, "target": target, "runtimeApi": runtime_api})
    return out


def cgroup(event, context):
    with open("/proc/self/cgroup") as f:
        return {"statusCode": 200, "body": f.read()}
)";

double ErrorsSum(Daemon& daemon, const std::string& function) {
  HttpResult q = daemon.Admin("GET",
                              "/v1/metrics/query?namespace=AWS/Lambda&name=Errors&dimensions="
                              "FunctionName=" +
                                  function + "&statistic=Sum&period=60&minutes=5");
  EXPECT_EQ(q.status, 200) << q.body;
  boost::system::error_code ec;
  json::value v = json::parse(q.body, ec);
  if (ec || !v.is_object()) return -1;
  double sum = 0;
  for (const auto& dp : v.as_object().at("datapoints").as_array()) {
    const json::value& value = dp.as_object().at("value");
    if (value.is_number()) sum += value.to_number<double>();
  }
  return sum;
}

// RLIMIT_DATA, the fallback where no memory cgroup can be made, chosen here with --memory-limit.
class LimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(MakeTempDir("cutover-limits"));
    WriteFile(*dir_ / "service/serverless.yml", kLimitsService);
    WriteFile(*dir_ / "service/handler.py", kLimitsHandler);
    daemon_ = Daemon::Start(*dir_ / "data", {"--memory-limit", "rlimit"}).release();
    CommandResult r = daemon_->Deploy(*dir_ / "service");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static inline Daemon* daemon_ = nullptr;
  static inline fs::path* dir_ = nullptr;
};

// `hog` within its memorySize answers.
void ExpectHogAllocates16MiB(Daemon& daemon) {
  HttpResult r = daemon.Gateway("GET", "/hog?mb=16");
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(r.body, "allocated 16 MiB");
}

// `hog` within its memorySize (so that the pool has a warm instance to lose), then past it through
// the gateway (502) and the Invoke API, whose answer is returned.
HttpResult OverrunHogMemory(Daemon& daemon) {
  ExpectHogAllocates16MiB(daemon);
  HttpResult big = daemon.Gateway("GET", "/hog");
  EXPECT_EQ(big.status, 502) << big.body << big.error;
  HttpResult invoked = daemon.Admin("POST", "/2015-03-31/functions/limits-test-hog/invocations",
                                    R"({"queryStringParameters":{"mb":"400"}})");
  EXPECT_EQ(invoked.status, 200) << invoked.body;
  EXPECT_EQ(invoked.headers["x-amz-function-error"], "Unhandled") << invoked.body;
  return invoked;
}

TEST_F(LimitsTest, FunctionPastItsMemoryFailsCountsAsErrorAndThePoolRecovers) {
  HttpResult invoked = OverrunHogMemory(*daemon_);
  // The allocation failed in the function, which reported it.
  EXPECT_NE(invoked.body.find("MemoryError"), std::string::npos) << invoked.body;
  // Both count in AWS/Lambda Errors (written by the control tick from the gateway's samples and the
  // Invoke API's).
  double errors = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        errors = ErrorsSum(*daemon_, "limits-test-hog");
        return errors >= 2;
      },
      std::chrono::seconds(10)))
      << "Errors = " << errors;
  EXPECT_EQ(errors, 2);
  ExpectHogAllocates16MiB(*daemon_);
}

TEST_F(LimitsTest, FunctionInheritsNoDescriptorBeyondStdio) {
  HttpResult r = daemon_->Admin("POST", "/2015-03-31/functions/limits-test-fds/invocations", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.headers["x-amz-function-error"], "") << r.body;
  std::set<int64_t> inherited;
  int listing = 0, runtime_api = 0;
  const json::value listed = json::parse(r.body);
  for (const json::value& e : listed.as_array()) {
    const json::object& o = e.as_object();
    if (o.at("target").is_null()) {
      ++listing;
    } else if (o.at("runtimeApi").as_bool()) {
      ++runtime_api;  // the bootstrap's own keep-alive connection, opened after exec
    } else {
      inherited.insert(o.at("fd").as_int64());
    }
  }
  EXPECT_EQ(inherited, (std::set<int64_t>{0, 1, 2})) << r.body;
  EXPECT_LE(listing, 1) << r.body;
  EXPECT_LE(runtime_api, 1) << r.body;
}

// The daemon's cgroup in a cgroup v1 memory hierarchy it may write to (root), or "" where there is
// none. On cgroup v2 the daemon shares its cgroup with this test process, so it cannot take the
// memory controller for its children ("no internal processes") and falls back to RLIMIT_DATA; the
// v2 files are covered by MemoryCgroupsTest (unit).
fs::path WritableV1MemoryCgroup() {
  if (::geteuid() != 0) return {};
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    if (("," + line.substr(a + 1, b - a - 1) + ",").find(",memory,") == std::string::npos) continue;
    fs::path dir = fs::path("/sys/fs/cgroup/memory") / line.substr(b + 1).substr(1);
    if (fs::exists(dir / "memory.limit_in_bytes") && ::access(dir.c_str(), W_OK) == 0) return dir;
  }
  return {};
}

// A pid no process has: above the kernel's largest.
pid_t DeadPid() {
  std::ifstream in("/proc/sys/kernel/pid_max");
  pid_t max = 4194304;
  in >> max;
  return max + 1;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The memory cgroup of the instance that answered GET /cgroup, from its /proc/self/cgroup.
fs::path InstanceCgroup(Daemon& daemon) {
  HttpResult r = daemon.Gateway("GET", "/cgroup");
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  std::istringstream lines(r.body);
  std::string line;
  while (std::getline(lines, line)) {
    size_t at = line.find(":memory:");
    if (at != std::string::npos) return fs::path("/sys/fs/cgroup/memory") / line.substr(at + 9);
  }
  ADD_FAILURE() << "no memory line in " << r.body;
  return {};
}

// `serve --memory-limit auto` on a machine with a writable memory cgroup: each instance in a
// cgroup of its memorySize, killed by the kernel past it, reported as Lambda does.
class MemoryCgroupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    own_ = new fs::path(WritableV1MemoryCgroup());
    if (own_->empty()) return;
    dir_ = new fs::path(MakeTempDir("cutover-cgroups"));
    WriteFile(*dir_ / "service/serverless.yml", kLimitsService);
    WriteFile(*dir_ / "service/handler.py", kLimitsHandler);
    // What a SIGKILLed daemon leaves behind: its directory with an instance's cgroup in it.
    stale_ = new fs::path(*own_ / ("cutover." + std::to_string(DeadPid())));
    fs::create_directories(*stale_ / "i1");
    daemon_ = Daemon::Start(*dir_ / "data", {"--memory-limit", "auto"}).release();
    CommandResult r = daemon_->Deploy(*dir_ / "service");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    if (dir_) fs::remove_all(*dir_);
    if (stale_ && fs::exists(*stale_)) KillAndRemove(*stale_);
    delete dir_;
    delete stale_;
    delete own_;
  }
  void SetUp() override {
    if (own_->empty()) GTEST_SKIP() << "needs root and a cgroup v1 memory hierarchy";
  }
  static void KillAndRemove(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_directory()) KillAndRemove(e.path());
    }
    ::rmdir(dir.c_str());
  }

  static inline Daemon* daemon_ = nullptr;
  static inline fs::path* dir_ = nullptr;
  static inline fs::path* own_ = nullptr;
  static inline fs::path* stale_ = nullptr;
};

TEST_F(MemoryCgroupTest, EachInstanceRunsInACgroupOfItsMemorySize) {
  const fs::path mine = *own_ / ("cutover." + std::to_string(daemon_->pid()));
  HttpResult status = daemon_->Admin("GET", "/v1/status");
  ASSERT_EQ(status.status, 200) << status.body;
  const std::string how =
      json::parse(status.body).as_object().at("memory_limit").as_string().c_str();
  EXPECT_EQ(how, "cgroup v1 memory.limit_in_bytes per instance, under " + mine.string());

  const fs::path cgroup = InstanceCgroup(*daemon_);
  EXPECT_EQ(cgroup.parent_path(), mine);
  EXPECT_EQ(ReadText(cgroup / "memory.limit_in_bytes"), std::to_string(160 << 20) + "\n");
  // The instance's processes, and only they, are in it.
  EXPECT_FALSE(ReadText(cgroup / "cgroup.procs").empty());
  EXPECT_EQ(ReadText(mine / "cgroup.procs"), "");
  // What the departed daemon left was removed at start.
  EXPECT_FALSE(fs::exists(*stale_)) << stale_->string();
}

TEST_F(MemoryCgroupTest, FunctionPastItsMemoryIsKilledAsOutOfMemoryAndThePoolRecovers) {
  const std::string fn = "limits-test-hog";
  HttpResult invoked = OverrunHogMemory(*daemon_);
  const json::object error = json::parse(invoked.body).as_object();
  EXPECT_EQ(error.at("errorType").as_string(), "Runtime.OutOfMemory") << invoked.body;
  EXPECT_NE(std::string(error.at("errorMessage").as_string())
                .find("Error: Runtime exited with error: signal: killed"),
            std::string::npos)
      << invoked.body;

  // The REPORT line says so, with the peak the kernel measured: at the limit.
  std::string log;
  ASSERT_TRUE(WaitFor(
      [&] {
        log = daemon_->Admin("GET", "/v1/functions/" + fn + "/logs").body;
        return log.find("Error Type: Runtime.OutOfMemory") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << log;
  const size_t report = log.rfind("Memory Size: 128 MB\tMax Memory Used: ");
  ASSERT_NE(report, std::string::npos) << log;
  const int peak =
      std::stoi(log.substr(report + std::string("Memory Size: 128 MB\tMax Memory Used: ").size()));
  EXPECT_GE(peak, 120) << log;
  EXPECT_LE(peak, 129) << log;

  ExpectHogAllocates16MiB(*daemon_);
}

TEST_F(MemoryCgroupTest, AStoppedDaemonLeavesNoCgroupBehind) {
  auto daemon = Daemon::Start(*dir_ / "data2", {"--memory-limit", "auto"});
  ASSERT_EQ(daemon->Deploy(*dir_ / "service").exit_code, 0);
  const fs::path mine = *own_ / ("cutover." + std::to_string(daemon->pid()));
  const fs::path cgroup = InstanceCgroup(*daemon);
  EXPECT_EQ(cgroup.parent_path(), mine);
  ASSERT_TRUE(fs::exists(cgroup));
  EXPECT_TRUE(daemon->Stop());
  EXPECT_FALSE(fs::exists(mine)) << mine.string();
}

// The identity of every runtime family's process under --run-as: bash custom runtime, Node,
// Python, and a php-fpm master with its workers.
constexpr char kWhoamiService[] = R"(service: whoami
provider:
  name: aws
  stage: test
functions:
  python:
    runtime: python3.11
    handler: handler.whoami
    events:
      - http: GET /python
  node:
    runtime: nodejs20.x
    handler: node.whoami
    events:
      - http: GET /node
  bash:
    runtime: provided.al2
    handler: function.whoami
    events:
      - http: GET /bash
  php:
    runtime: php-82-fpm
    handler: index.php
    events:
      - http: GET /php
)";

constexpr char kWhoamiPython[] = R"(import os


def whoami(event, context):
    return {"statusCode": 200, "body": "%d:%d" % (os.getuid(), os.getgid())}
)";

constexpr char kWhoamiNode[] = R"(export const whoami = async () => ({
  statusCode: 200,
  body: `${process.getuid()}:${process.getgid()}`,
});
)";

// For examples/provided's bash bootstrap, copied next to it.
constexpr char kWhoamiBash[] = R"(whoami() {
  echo "{\"statusCode\":200,\"body\":\"$(id -u):$(id -g)\"}"
}
)";

constexpr char kWhoamiPhp[] = R"(<?php
echo posix_getuid() . ':' . posix_getgid();
)";

class RunAsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "--run-as needs the daemon to run as root";
    passwd* pw = ::getpwnam("nobody");
    if (pw == nullptr) GTEST_SKIP() << "this machine has no user 'nobody'";
    expected_ = std::to_string(pw->pw_uid) + ":" + std::to_string(pw->pw_gid);
    dir_ = MakeTempDir("cutover-runas");
    // MakeTempDir's directory may be private: nobody must reach the data directory below it.
    fs::permissions(dir_, fs::perms(0755));
  }
  void TearDown() override {
    daemon_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string expected_;
  fs::path dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(RunAsTest, EveryRuntimeRunsAsTheUser) {
  const fs::path service = dir_ / "service";
  WriteFile(service / "serverless.yml", kWhoamiService);
  WriteFile(service / "handler.py", kWhoamiPython);
  WriteFile(service / "node.mjs", kWhoamiNode);
  WriteFile(service / "function.sh", kWhoamiBash);
  fs::copy_file(SourceDir() / "examples/provided/bootstrap", service / "bootstrap");
  WriteFile(service / "index.php", kWhoamiPhp);
  // Node's runtime client is read from the source tree (third_party/node): a checkout under a
  // private directory (mktemp -d makes them 0700) is out of nobody's reach, whatever cutover does.
  for (fs::path p = SourceDir(); p.has_relative_path(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
      GTEST_SKIP() << p << " is not searchable by other users, so 'nobody' cannot load Node's "
                   << "runtime client from the source tree";
    }
  }
  daemon_ = Daemon::Start(dir_ / "data", {"--run-as", "nobody"});
  CommandResult r = daemon_->Deploy(service);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  for (const char* route : {"/python", "/node", "/bash", "/php"}) {
    HttpResult who = daemon_->Gateway("GET", route);
    EXPECT_EQ(who.status, 200) << route << ": " << who.body << who.error;
    EXPECT_EQ(who.body, expected_) << route;
  }
}

TEST_F(RunAsTest, UnknownUserIsRefusedAtStart) {
  CommandResult r = RunCutover({"serve", "--port", "0", "--admin-port", "0", "--data",
                                (dir_ / "data").string(), "--run-as", "no-such-user-cutover"},
                               std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("no-such-user-cutover"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "data")) << "refused before anything was created";
}

TEST_F(RunAsTest, UnreachableDataDirectoryIsRefusedAtStart) {
  fs::permissions(dir_, fs::perms(0700));
  CommandResult r = RunCutover({"serve", "--port", "0", "--admin-port", "0", "--data",
                                (dir_ / "data").string(), "--run-as", "nobody"},
                               std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot reach the data directory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cutover::testing
