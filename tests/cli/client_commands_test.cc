// The client commands against a fake admin API: status, invoke, logs, and the exit codes for an
// unreachable or failing daemon.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "cli_runner.h"
#include "fake_admin_server.h"

namespace cutover::cli {
namespace {

using testing::CliRun;
using testing::CliRunOptions;
using testing::FakeAdminServer;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::Json;
using testing::RunCutover;

// The shape the daemon's GET /v1/status sends (docs/API.md, src/api/admin_server.cc).
constexpr const char* kStatus = R"({
  "gateway": "http://127.0.0.1:3000",
  "memory_limit": "cgroup v1 memory.limit_in_bytes per instance, under /sys/fs/cgroup/memory/cutover.42",
  "services": [{"service": "demo", "stage": "dev", "functions": ["demo-dev-website"]}],
  "functions": [{
    "function_name": "demo-dev-website", "key": "website", "service": "demo", "stage": "dev",
    "runtime": "provided.al2",
    "versions": [
      {"version": 1, "pool": {"instances": 0, "busy": 0, "queued": 0}},
      {"version": 2, "pool": {"instances": 2, "busy": 1, "queued": 0}},
      {"version": 3, "pool": {"instances": 1, "busy": 0, "queued": 0}}],
    "latest_version": 3,
    "alias": {"name": "Live", "primary_version": 2, "additional_version": 3,
              "additional_weight": 0.3},
    "routes": [{"method": "ANY", "path": "/{proxy+}", "kind": "http",
                "function": "demo-dev-website", "url": "http://127.0.0.1:3000/{proxy+}"}]
  }]
})";

constexpr const char* kFunctions = R"({"functions": [
  {"function_name": "demo-dev-website", "key": "website", "latest_version": 3,
   "versions": [{"version": 1}, {"version": 2}, {"version": 3}]},
  {"function_name": "other-dev-worker", "key": "worker", "versions": [{"version": 1}]},
  {"function_name": "third-dev-worker", "key": "worker", "versions": [{"version": 1}]}]})";

FakeResponse NotFoundJson(const std::string& message) {
  return Json(404, R"({"code": "NotFound", "message": ")" + message + R"("})");
}

FakeResponse LambdaNotFound(const std::string& name) {
  FakeResponse r =
      Json(404, R"({"Type": "User", "message": "Function not found: )" + name + R"("})");
  r.headers.emplace_back("x-amzn-ErrorType", "ResourceNotFoundException");
  return r;
}

CliRunOptions WithAdmin(const FakeAdminServer& server) {
  CliRunOptions options;
  options.env["CUTOVER_ADMIN"] = server.Url();
  return options;
}

// --- unreachable daemon ------------------------------------------------------------------------

TEST(ClientCommandsTest, StatusExitsThreeWithStartHintWhenNothingListens) {
  const uint16_t port = testing::FreePort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  CliRun run = RunCutover({"status", "--admin", url});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "cutover: cannot reach the daemon at " + url +
                         " (connection refused).\nStart it with: cutover serve --dir <service dir> "
                         "--admin-port " +
                         std::to_string(port) + "\n");
}

TEST(ClientCommandsTest, UnreachableDaemonIsExitThreeForEveryClientCommand) {
  CliRunOptions options;
  options.env["CUTOVER_ADMIN"] = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status", "--json"},
                                               {"invoke", "f"},
                                               {"logs", "f"},
                                               {"logs", "f", "--follow"}}) {
    CliRun run = RunCutover(args, options);
    EXPECT_EQ(run.exit_code, 3) << args[0] << ": " << run.err;
    EXPECT_NE(run.err.find("Start it with: cutover serve --dir"), std::string::npos) << run.err;
    EXPECT_EQ(run.out, "") << args[0];
  }
}

TEST(ClientCommandsTest, AdminUrlWithoutSchemeMeansHttp) {
  CliRun run =
      RunCutover({"status", "--admin", "127.0.0.1:" + std::to_string(testing::FreePort())});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.err.find("cannot reach the daemon at http://127.0.0.1:"), std::string::npos);
}

// --- status ------------------------------------------------------------------------------------

TEST(ClientCommandsTest, StatusJsonPrintsExactlyOneDocument) {
  FakeAdminServer server([](const FakeRequest& r) {
    return r.path == "/v1/status" ? Json(200, kStatus) : NotFoundJson("no");
  });
  CliRun run = RunCutover({"status", "--json"}, WithAdmin(server));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  boost::system::error_code ec;
  boost::json::value printed = boost::json::parse(run.out, ec);  // fails on trailing content
  ASSERT_FALSE(ec) << run.out;
  EXPECT_EQ(printed, boost::json::parse(kStatus));
  EXPECT_EQ(run.out.back(), '\n');
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 1);
}

TEST(ClientCommandsTest, StatusShowsAliasWeightsRoutesAndInstances) {
  FakeAdminServer server([](const FakeRequest&) { return Json(200, kStatus); });
  CliRun run = RunCutover({"status"}, WithAdmin(server));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("Live → 2 (70%) + 3 (30%)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("demo-dev-website"), std::string::npos);
  EXPECT_NE(run.out.find("provided.al2"), std::string::npos);
  EXPECT_NE(run.out.find("1, 2, 3"), std::string::npos);
  EXPECT_NE(run.out.find("http://127.0.0.1:3000/{proxy+}"), std::string::npos);
  EXPECT_NE(run.out.find("Function memory: cgroup v1 memory.limit_in_bytes per instance, under "
                         "/sys/fs/cgroup/memory/cutover.42\n"),
            std::string::npos)
      << run.out;
  EXPECT_EQ(run.out.find("\x1b["), std::string::npos) << "no colour when not a terminal";
  // Version 1 has no instances and is left out of the Instances table.
  const std::string instances = run.out.substr(run.out.find("Instances"));
  EXPECT_NE(instances.find("demo-dev-website  2"), std::string::npos) << instances;
  EXPECT_EQ(instances.find("demo-dev-website  1"), std::string::npos) << instances;
}

TEST(ClientCommandsTest, StatusUsesColourOnlyOnATerminalWithoutNoColor) {
  FakeAdminServer server([](const FakeRequest&) { return Json(200, kStatus); });
  CliRunOptions options = WithAdmin(server);
  options.terminal = true;
  EXPECT_NE(RunCutover({"status"}, options).out.find("\x1b["), std::string::npos);
  options.env["NO_COLOR"] = "1";
  EXPECT_EQ(RunCutover({"status"}, options).out.find("\x1b["), std::string::npos);
  options.terminal = true;
  options.env.erase("NO_COLOR");
  EXPECT_EQ(RunCutover({"status", "--json"}, options).out.find("\x1b["), std::string::npos);
}

TEST(ClientCommandsTest, StatusWithNothingDeployedSaysHowToDeploy) {
  FakeAdminServer server([](const FakeRequest&) {
    return Json(200, R"({"gateway": "http://127.0.0.1:3000", "services": [], "functions": []})");
  });
  CliRun run = RunCutover({"status"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("cutover deploy"), std::string::npos) << run.out;
}

TEST(ClientCommandsTest, SendsBearerTokenOnlyWhenSet) {
  FakeAdminServer server([](const FakeRequest&) { return Json(200, kStatus); });
  CliRunOptions options = WithAdmin(server);
  RunCutover({"status", "--json"}, options);
  options.env["CUTOVER_TOKEN"] = "s3cret";
  RunCutover({"status", "--json"}, options);
  std::vector<FakeRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers.count("authorization"), 0u);
  EXPECT_EQ(requests[1].headers["authorization"], "Bearer s3cret");
}

TEST(ClientCommandsTest, AdminFlagWinsOverEnvironment) {
  FakeAdminServer server([](const FakeRequest&) { return Json(200, kStatus); });
  CliRunOptions options;
  options.env["CUTOVER_ADMIN"] = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  CliRun run = RunCutover({"status", "--admin", server.Url()}, options);
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(ClientCommandsTest, DaemonErrorsExitOneEvenWhenTheDaemonSays503) {
  FakeAdminServer server([](const FakeRequest& r) {
    if (r.headers.count("authorization") > 0) {
      return Json(503, R"({"code": "Unavailable", "message": "store is busy"})");
    }
    return Json(500, R"({"code": "Internal", "message": "boom"})");
  });
  CliRunOptions options = WithAdmin(server);
  CliRun internal = RunCutover({"status"}, options);
  EXPECT_EQ(internal.exit_code, 1);
  EXPECT_EQ(internal.err, "cutover: boom (Internal)\n");
  options.env["CUTOVER_TOKEN"] = "t";
  CliRun unavailable = RunCutover({"status"}, options);
  EXPECT_EQ(unavailable.exit_code, 1) << "the daemon answered, so this is not exit 3";
  EXPECT_EQ(unavailable.err, "cutover: store is busy (Unavailable)\n");
}

// --- invoke ------------------------------------------------------------------------------------

FakeResponse InvokeOk(const std::string& body, const std::string& version) {
  FakeResponse r = Json(200, body);
  r.headers.emplace_back("X-Amz-Executed-Version", version);
  return r;
}

TEST(ClientCommandsTest, InvokePrintsPayloadAndExecutedVersion) {
  FakeAdminServer server([](const FakeRequest&) { return InvokeOk(R"({"ok":true})", "2"); });
  CliRun run =
      RunCutover({"invoke", "demo-dev-website", "--qualifier", "Live", "--data", R"({"x": 1})"},
                 WithAdmin(server));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "{\"ok\":true}\n");
  EXPECT_EQ(run.err, "Executed version: 2\n");
  std::vector<FakeRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/2015-03-31/functions/demo-dev-website/invocations");
  EXPECT_EQ(requests[0].query["Qualifier"], "Live");
  EXPECT_EQ(requests[0].body, R"({"x": 1})");
}

TEST(ClientCommandsTest, InvokeSendsAnEmptyObjectWithoutData) {
  FakeAdminServer server([](const FakeRequest&) { return InvokeOk("null", "1"); });
  EXPECT_EQ(RunCutover({"invoke", "f"}, WithAdmin(server)).exit_code, 0);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].body, "{}");
  EXPECT_EQ(server.requests()[0].query.count("Qualifier"), 0u);
}

TEST(ClientCommandsTest, InvokeReadsDataFromStdin) {
  FakeAdminServer server([](const FakeRequest&) { return InvokeOk("1", "1"); });
  CliRunOptions options = WithAdmin(server);
  options.stdin_text = R"({"from": "stdin"})";
  EXPECT_EQ(RunCutover({"invoke", "f", "--data-file", "-"}, options).exit_code, 0);
  EXPECT_EQ(server.requests().at(0).body, R"({"from": "stdin"})");
}

TEST(ClientCommandsTest, InvokeExitsOneOnFunctionError) {
  FakeAdminServer server([](const FakeRequest&) {
    FakeResponse r = InvokeOk(R"({"errorMessage":"boom","errorType":"Error"})", "3");
    r.headers.emplace_back("X-Amz-Function-Error", "Unhandled");
    return r;
  });
  CliRun run = RunCutover({"invoke", "f"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "{\"errorMessage\":\"boom\",\"errorType\":\"Error\"}\n");
  EXPECT_NE(run.err.find("Function error: Unhandled"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("Executed version: 3"), std::string::npos) << run.err;

  CliRun json = RunCutover({"invoke", "f", "--json"}, WithAdmin(server));
  EXPECT_EQ(json.exit_code, 1);
  boost::json::value doc = boost::json::parse(json.out);
  EXPECT_EQ(doc.at("function_error"), "Unhandled");
  EXPECT_EQ(doc.at("executed_version"), "3");
  EXPECT_EQ(doc.at("status_code"), 200);
  EXPECT_EQ(doc.at("payload").at("errorMessage"), "boom");
}

TEST(ClientCommandsTest, InvokeJsonKeepsANonJsonPayloadAsAString) {
  FakeAdminServer server([](const FakeRequest&) { return InvokeOk("plain text", "1"); });
  CliRun run = RunCutover({"invoke", "f", "--json"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 0);
  boost::json::value doc = boost::json::parse(run.out);
  EXPECT_EQ(doc.at("payload"), "plain text");
  EXPECT_TRUE(doc.at("function_error").is_null());
}

// The payload is the function's. On a terminal its controls are shown escaped, as in `cutover
// logs`; into a pipe it goes byte for byte; --json keeps a non-JSON payload as a string that
// still parses.
TEST(ClientCommandsTest, InvokeEscapesAPayloadsControlsOnlyOnATerminal) {
  const std::string payload = "ok\rforged\x1b]0;title\x07 \x9b";
  FakeAdminServer server([&payload](const FakeRequest&) { return InvokeOk(payload, "1"); });
  CliRunOptions terminal = WithAdmin(server);
  terminal.terminal = true;
  CliRun shown = RunCutover({"invoke", "f"}, terminal);
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, "ok\\x0dforged\\x1b]0;title\\x07 \\x9b\n");

  CliRun piped = RunCutover({"invoke", "f"}, WithAdmin(server));
  EXPECT_EQ(piped.out, payload + "\n");

  CliRun json = RunCutover({"invoke", "f", "--json"}, WithAdmin(server));
  boost::json::value doc = boost::json::parse(json.out);
  EXPECT_EQ(doc.at("payload").as_string(), "ok\rforged\x1b]0;title\x07 \xef\xbf\xbd");
}

TEST(ClientCommandsTest, InvokeResolvesAUniqueFunctionKey) {
  FakeAdminServer server([](const FakeRequest& r) {
    if (r.path == "/v1/functions") return Json(200, kFunctions);
    if (r.path == "/2015-03-31/functions/demo-dev-website/invocations") return InvokeOk("1", "3");
    return LambdaNotFound(r.path);
  });
  CliRun run = RunCutover({"invoke", "website"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "1\n");
  ASSERT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.requests()[1].path, "/v1/functions");
}

TEST(ClientCommandsTest, InvokeRefusesAnAmbiguousKey) {
  FakeAdminServer server([](const FakeRequest& r) {
    return r.path == "/v1/functions" ? Json(200, kFunctions) : LambdaNotFound(r.path);
  });
  CliRun run = RunCutover({"invoke", "worker"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("other-dev-worker, third-dev-worker"), std::string::npos) << run.err;
}

TEST(ClientCommandsTest, InvokeUnknownFunctionExitsOneWithTheDaemonsMessage) {
  FakeAdminServer server([](const FakeRequest& r) {
    return r.path == "/v1/functions" ? Json(200, kFunctions) : LambdaNotFound("nope");
  });
  CliRun run = RunCutover({"invoke", "nope"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "cutover: ResourceNotFoundException: Function not found: nope\n");
  EXPECT_EQ(run.out, "");
}

TEST(ClientCommandsTest, InvokeRejectsDataThatIsNotJsonBeforeCallingTheDaemon) {
  FakeAdminServer server([](const FakeRequest&) { return InvokeOk("1", "1"); });
  CliRun run = RunCutover({"invoke", "f", "--data", "{oops"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--data is not valid JSON"), std::string::npos) << run.err;
  EXPECT_TRUE(server.requests().empty());
}

// --- logs --------------------------------------------------------------------------------------

TEST(ClientCommandsTest, LogsPrintsTheTextAndPassesVersionAndTail) {
  FakeAdminServer server([](const FakeRequest&) {
    FakeResponse r;
    r.headers.emplace_back("Content-Type", "text/plain");
    r.headers.emplace_back("X-Log-Offset", "120");
    r.body = "START RequestId: a Version: 2\nhello\n";
    return r;
  });
  CliRun run = RunCutover({"logs", "demo-dev-website", "--version", "2", "--tail", "100"},
                          WithAdmin(server));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "START RequestId: a Version: 2\nhello\n");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].path, "/v1/functions/demo-dev-website/logs");
  EXPECT_EQ(server.requests()[0].query["version"], "2");
  EXPECT_EQ(server.requests()[0].query["tail"], "100");

  CliRun json = RunCutover({"logs", "demo-dev-website", "--json"}, WithAdmin(server));
  boost::json::value doc = boost::json::parse(json.out);
  EXPECT_EQ(doc.at("end_offset"), 120);
  EXPECT_EQ(doc.at("text"), "START RequestId: a Version: 2\nhello\n");
}

TEST(ClientCommandsTest, LogsFollowPollsFromTheLastOffsetOfTheNewestVersion) {
  const std::string log = "line one\nline two\nline three\n";
  FakeAdminServer server([&log](const FakeRequest& r) {
    if (r.path == "/v1/functions") return Json(200, kFunctions);
    if (r.path == "/v1/functions/demo-dev-website") {
      return Json(200, R"({"function_name": "demo-dev-website", "versions": [{"version": 1},
                           {"version": 3}, {"version": 2}]})");
    }
    if (r.path != "/v1/functions/demo-dev-website/logs") return NotFoundJson("no function");
    // The log grows by one line per poll: bytes [0, 9), then [9, 18), then [18, end).
    size_t from = r.query.count("offset") > 0 ? std::stoul(r.query.at("offset")) : 0;
    size_t to = std::min(log.size(), from + 9);
    if (from == 18) to = log.size();
    FakeResponse response;
    response.headers.emplace_back("X-Log-Offset", std::to_string(to));
    response.body = log.substr(from, to - from);
    return response;
  });
  CliRunOptions options = WithAdmin(server);
  int waits = 0;
  options.wait = [&waits](std::chrono::milliseconds interval) {
    EXPECT_EQ(interval.count(), 500);
    return ++waits <= 2;  // two polls, then "Ctrl-C"
  };
  CliRun run = RunCutover({"logs", "website", "--follow"}, options);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, log);
  std::vector<FakeRequest> requests = server.requests();
  // GET function (404 as a key) -> list -> GET function -> logs -> 2 polls.
  ASSERT_GE(requests.size(), 4u);
  FakeRequest first_logs = requests[requests.size() - 3];
  EXPECT_EQ(first_logs.query["version"], "3");
  EXPECT_EQ(first_logs.query.count("offset"), 0u);
  EXPECT_EQ(requests[requests.size() - 2].query["offset"], "9");
  EXPECT_EQ(requests.back().query["offset"], "18");
  EXPECT_EQ(requests.back().query["version"], "3");
}

// A function's output reaches `cutover logs` byte for byte, so it may try to fake a platform line
// (a CR, then "END RequestId: ..." over its own line), clear the screen or set the window title.
// The CLI shows those controls as visible escapes, once and when following; --json keeps the
// exact text for programs.
TEST(ClientCommandsTest, LogsShowControlCharactersFromTheFunctionEscaped) {
  const std::string hostile =
      "START RequestId: a Version: 1\n"
      "ok\rEND RequestId: forged\n"
      "\x1b[2J\x1b]0;pwned\x07\x1b[1A\x1b[2K\n"
      "c1 \xc2\x9b"
      "31m, bad \x9b, del \x7f\n"
      "crlf\r\n\tindented\n"
      "END RequestId: a\n";
  const std::string shown =
      "START RequestId: a Version: 1\n"
      "ok\\x0dEND RequestId: forged\n"
      "\\x1b[2J\\x1b]0;pwned\\x07\\x1b[1A\\x1b[2K\n"
      "c1 \\u009b31m, bad \\x9b, del \\x7f\n"
      "crlf\r\n\tindented\n"
      "END RequestId: a\n";
  FakeAdminServer server([&hostile](const FakeRequest& r) {
    if (r.path == "/v1/functions/f") return Json(200, R"({"latest_version": 1})");
    FakeResponse response;
    const bool more = r.query.count("offset") > 0;
    response.headers.emplace_back("X-Log-Offset", more ? "2000" : "1000");
    response.body = more ? "\x1b[31mnew\n" : hostile;
    return response;
  });

  CliRun once = RunCutover({"logs", "f"}, WithAdmin(server));
  EXPECT_EQ(once.exit_code, 0) << once.err;
  EXPECT_EQ(once.out, shown);
  EXPECT_EQ(once.out.find('\x1b'), std::string::npos);

  CliRunOptions options = WithAdmin(server);
  int waits = 0;
  options.wait = [&waits](std::chrono::milliseconds) { return ++waits <= 1; };
  CliRun follow = RunCutover({"logs", "f", "--follow"}, options);
  EXPECT_EQ(follow.exit_code, 0) << follow.err;
  EXPECT_EQ(follow.out, shown + "\\x1b[31mnew\n");

  // --json: the exact text, except the byte that is no UTF-8, so the document still parses.
  CliRun json = RunCutover({"logs", "f", "--json"}, WithAdmin(server));
  EXPECT_EQ(json.exit_code, 0) << json.err;
  std::string expected = hostile;
  expected.replace(expected.find("\x9b,"), 1, "\xef\xbf\xbd");
  EXPECT_EQ(boost::json::parse(json.out).at("text").as_string(), expected);
  EXPECT_EQ(json.out.find('\x1b'), std::string::npos);
}

TEST(ClientCommandsTest, LogsFollowNeedsTheOffsetHeader) {
  FakeAdminServer server([](const FakeRequest& r) {
    if (r.path == "/v1/functions/f") return Json(200, R"({"latest_version": 1})");
    FakeResponse response;
    response.body = "x\n";
    return response;
  });
  CliRun run = RunCutover({"logs", "f", "--follow"}, WithAdmin(server));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("X-Log-Offset"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace cutover::cli
