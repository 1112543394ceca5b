// Who may use the admin API (issue 6, "Access"): off loopback a token is required, generated and
// printed when none is given; the CLI sends it as a bearer token, a browser gets it as a cookie
// from the dashboard URL; and no web page elsewhere can drive the API through a browser, token or
// not (cross-site requests, DNS rebinding).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "harness.h"

namespace cutover::testing {
namespace {

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

HttpResult AdminCall(const Daemon& d, const std::string& method, const std::string& target,
                     const std::map<std::string, std::string>& headers = {},
                     const std::string& body = "") {
  return HttpClient("127.0.0.1", d.admin_port()).Request(method, target, body, headers);
}

std::string CodeOf(const HttpResult& r) {
  std::smatch m;
  return std::regex_search(r.body, m, std::regex(R"re("code":"([A-Za-z]+)")re")) ? m[1].str() : "";
}

TEST(AccessTest, OffLoopbackATokenIsGeneratedPrintedAndRequired) {
  fs::path root = MakeTempDir("cutover-access");
  auto daemon = Daemon::Start(root / "data", {"--admin-host", "0.0.0.0"});
  ASSERT_TRUE(daemon);
  // The banner prints the dashboard URL with the token, once.
  std::string banner;
  ASSERT_TRUE(WaitFor(
      [&] { return (banner = ReadAll(root / "data" / "daemon.out")).find("token ") != std::string::npos; },
      std::chrono::seconds(10)))
      << banner;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(banner, m, std::regex(R"(dashboard http://\S+/\?token=([0-9a-f]{64}))")))
      << banner;
  const std::string token = m[1];

  // Without it, or with a wrong one: 401 with the JSON error shape, for the API and the dashboard.
  for (const std::string& target : {"/v1/status", "/assets/app.js", "/metrics"}) {
    HttpResult r = AdminCall(*daemon, "GET", target);
    EXPECT_EQ(r.status, 401) << target;
    EXPECT_EQ(CodeOf(r), "Unauthenticated") << target << ": " << r.body;
  }
  // A person opening the dashboard without it gets a page saying what to do.
  HttpResult page401 = AdminCall(*daemon, "GET", "/");
  EXPECT_EQ(page401.status, 401);
  EXPECT_NE(page401.headers["content-type"].find("text/html"), std::string::npos);
  EXPECT_NE(page401.body.find("?token="), std::string::npos) << page401.body;
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/status", {{"Authorization", "Bearer " + token + "0"}}).status,
            401);
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/status", {{"Authorization", "Bearer " + token}}).status, 200);
  // A function's session token opens only the AWS-compatible endpoints, and only the right one.
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/status", {{"X-Amz-Security-Token", token}}).status, 401);
  EXPECT_EQ(AdminCall(*daemon, "POST", "/2015-03-31/functions/nope/invocations",
                      {{"X-Amz-Security-Token", "guess"}}, "{}")
                .status,
            401);

  // The dashboard URL trades the token for an HttpOnly, SameSite cookie and leaves the address bar.
  HttpResult wrong = AdminCall(*daemon, "GET", "/?token=" + std::string(64, '0'));
  EXPECT_EQ(wrong.status, 401);
  HttpResult login = AdminCall(*daemon, "GET", "/?token=" + token);
  ASSERT_EQ(login.status, 303) << login.body;
  EXPECT_EQ(login.headers["location"], "/");
  const std::string cookie = login.headers["set-cookie"];
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  const std::string pair = cookie.substr(0, cookie.find(';'));
  EXPECT_EQ(pair, "cutover_token=" + token);
  HttpResult page = AdminCall(*daemon, "GET", "/", {{"Cookie", "theme=dark; " + pair}});
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers["content-type"].find("text/html"), std::string::npos);
  EXPECT_NE(page.headers["content-security-policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/deployments", {{"Cookie", pair}}).status, 200);
  // No CORS: nothing ever invites another origin to read an answer.
  EXPECT_EQ(page.headers.count("access-control-allow-origin"), 0u);

  // The CLI reads the token from CUTOVER_TOKEN.
  CommandResult without = RunCutover({"status", "--admin", daemon->admin_url()});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.err.find("CUTOVER_TOKEN"), std::string::npos) << without.err;
  CommandResult with = RunCutover({"status", "--admin", daemon->admin_url()},
                                  std::chrono::seconds(60), {"CUTOVER_TOKEN=" + token});
  EXPECT_EQ(with.exit_code, 0) << with.err;
  fs::remove_all(root);
}

TEST(AccessTest, TokenFileIsUsedAndBadOnesAreRefusedAtStart) {
  fs::path root = MakeTempDir("cutover-access");
  std::ofstream(root / "short") << "abc\n";
  CommandResult r = RunCutover({"serve", "--port", "0", "--admin-port", "0", "--admin-token-file",
                                (root / "short").string(), "--data", (root / "d1").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("at least 16"), std::string::npos) << r.err;
  r = RunCutover({"serve", "--port", "0", "--admin-port", "0", "--admin-token-file",
                  (root / "missing").string(), "--data", (root / "d2").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;

  const std::string token = "file-token-0123456789abcdef";
  std::ofstream(root / "token") << token << "\n";
  auto daemon = Daemon::Start(root / "data", {"--admin-token-file", (root / "token").string()});
  ASSERT_TRUE(daemon);
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/health").status, 401);
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/health", {{"Authorization", "Bearer " + token}}).status,
            200);
  // The file's token is not printed.
  EXPECT_EQ(ReadAll(root / "data" / "daemon.out").find(token), std::string::npos);
  fs::remove_all(root);
}

TEST(AccessTest, BrowsersElsewhereCannotDriveTheApi) {
  fs::path root = MakeTempDir("cutover-access");
  auto daemon = Daemon::Start(root / "data");
  ASSERT_TRUE(daemon);
  const std::string self = "127.0.0.1:" + std::to_string(daemon->admin_port());
  const std::string stop = "/v1/deployments/d-AAAAAAAAA/stop";
  // CSRF: a form or fetch from another site, told apart by Sec-Fetch-Site or Origin.
  HttpResult r = AdminCall(*daemon, "POST", stop, {{"Sec-Fetch-Site", "cross-site"}}, "{}");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(CodeOf(r), "PermissionDenied") << r.body;
  EXPECT_EQ(AdminCall(*daemon, "POST", stop, {{"Origin", "http://evil.example"}}, "{}").status, 403);
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/events", {{"Sec-Fetch-Site", "same-site"}}).status, 403);
  // DNS rebinding: a name of the attacker's that resolves to 127.0.0.1.
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/status", {{"Host", "evil.example:80"}}).status, 403);
  // The dashboard's own requests, the CLI's, and a link followed to the dashboard pass.
  EXPECT_EQ(AdminCall(*daemon, "POST", stop,
                      {{"Sec-Fetch-Site", "same-origin"}, {"Origin", "http://" + self}}, "{}")
                .status,
            404);  // no such deployment: past the guard
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/status", {{"Host", "localhost:1234"}}).status, 200);
  EXPECT_EQ(AdminCall(*daemon, "GET", "/v1/status", {{"Host", "[::1]:1234"}}).status, 200);
  EXPECT_EQ(AdminCall(*daemon, "GET", "/",
                      {{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Mode", "navigate"}})
                .status,
            200);
  // /v1/health says how fast the daemon's clock runs and where it is now.
  HttpResult health = AdminCall(*daemon, "GET", "/v1/health");
  EXPECT_NE(health.body.find("\"time_scale\":1"), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("\"now_ms\":"), std::string::npos) << health.body;
  fs::remove_all(root);
}

}  // namespace
}  // namespace cutover::testing
