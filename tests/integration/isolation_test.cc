// What a function process may not take from the machine (docs/ARCHITECTURE.md, "Limits of function
// processes"): memory past its memorySize (RLIMIT_DATA), the daemon's descriptors, and, with
// `serve --run-as USER`, the daemon's identity. Each service is written into a temporary directory.
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
// telling apart the one connection the bootstrap itself keeps to the Runtime API.
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

class LimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(MakeTempDir("cutover-limits"));
    WriteFile(*dir_ / "service/serverless.yml", kLimitsService);
    WriteFile(*dir_ / "service/handler.py", kLimitsHandler);
    daemon_ = Daemon::Start(*dir_ / "data").release();
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

TEST_F(LimitsTest, FunctionPastItsMemoryFailsCountsAsErrorAndThePoolRecovers) {
  const std::string fn = "limits-test-hog";
  // Within the limit: the function works (and the pool has a warm instance to lose).
  HttpResult small = daemon_->Gateway("GET", "/hog?mb=16");
  ASSERT_EQ(small.status, 200) << small.body << small.error;
  EXPECT_EQ(small.body, "allocated 16 MiB");

  HttpResult big = daemon_->Gateway("GET", "/hog");
  EXPECT_EQ(big.status, 502) << big.body << big.error;
  // It counts in AWS/Lambda Errors (written by the control tick from the gateway's samples).
  double errors = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        errors = ErrorsSum(*daemon_, fn);
        return errors >= 1;
      },
      std::chrono::seconds(10)))
      << "Errors = " << errors;
  EXPECT_EQ(errors, 1);

  // The Invoke API reports it as the function's error.
  HttpResult invoked = daemon_->Admin("POST", "/2015-03-31/functions/" + fn + "/invocations",
                                      R"({"queryStringParameters":{"mb":"400"}})");
  EXPECT_EQ(invoked.status, 200) << invoked.body;
  EXPECT_EQ(invoked.headers["x-amz-function-error"], "Unhandled") << invoked.body;
  EXPECT_NE(invoked.body.find("MemoryError"), std::string::npos) << invoked.body;

  HttpResult after = daemon_->Gateway("GET", "/hog?mb=16");
  EXPECT_EQ(after.status, 200) << after.body << after.error;
  EXPECT_EQ(after.body, "allocated 16 MiB");
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
