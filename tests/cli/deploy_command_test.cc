// `cutover deploy`: local checks (exit 2 before any daemon is contacted), then upload and publish
// against a fake admin API. Uses the real config loader and packager.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include "cli_runner.h"
#include "deployment_fixtures.h"
#include "fake_admin_server.h"

namespace cutover::cli {
namespace {

namespace fs = std::filesystem;
using testing::CliRun;
using testing::CliRunOptions;
using testing::FakeAdminServer;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::Json;
using testing::RunCutover;

constexpr const char* kServerlessYml = R"(service: demo
plugins:
  - serverless-plugin-canary-deployments
provider:
  name: aws
  runtime: provided.al2
functions:
  website:
    handler: bootstrap
    events:
      - http: 'ANY /'
      - http: 'ANY /{proxy+}'
    deploymentSettings:
      type: Linear10PercentEvery1Minute
      alias: Live
  worker:
    handler: bootstrap
)";

// A fresh service directory under the system temp dir, removed at the end of the test.
class ServiceDir {
 public:
  ServiceDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("cutover-cli-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ServiceDir(const ServiceDir&) = delete;
  ServiceDir& operator=(const ServiceDir&) = delete;
  ~ServiceDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  void Write(const std::string& name, const std::string& text, bool executable = false) {
    std::ofstream(path_ / name, std::ios::binary) << text;
    if (executable) {
      fs::permissions(path_ / name, fs::perms::owner_all | fs::perms::group_read |
                                        fs::perms::group_exec | fs::perms::others_read |
                                        fs::perms::others_exec);
    }
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

void WriteValidService(ServiceDir& dir) {
  dir.Write("serverless.yml", kServerlessYml);
  dir.Write("bootstrap", "#!/bin/sh\necho hi\n", /*executable=*/true);
}

std::string Unreachable() { return "http://127.0.0.1:" + std::to_string(testing::FreePort()); }

// --- local checks --------------------------------------------------------------------------------

TEST(DeployCommandTest, ConfigErrorExitsTwoWithFileLineAndColumn) {
  ServiceDir dir;
  dir.Write("serverless.yml",
            "service: demo\nprovider:\n  name: aws\nfunctions:\n  website:\n"
            "    handler: [unclosed\n");
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", Unreachable()});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_EQ(run.out, "");
  // Exactly the loader's message: "<dir>/serverless.yml:LINE:COL: ...", no "cutover: " prefix.
  EXPECT_TRUE(std::regex_search(run.err, std::regex("^.*serverless\\.yml:[0-9]+:[0-9]+: ")))
      << run.err;
  EXPECT_EQ(run.err.find("cutover: "), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("cannot reach"), std::string::npos) << "config is checked first";
}

TEST(DeployCommandTest, ConfigErrorNamesTheFileRelativeToTheWorkingDirectory) {
  ServiceDir dir;
  dir.Write("serverless.yml", "service: demo\nfunctions: [\n");
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.str());
  CliRun run = RunCutover({"deploy", "--admin", Unreachable()});
  fs::current_path(cwd);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(std::regex_search(run.err, std::regex("^serverless\\.yml:[0-9]+:[0-9]+: ")))
      << run.err;
}

TEST(DeployCommandTest, LoaderNoticesGoToStderr) {
  ServiceDir dir;
  WriteValidService(dir);
  // Without the canary plugin listed, the loader notes that deploymentSettings apply anyway.
  std::string yml = kServerlessYml;
  yml.replace(yml.find("plugins:"),
              std::string("plugins:\n  - serverless-plugin-canary-deployments\n").size(), "");
  dir.Write("serverless.yml", yml);
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", Unreachable()});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.err.rfind("notice: ", 0), 0u) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST(DeployCommandTest, MissingServerlessYmlExitsTwo) {
  ServiceDir dir;
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", Unreachable()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("no serverless.yml"), std::string::npos) << run.err;
}

TEST(DeployCommandTest, UnknownFunctionExitsTwoAndListsTheFunctions) {
  ServiceDir dir;
  WriteValidService(dir);
  CliRun run =
      RunCutover({"deploy", "--dir", dir.str(), "--function", "nope", "--admin", Unreachable()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("website, worker"), std::string::npos) << run.err;
}

TEST(DeployCommandTest, MalformedOptIsAUsageError) {
  ServiceDir dir;
  WriteValidService(dir);
  EXPECT_EQ(RunCutover({"deploy", "--dir", dir.str(), "--opt", "novalue"}).exit_code, 2);
}

TEST(DeployCommandTest, UnreachableDaemonExitsThreeAndNamesTheServiceDir) {
  ServiceDir dir;
  WriteValidService(dir);
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", Unreachable()});
  EXPECT_EQ(run.exit_code, 3) << run.err;
  EXPECT_NE(run.err.find("Start it with: cutover serve --dir " + dir.str()), std::string::npos)
      << run.err;
}

// --- against the fake daemon ---------------------------------------------------------------------

// A daemon that has no packages until one is PUT, and publishes version 1 of each function.
class FakeDaemon {
 public:
  explicit FakeDaemon(int publish_status = 200, std::string publish_error = "")
      : server_([this, publish_status, publish_error](const FakeRequest& r) {
          return Handle(r, publish_status, publish_error);
        }) {}

  std::string Url() const { return server_.Url(); }
  std::vector<FakeRequest> requests() const { return server_.requests(); }
  void set_has_package(bool has) { has_package_ = has; }

 private:
  FakeResponse Handle(const FakeRequest& r, int publish_status, const std::string& publish_error) {
    if (r.path == "/v1/health") {
      return Json(200,
                  R"({"status": "ok", "version": "0.1.0", "gateway": "http://127.0.0.1:3000"})");
    }
    if (r.path.rfind("/v1/artifacts/", 0) == 0) {
      if (r.method == "HEAD") {
        FakeResponse response;
        response.status = has_package_ ? 200 : 404;
        return response;
      }
      has_package_ = true;
      return Json(201, "{}");
    }
    if (r.path == "/v1/services" && r.method == "POST") {
      if (publish_status != 200) return Json(publish_status, publish_error);
      return Json(200, R"({"service": "demo", "stage": "dev", "functions": [
          {"key": "website", "function_name": "demo-dev-website", "version": 2, "created": true,
           "alias": {"name": "Live", "primary_version": 2, "additional_version": 0,
                     "additional_weight": 0}},
          {"key": "worker", "function_name": "demo-dev-worker", "version": 1, "created": false}],
        "routes": [
          {"method": "ANY", "path": "/", "function": "demo-dev-website",
           "url": "http://127.0.0.1:3000/"},
          {"method": "ANY", "path": "/{proxy+}", "function": "demo-dev-website"}],
        "notices": ["worker has no events"]})");
    }
    return Json(404, R"({"code": "NotFound", "message": "no endpoint"})");
  }

  bool has_package_ = false;  // touched only on the server's thread
  FakeAdminServer server_;
};

TEST(DeployCommandTest, UploadsAMissingPackageThenPublishes) {
  ServiceDir dir;
  WriteValidService(dir);
  FakeDaemon daemon;
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("website: new version 2, alias Live → 2"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("worker: unchanged at version 1"), std::string::npos) << run.out;
  // Routes are labelled with their function because the service has two.
  EXPECT_TRUE(
      std::regex_search(run.out, std::regex("\n  ANY http://127\\.0\\.0\\.1:3000/ +website\n")))
      << run.out;
  EXPECT_TRUE(std::regex_search(
      run.out, std::regex("\n  ANY http://127\\.0\\.0\\.1:3000/\\{proxy\\+\\} +website\n")))
      << run.out;
  EXPECT_NE(run.out.find("Packaged 1 file ("), std::string::npos) << run.out;  // bootstrap
  EXPECT_NE(run.out.find("(uploaded)"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("notice: worker has no events"), std::string::npos) << run.err;

  std::vector<FakeRequest> requests = daemon.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].path, "/v1/health");
  EXPECT_EQ(requests[1].method, "HEAD");
  EXPECT_EQ(requests[2].method, "PUT");
  EXPECT_EQ(requests[2].headers["content-type"], "application/gzip");
  const std::string sha = requests[1].path.substr(std::string("/v1/artifacts/").size());
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_EQ(requests[2].path, requests[1].path);
  EXPECT_EQ(requests[3].method, "POST");
  boost::json::value body = boost::json::parse(requests[3].body);
  EXPECT_EQ(body.at("code_sha256").as_string(), sha);
  EXPECT_TRUE(body.at("spec").is_object());
}

TEST(DeployCommandTest, SkipsTheUploadWhenTheDaemonHasThePackage) {
  ServiceDir dir;
  WriteValidService(dir);
  FakeDaemon daemon;
  daemon.set_has_package(true);
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("(already on the daemon)"), std::string::npos) << run.out;
  for (const FakeRequest& r : daemon.requests()) EXPECT_NE(r.method, "PUT");
}

TEST(DeployCommandTest, SamePackageBytesGiveTheSameSha) {
  ServiceDir dir;
  WriteValidService(dir);
  FakeDaemon daemon;
  ASSERT_EQ(RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()}).exit_code, 0);
  ASSERT_EQ(RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()}).exit_code, 0);
  std::vector<FakeRequest> requests = daemon.requests();
  ASSERT_EQ(requests.size(), 7u);  // health, HEAD, PUT, POST; health, HEAD (200), POST
  EXPECT_EQ(requests[5].method, "HEAD");
  EXPECT_EQ(requests[5].path, requests[1].path);
}

TEST(DeployCommandTest, JsonPrintsOneDocumentWithThePackage) {
  ServiceDir dir;
  WriteValidService(dir);
  FakeDaemon daemon;
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url(), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(run.out, ec);
  ASSERT_FALSE(ec) << run.out;
  EXPECT_EQ(doc.at("service"), "demo");
  EXPECT_EQ(doc.at("uploaded"), true);
  EXPECT_EQ(doc.at("code_sha256").as_string().size(), 64u);
  EXPECT_EQ(doc.at("gateway"), "http://127.0.0.1:3000");
  EXPECT_EQ(doc.at("functions").as_array().size(), 2u);
}

TEST(DeployCommandTest, FunctionFlagReportsOnlyThatFunction) {
  ServiceDir dir;
  WriteValidService(dir);
  FakeDaemon daemon;
  CliRun run = RunCutover(
      {"deploy", "--dir", dir.str(), "--admin", daemon.Url(), "--function", "worker", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  boost::json::value doc = boost::json::parse(run.out);
  ASSERT_EQ(doc.at("functions").as_array().size(), 1u);
  EXPECT_EQ(doc.at("functions").at(0).at("key"), "worker");
  EXPECT_TRUE(doc.at("routes").as_array().empty());
}

TEST(DeployCommandTest, StageAndOptionsReachTheSpec) {
  ServiceDir dir;
  WriteValidService(dir);
  FakeDaemon daemon;
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url(), "--stage", "prod",
                           "--opt", "flag=1", "--no-wait"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  boost::json::value body = boost::json::parse(daemon.requests().back().body);
  EXPECT_EQ(body.at("spec").at("stage"), "prod");
}

TEST(DeployCommandTest, DaemonConflictExitsOne) {
  ServiceDir dir;
  WriteValidService(dir);
  FakeDaemon daemon(409,
                    R"({"code": "AlreadyExists", "message": "ANY / is served by other-dev-x"})");
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "cutover: ANY / is served by other-dev-x (AlreadyExists)\n");
  EXPECT_EQ(run.out, "");
}

TEST(DeployCommandTest, DaemonRejectingTheSpecExitsTwo) {
  ServiceDir dir;
  WriteValidService(dir);
  FakeDaemon daemon(400,
                    R"({"code": "InvalidArgument", "message": "bootstrap is not executable"})");
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()});
  EXPECT_EQ(run.exit_code, 2);
}

// --- deploy --wait -------------------------------------------------------------------------------

// A daemon whose publish starts deployment d-1 of website, which then runs to `outcome` on the
// event stream.
class DeployingDaemon {
 public:
  explicit DeployingDaemon(testing::Outcome outcome)
      : outcome_(outcome), server_([this](const FakeRequest& r) { return Handle(r); }) {}

  std::string Url() const { return server_.Url(); }
  std::vector<FakeRequest> requests() const { return server_.requests(); }

 private:
  FakeResponse Handle(const FakeRequest& r) {
    if (r.path == "/v1/health") {
      return Json(200, R"({"status": "ok", "gateway": "http://127.0.0.1:3000"})");
    }
    if (r.method == "HEAD") return Json(200, "");
    if (r.path == "/v1/services") {
      return Json(200, R"({"service": "demo", "stage": "dev", "functions": [
          {"key": "website", "function_name": "demo-dev-website", "version": 3, "created": true,
           "alias": {"name": "Live", "primary_version": 2, "additional_version": 0,
                     "additional_weight": 0},
           "deployment_id": "d-1"},
          {"key": "worker", "function_name": "demo-dev-worker", "version": 1, "created": false,
           "deployment_id": ""}],
        "routes": [], "notices": []})");
    }
    if (r.path == "/v1/events") return testing::Stream(testing::Sse({1, 2, 3, 4, 5}, outcome_));
    if (r.path == "/v1/deployments/d-1") {
      // The first read sees the deployment just started, the next one its end.
      return Json(200, testing::Snapshot(reads_++ == 0 ? 1 : 5, outcome_));
    }
    return Json(404, R"({"code": "NotFound", "message": "no endpoint"})");
  }

  testing::Outcome outcome_;
  int reads_ = 0;  // touched only on the server's thread
  FakeAdminServer server_;
};

TEST(DeployWaitTest, FollowsTheDeploymentLineByLineAndExitsOneOnRollback) {
  ServiceDir dir;
  WriteValidService(dir);
  DeployingDaemon daemon(testing::Outcome::kRolledBack);
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url(), "--wait"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.out.find("website: new version 3, alias Live → 2, deployment d-1\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("\nd-1 22:13:25 RolledBack "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\nd-1 Stopped (ALARM_ACTIVE): alarm A fired\n"
                         "  alarm A ALARM [5] > 1\n"
                         "  in ALARM since 22:13:23.800\n"
                         "  rolled back at 22:13:25.000: Live → 2 (the target had 10%)\n"
                         "  alarm to alias flip: 1.2 s\n"),
            std::string::npos)
      << run.out;
  // Only the function whose publish started a deployment is followed.
  for (const FakeRequest& r : daemon.requests()) {
    if (r.path == "/v1/events") EXPECT_EQ(r.query.at("deployment"), "d-1");
  }
}

TEST(DeployWaitTest, ExitsZeroWhenTheDeploymentSucceeds) {
  ServiceDir dir;
  WriteValidService(dir);
  DeployingDaemon daemon(testing::Outcome::kSucceeded);
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url(), "--wait"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("\nd-1 Succeeded in 5.0 s: Live → 3\n"), std::string::npos) << run.out;
}

TEST(DeployWaitTest, JsonIsOneDocumentAtTheEnd) {
  ServiceDir dir;
  WriteValidService(dir);
  DeployingDaemon daemon(testing::Outcome::kRolledBack);
  CliRun run =
      RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url(), "--wait", "--json"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(run.out, ec);
  ASSERT_FALSE(ec) << run.out;
  ASSERT_EQ(doc.at("deployments").as_array().size(), 1u);
  EXPECT_EQ(doc.at("deployments").at(0).at("status"), "Stopped");
  EXPECT_EQ(doc.at("functions").at(0).at("deployment_id"), "d-1");
  EXPECT_EQ(doc.at("code_sha256").as_string().size(), 64u);
}

TEST(DeployWaitTest, OnATerminalWaitingIsTheDefaultAndTheViewIsRedrawn) {
  ServiceDir dir;
  WriteValidService(dir);
  DeployingDaemon daemon(testing::Outcome::kRolledBack);
  CliRunOptions options;
  options.terminal = true;
  options.env["NO_COLOR"] = "1";
  options.env["COLUMNS"] = "200";  // not the width of the terminal running the test
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()}, options);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  // The block is drawn, then moved up over and redrawn; the last one shows the outcome.
  EXPECT_NE(run.out.find("\x1b["), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("d-1  demo-dev-website:Live  2 → 3  Linear10PercentEvery1Minute  "
                         "InProgress\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.rfind("  Stopped (ALARM_ACTIVE): alarm A fired\n"), std::string::npos)
      << run.out;
}

TEST(DeployWaitTest, TheRedrawnLinesFitTheTerminal) {
  ServiceDir dir;
  WriteValidService(dir);
  DeployingDaemon daemon(testing::Outcome::kRolledBack);
  CliRunOptions options;
  options.terminal = true;
  options.env["COLUMNS"] = "60";
  CliRun run = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()}, options);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  // Cut at 60 columns, the colour sequences not counted, and the colour reset after the cut.
  EXPECT_NE(run.out.find("d-1\x1b[0m  demo-dev-website:Live  2 → 3  Linear10PercentEvery1Minu"
                         "\x1b[0m\n"),
            std::string::npos)
      << run.out;
}

TEST(DeployWaitTest, NoWaitPointsAtTheDeployment) {
  ServiceDir dir;
  WriteValidService(dir);
  DeployingDaemon daemon(testing::Outcome::kRolledBack);
  CliRunOptions options;
  options.terminal = true;
  CliRun run =
      RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url(), "--no-wait"}, options);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("Follow with: cutover deployments d-1\n"), std::string::npos) << run.out;
  for (const FakeRequest& r : daemon.requests()) EXPECT_NE(r.path, "/v1/events");
  // Without a terminal, not waiting is the default.
  CliRun piped = RunCutover({"deploy", "--dir", dir.str(), "--admin", daemon.Url()});
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
}

}  // namespace
}  // namespace cutover::cli
