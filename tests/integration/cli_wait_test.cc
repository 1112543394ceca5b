// `cutover deploy --wait` and `cutover deployments` through the real daemon and its event stream,
// on a scaled clock (--time-scale 60): a good version of the seed followed to Succeeded (exit 0),
// then a faulty one followed to its rollback by the seed's 5XX alarm (exit 1), and that rollback
// told with the alarm's evidence.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <fstream>

#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

// examples/seed under `root`/`tag`, its code made unique by the tag; `faulty` turns the seed's
// FAULTY switch on (its /checkout answers 500).
fs::path SeedCopy(const fs::path& root, const std::string& tag, bool faulty) {
  const fs::path dir = root / tag;
  fs::copy(SourceDir() / "examples/seed", dir, fs::copy_options::recursive);
  std::ofstream(dir / "public" / "VERSION") << tag << "\n";
  if (faulty) std::ofstream(dir / "FAULTY") << "on\n";
  return dir;
}

TEST(CliWaitTest, DeployWaitFollowsAGoodAndAFaultyVersionToTheirExitCodes) {
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  const fs::path root = MakeTempDir("cutover-cli-wait");
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "60"});
  ASSERT_EQ(daemon->Deploy(SeedCopy(root, "v1", false)).exit_code, 0);

  // Not a terminal: one line per event, then the outcome. Linear10PercentEvery1Minute takes 9 s.
  CommandResult good = RunCutover({"deploy", "--dir", SeedCopy(root, "v2", false).string(),
                                   "--admin", daemon->admin_url(), "--wait"});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find(" TrafficShifted step 1/9: Live → 1 (90%) + 2 (10%)"),
            std::string::npos)
      << good.out;
  EXPECT_NE(good.out.find(" TrafficShifted 100%: Live → 2"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find(" Succeeded in "), std::string::npos) << good.out;

  // --json: one document once the deployment ended. Traffic flows until then, so the faulty
  // version's 500s put the alarm into ALARM.
  std::future<CommandResult> pending = std::async(std::launch::async, [&] {
    return daemon->Deploy(SeedCopy(root, "v3", true), {"--wait"});
  });
  while (pending.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    daemon->Gateway("GET", "/checkout");
  }
  CommandResult faulty = pending.get();
  EXPECT_EQ(faulty.exit_code, 1) << faulty.out << faulty.err;
  boost::system::error_code ec;
  json::value doc = json::parse(faulty.out, ec);
  ASSERT_FALSE(ec) << faulty.out;
  const json::array& deployments = doc.at("deployments").as_array();
  ASSERT_EQ(deployments.size(), 1u);
  const json::object& d = deployments[0].as_object();
  EXPECT_EQ(d.at("status"), "Stopped");
  EXPECT_EQ(d.at("errorInformation").at("code"), "ALARM_ACTIVE");
  EXPECT_EQ(doc.at("functions").at(0).at("deployment_id"), d.at("deploymentId"));

  CommandResult shown =
      RunCutover({"deployments", std::string(d.at("deploymentId").as_string()), "--admin",
                  daemon->admin_url()});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find(" RolledBack Live → 2"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("ApiGateway5XXErrorAlarm ALARM ["), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("alarm to alias flip: "), std::string::npos) << shown.out;

  CommandResult listed = RunCutover({"deployments", "--admin", daemon->admin_url()});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("Succeeded (rollback)"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("Stopped, rolled back"), std::string::npos) << listed.out;
  EXPECT_TRUE(daemon->Stop());
  fs::remove_all(root);
}

}  // namespace
}  // namespace cutover::testing
