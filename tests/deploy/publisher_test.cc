// Publisher: Lambda's PublishVersion rule, aliases, route collisions and restore, over the
// in-memory store and a fake runtime that records what it was asked to run.
#include "deploy/publisher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/clock.h"
#include "fake_runtime.h"
#include "package/package.h"

namespace cutover::deploy {
namespace {

namespace fs = std::filesystem;

class PublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/publisher-test-XXXXXX";
    root_ = mkdtemp(templ);
    store_ = store::CreateMemoryStore();
    publisher_ = MakePublisher();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Publisher> MakePublisher() {
    return std::make_unique<Publisher>(PublisherSettings{root_ / "data"}, *store_, runtime_,
                                       routes_, clock_);
  }

  // Packages a service directory holding a bootstrap with `content`.
  package::PackageInfo Package(const std::string& content) {
    fs::path dir = root_ / ("svc-" + std::to_string(uploads_++));
    fs::create_directories(dir);
    { std::ofstream(dir / "bootstrap") << "#!/bin/sh\n# " << content << "\n"; }
    chmod((dir / "bootstrap").c_str(), 0755);
    auto pkg = package::CreatePackage(dir, {});
    EXPECT_TRUE(pkg.ok()) << pkg.status().ToString();
    return pkg.ok() ? std::move(pkg).value() : package::PackageInfo{};
  }

  // Packages and uploads; returns the package's hash.
  std::string Upload(const std::string& content) {
    auto pkg = Package(content);
    auto stored = publisher_->PutArtifact(pkg.sha256, pkg.bytes);
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    return pkg.sha256;
  }

  static config::ServiceSpec Spec(const std::string& service, const std::string& path,
                                  bool with_alias = true) {
    config::ServiceSpec spec;
    spec.service = service;
    spec.stage = "dev";
    spec.api_name = "dev-" + service;
    config::FunctionSpec fn;
    fn.key = "api";
    fn.deployed_name = service + "-dev-api";
    fn.handler = "bootstrap";
    fn.runtime = "provided.al2";
    fn.kind = config::RuntimeKind::kProvided;
    fn.events.push_back({config::ApiKind::kRest, "ANY", path, {}});
    if (with_alias) {
      config::DeploymentSettings ds;
      ds.type = "AllAtOnce";
      ds.alias = "Live";
      // Gradual only in prod: in dev a new version moves the alias at once, which is what these
      // tests are about (controller_test.cc covers deployments).
      ds.stages = {"prod"};
      fn.deployment = ds;
    }
    spec.functions.push_back(fn);
    return spec;
  }

  fs::path root_;
  FakeClock clock_;
  FakeRuntime runtime_;
  router::RouteTableSnapshot routes_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<Publisher> publisher_;
  int uploads_ = 0;
};

TEST_F(PublisherTest, FirstDeployPublishesVersionOneAndCreatesTheAlias) {
  auto report = publisher_->PublishService(Spec("alpha", "/a"), Upload("v1"));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->functions.size(), 1u);
  EXPECT_TRUE(report->functions[0].created);
  EXPECT_EQ(report->functions[0].version, 1u);
  ASSERT_TRUE(report->functions[0].alias);
  EXPECT_EQ(report->functions[0].alias->primary_version, 1u);
  ASSERT_EQ(runtime_.registered.size(), 1u);
  EXPECT_EQ(runtime_.registered[0].key.function_name, "alpha-dev-api");
  auto match = routes_.Current()->Match("GET", "/a");
  ASSERT_TRUE(match);
  EXPECT_EQ(match->route->target->qualifier, "Live");
}

TEST_F(PublisherTest, UnchangedRedeployPublishesNothing) {
  std::string code = Upload("v1");
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), code).ok());
  auto again = publisher_->PublishService(Spec("alpha", "/a"), code);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->functions[0].created);
  EXPECT_EQ(again->functions[0].version, 1u);
  EXPECT_EQ(runtime_.registered.size(), 1u);
}

TEST_F(PublisherTest, RouteChangeAloneIsNotANewVersion) {
  std::string code = Upload("v1");
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), code).ok());
  auto moved = publisher_->PublishService(Spec("alpha", "/b"), code);
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(moved->functions[0].created);
  EXPECT_FALSE(routes_.Current()->Match("GET", "/a"));
  EXPECT_TRUE(routes_.Current()->Match("GET", "/b"));
}

TEST_F(PublisherTest, CodeOrConfigurationChangePublishesANewVersion) {
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), Upload("v1")).ok());
  auto code_change = publisher_->PublishService(Spec("alpha", "/a"), Upload("v2"));
  ASSERT_TRUE(code_change.ok());
  EXPECT_TRUE(code_change->functions[0].created);
  EXPECT_EQ(code_change->functions[0].version, 2u);

  config::ServiceSpec spec = Spec("alpha", "/a");
  spec.functions[0].environment["MODE"] = "fast";
  auto config_change = publisher_->PublishService(spec, Upload("v2"));
  ASSERT_TRUE(config_change.ok());
  EXPECT_EQ(config_change->functions[0].version, 3u);
  EXPECT_EQ(config_change->functions[0].alias->primary_version, 3u);
}

TEST_F(PublisherTest, CollidingRouteOfAnotherServiceIsRefusedAndChangesNothing) {
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/shared"), Upload("a")).ok());
  auto before = routes_.Current();
  auto clash = publisher_->PublishService(Spec("bravo", "/shared"), Upload("b"));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(clash.status().message().find("alpha-dev-api"), std::string::npos)
      << clash.status().message();
  EXPECT_NE(clash.status().message().find("bravo-dev-api"), std::string::npos);
  EXPECT_EQ(routes_.Current(), before);
  EXPECT_EQ(publisher_->FindFunction("bravo-dev-api"), nullptr);
  // Nothing of b reached the store either.
  Status st = store_->Read([](store::StoreTxn& txn) -> Status {
    auto v = txn.ListVersions("bravo-dev-api");
    EXPECT_TRUE(v.ok());
    EXPECT_TRUE(v->empty());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_F(PublisherTest, MissingPackageOrEntryPointIsRefused) {
  auto missing = publisher_->PublishService(Spec("alpha", "/a"), std::string(64, 'a'));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  config::ServiceSpec spec = Spec("alpha", "/a");
  spec.functions[0].kind = config::RuntimeKind::kPython;
  spec.functions[0].runtime = "python3.11";
  spec.functions[0].handler = "handler.main";
  auto no_handler = publisher_->PublishService(spec, Upload("x"));
  EXPECT_EQ(no_handler.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PublisherTest, CorruptUploadIsRefused) {
  auto r = publisher_->PutArtifact(std::string(64, 'b'), "not the bytes");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(publisher_->HasArtifact(std::string(64, 'b')));
  EXPECT_EQ(publisher_->PutArtifact("../../etc", "x").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(PublisherTest, SetAliasValidatesAndPublishes) {
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), Upload("v1")).ok());
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), Upload("v2")).ok());
  EXPECT_FALSE(publisher_->SetAlias("alpha-dev-api", "Live", 1, 2, 1.5).ok());
  EXPECT_FALSE(publisher_->SetAlias("alpha-dev-api", "Live", 1, 7, 0.5).ok());
  EXPECT_FALSE(publisher_->SetAlias("alpha-dev-api", "Dead", 1, 2, 0.5).ok());
  auto set = publisher_->SetAlias("alpha-dev-api", "Live", 1, 2, 0.25);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  auto match = routes_.Current()->Match("GET", "/a");
  ASSERT_TRUE(match);
  EXPECT_EQ(match->route->target->primary_version, 1u);
  EXPECT_EQ(match->route->target->additional_version, 2u);
  EXPECT_DOUBLE_EQ(match->route->target->additional_weight, 0.25);
}

TEST_F(PublisherTest, RestoreRebuildsEverythingFromTheStore) {
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), Upload("v1")).ok());
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), Upload("v2")).ok());
  ASSERT_TRUE(publisher_->SetAlias("alpha-dev-api", "Live", 1, 2, 0.5).ok());
  ASSERT_TRUE(publisher_->PublishService(Spec("november", "/n", false), Upload("n")).ok());

  router::RouteTableSnapshot fresh_routes;
  FakeRuntime fresh_runtime;
  Publisher restored(PublisherSettings{root_ / "data"}, *store_, fresh_runtime, fresh_routes,
                     clock_);
  Status restored_status = restored.Restore();
  ASSERT_TRUE(restored_status.ok()) << restored_status.ToString();
  EXPECT_EQ(fresh_runtime.registered.size(), 3u);
  auto a = fresh_routes.Current()->Match("GET", "/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->route->target->additional_version, 2u);
  EXPECT_DOUBLE_EQ(a->route->target->additional_weight, 0.5);
  auto n = fresh_routes.Current()->Match("POST", "/n");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->route->target->is_alias);
  EXPECT_EQ(n->route->target->primary_version, 1u);
}

// A second node over the same store (etcd in a fleet) with its own data directory: it serves a
// function only from packages it has, asks for the ones it lacks, and takes the store's state
// as soon as they arrive.
TEST_F(PublisherTest, AnotherNodeServesOnlyFromPackagesItHasAndAsksForTheRest) {
  auto v1 = Package("v1");
  ASSERT_TRUE(publisher_->PutArtifact(v1.sha256, v1.bytes).ok());
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), v1.sha256).ok());

  router::RouteTableSnapshot b_routes;
  FakeRuntime b_runtime;
  Publisher b(PublisherSettings{root_ / "b"}, *store_, b_runtime, b_routes, clock_);
  std::vector<std::string> wanted;
  b.SetArtifactWanted([&](const std::string& sha) { wanted.push_back(sha); });
  ASSERT_TRUE(b.Restore().ok());
  EXPECT_EQ(wanted, std::vector<std::string>{v1.sha256});
  EXPECT_FALSE(b_routes.Current()->Match("GET", "/a"));  // nothing it cannot run
  EXPECT_TRUE(b_runtime.registered.empty());
  EXPECT_EQ(b.FindFunction("alpha-dev-api"), nullptr);

  ASSERT_TRUE(b.PutArtifact(v1.sha256, v1.bytes).ok());
  ASSERT_TRUE(b.Sync().ok());
  auto a = b_routes.Current()->Match("GET", "/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->route->target->primary_version, 1u);
  EXPECT_EQ(b_runtime.registered.size(), 1u);

  // Node A publishes version 2 and splits the alias: B keeps serving version 1 alone (a weight it
  // cannot serve is not taken) until version 2's package is here.
  auto v2 = Package("v2");
  ASSERT_TRUE(publisher_->PutArtifact(v2.sha256, v2.bytes).ok());
  ASSERT_TRUE(publisher_->PublishService(Spec("alpha", "/a"), v2.sha256).ok());
  ASSERT_TRUE(publisher_->SetAlias("alpha-dev-api", "Live", 1, 2, 0.5).ok());
  wanted.clear();
  ASSERT_TRUE(b.Sync().ok());
  EXPECT_EQ(wanted, std::vector<std::string>{v2.sha256});
  a = b_routes.Current()->Match("GET", "/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->route->target->primary_version, 1u);
  EXPECT_EQ(a->route->target->additional_version, 0u);

  ASSERT_TRUE(b.PutArtifact(v2.sha256, v2.bytes).ok());
  ASSERT_TRUE(b.Sync().ok());
  a = b_routes.Current()->Match("GET", "/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->route->target->additional_version, 2u);
  EXPECT_DOUBLE_EQ(a->route->target->additional_weight, 0.5);
  EXPECT_EQ(b_runtime.registered.size(), 2u);

  // A Sync with nothing new keeps the table the gateway has.
  auto before = b_routes.Current();
  ASSERT_TRUE(b.Sync().ok());
  EXPECT_EQ(b_routes.Current(), before);

  // A's next publish of a new service reaches B too (its package is already here).
  ASSERT_TRUE(publisher_->PublishService(Spec("bravo", "/b", false), v2.sha256).ok());
  ASSERT_TRUE(b.Sync().ok());
  EXPECT_TRUE(b_routes.Current()->Match("GET", "/b"));
}

}  // namespace
}  // namespace cutover::deploy
