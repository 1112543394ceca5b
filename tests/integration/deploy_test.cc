// `cutover deploy` against the real daemon: packages over the admin API's old 1 MiB default, bad
// configuration exiting 2 with file:line:col, and a service whose routes collide with another's.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "harness.h"

namespace cutover::testing {
namespace {

class DeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir("cutover-deploy");
    daemon_ = Daemon::Start(root_ / "data");
  }
  void TearDown() override {
    daemon_.reset();
    fs::remove_all(root_);
  }
  fs::path CopyBehaviours(const std::string& name) {
    fs::path dir = root_ / name;
    fs::copy(SourceDir() / "tests/integration/testdata/behaviours", dir,
             fs::copy_options::recursive);
    return dir;
  }
  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DeployTest, DeploysAPackageOfSeveralMegabytes) {
  fs::path dir = CopyBehaviours("big");
  std::mt19937_64 rng(7);
  std::ofstream out(dir / "blob.bin", std::ios::binary);
  for (int i = 0; i < 3 * 1024 * 1024 / 8; ++i) {
    uint64_t v = rng();
    out.write(reinterpret_cast<const char*>(&v), sizeof v);
  }
  out.close();
  CommandResult r = daemon_->Deploy(dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(daemon_->Gateway("GET", "/ok").status, 200);
}

TEST_F(DeployTest, BadConfigurationExitsTwoWithLocation) {
  fs::path dir = CopyBehaviours("bad");
  std::ofstream(dir / "serverless.yml", std::ios::app) << "    timeout: forever\n";
  CommandResult r = daemon_->Deploy(dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("serverless.yml:"), std::string::npos) << r.err;
}

TEST_F(DeployTest, CollidingRoutesOfAnotherServiceAreRefused) {
  ASSERT_EQ(daemon_->Deploy(CopyBehaviours("first")).exit_code, 0);
  fs::path second = CopyBehaviours("second");
  // Same routes, another service name.
  std::ifstream in(second / "serverless.yml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("service: behaviours"), 19, "service: intruder");
  std::ofstream(second / "serverless.yml") << text;
  CommandResult r = daemon_->Deploy(second);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("behaviours"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("intruder"), std::string::npos) << r.err;
  // The first service still serves.
  EXPECT_EQ(daemon_->Gateway("GET", "/ok").status, 200);
}

}  // namespace
}  // namespace cutover::testing
