// Versions and weighted aliases on the real daemon: a config change publishes a new version, an
// alias at weight 0.3 splits traffic within binomial bounds, and a restarted daemon keeps all of
// it. The service's bootstrap is the compiled testdata/proxy_bootstrap.cc, so the thousands of
// requests cost no process per request.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>
#include <cmath>

#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

TEST(AliasTest, WeightedSplitSurvivesRestart) {
  fs::path root = MakeTempDir("cutover-alias");
  fs::path data = root / "data";
  fs::path service = CopyAliasesService(root, CUTOVER_PROXY_BOOTSTRAP);
  auto daemon = Daemon::Start(data);
  CommandResult first = daemon->Deploy(service);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;

  // A configuration change (an environment variable) publishes version 2 of every function.
  CommandResult second = daemon->Deploy(service, {"--opt", "greeting=bye"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  json::value published = json::parse(second.out);
  ASSERT_EQ(published.as_object()["functions"].as_array().size(), 2u) << second.out;
  for (const auto& f : published.as_object()["functions"].as_array()) {
    EXPECT_TRUE(f.as_object().at("created").as_bool());
    EXPECT_EQ(f.as_object().at("version").as_int64(), 2);
  }
  // `ok` has deploymentSettings (AllAtOnce): its deployment moves the alias on the next tick.
  std::string deployment;
  for (const auto& f : published.as_object()["functions"].as_array()) {
    if (f.as_object().at("key") == "ok") {
      deployment = std::string(f.as_object().at("deployment_id").as_string());
    }
  }
  ASSERT_FALSE(deployment.empty()) << second.out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (json::parse(daemon->Admin("GET", "/v1/deployments/" + deployment).body)
             .as_object()["deployment"]
             .as_object()["status"] != "Succeeded") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the deployment did not succeed";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition
  }
  HttpResult live = daemon->Gateway("GET", "/ok");
  EXPECT_EQ(live.body, "ok v2 bye");

  HttpResult set = daemon->Admin("PUT", "/v1/functions/aliases-dev-ok/aliases/Live",
                                 R"({"primary_version":1,"additional_version":2,)"
                                 R"("additional_weight":0.3})");
  ASSERT_EQ(set.status, 200) << set.body;

  constexpr int kRequests = 2000;
  constexpr double kWeight = 0.3;
  HttpClient client("127.0.0.1", daemon->gateway_port());
  int on_two = 0;
  for (int i = 0; i < kRequests; ++i) {
    HttpResult r = client.Request("GET", "/ok");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    const std::string& v = r.headers["x-cutover-version"];
    ASSERT_TRUE(v == "1" || v == "2") << v;
    EXPECT_EQ(r.body, v == "1" ? "ok v1 hello" : "ok v2 bye");
    on_two += v == "2";
  }
  // Binomial(2000, 0.3): mean 600, sd 20.5; 4.5 sd leaves a 1-in-150,000 false failure.
  const double mean = kRequests * kWeight;
  const double sd = std::sqrt(kRequests * kWeight * (1 - kWeight));
  EXPECT_NEAR(on_two, mean, 4.5 * sd);

  // A redeploy without changes leaves the weighted alias alone.
  CommandResult unchanged = daemon->Deploy(service, {"--opt", "greeting=bye"});
  ASSERT_EQ(unchanged.exit_code, 0) << unchanged.err;
  HttpResult still = daemon->Admin("GET", "/v1/functions/aliases-dev-ok/aliases/Live");
  EXPECT_DOUBLE_EQ(json::parse(still.body).as_object()["additional_weight"].as_double(), 0.3);

  // Killed, not stopped: everything committed comes back from the store.
  daemon->Kill();
  daemon = Daemon::Start(data);
  HttpResult alias = daemon->Admin("GET", "/v1/functions/aliases-dev-ok/aliases/Live");
  ASSERT_EQ(alias.status, 200) << alias.body;
  auto a = json::parse(alias.body).as_object();
  EXPECT_EQ(a["primary_version"].as_int64(), 1);
  EXPECT_EQ(a["additional_version"].as_int64(), 2);
  EXPECT_DOUBLE_EQ(a["additional_weight"].as_double(), 0.3);
  HttpResult fn = daemon->Admin("GET", "/v1/functions/aliases-dev-other");
  EXPECT_EQ(json::parse(fn.body).as_object()["versions"].as_array().size(), 2u);
  bool saw[3] = {false, false, false};
  HttpClient after("127.0.0.1", daemon->gateway_port());
  for (int i = 0; i < 200 && !(saw[1] && saw[2]); ++i) {
    HttpResult r = after.Request("GET", "/ok");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    const std::string& v = r.headers["x-cutover-version"];
    ASSERT_TRUE(v == "1" || v == "2") << v;
    EXPECT_EQ(r.body, v == "1" ? "ok v1 hello" : "ok v2 bye");
    saw[std::stoi(v)] = true;
  }
  EXPECT_TRUE(saw[1] && saw[2]);
  daemon.reset();
  fs::remove_all(root);
}

TEST(AliasTest, RejectsBadWeights) {
  fs::path data = MakeTempDir("cutover-alias-bad") / "data";
  auto daemon = Daemon::Start(data);
  ASSERT_EQ(daemon->Deploy(SourceDir() / "tests/integration/testdata/behaviours").exit_code, 0);
  auto put = [&](const std::string& body) {
    return daemon->Admin("PUT", "/v1/functions/behaviours-dev-ok/aliases/Live", body);
  };
  EXPECT_EQ(put(R"({"primary_version":1,"additional_version":1,"additional_weight":0.5})").status,
            400);
  EXPECT_EQ(put(R"({"primary_version":1,"additional_version":9,"additional_weight":0.5})").status,
            400);
  EXPECT_EQ(put(R"({"primary_version":1})").status, 200);
  EXPECT_EQ(put(R"({"primary_version":1,"additional_weight":"x"})").status, 400);
  EXPECT_EQ(put("not json").status, 400);
  EXPECT_EQ(
      daemon->Admin("PUT", "/v1/functions/nope/aliases/Live", R"({"primary_version":1})").status,
      404);
  fs::remove_all(data.parent_path());
}

}  // namespace
}  // namespace cutover::testing
