#include "platform_fixture.h"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "config/loader.h"
#include "package/package.h"

namespace cutover::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr const char* kServerlessYml = R"(service: fuzz
provider:
  name: aws
  runtime: provided.al2
  stage: dev
functions:
  api:
    handler: bootstrap
    events:
      - http: ANY /api
    deploymentSettings:
      type: Linear10PercentEvery1Minute
      alias: Live
      preTrafficHook: preHook
  preHook:
    handler: bootstrap
  plain:
    handler: bootstrap
    events:
      - httpApi: 'GET /plain'
)";

[[noreturn]] void SetupFailed(const std::string& what) {
  std::fprintf(stderr, "fuzz platform setup failed: %s\n", what.c_str());
  std::abort();
}

// Publishes the service from `dir` with a bootstrap that differs by `tag` (a new code version).
deploy::PublishReport Publish(deploy::Publisher& publisher, const fs::path& dir,
                              const std::string& tag) {
  { std::ofstream(dir / "bootstrap") << "#!/bin/sh\n# " << tag << "\n"; }
  chmod((dir / "bootstrap").c_str(), 0755);
  config::LoadOptions options;
  options.getenv = [](const std::string&) { return std::optional<std::string>(); };
  auto spec = config::LoadServiceSpec(dir / "serverless.yml", options);
  if (!spec.ok()) SetupFailed(spec.status().ToString());
  auto package = package::CreatePackage(dir, {});
  if (!package.ok()) SetupFailed(package.status().ToString());
  auto stored = publisher.PutArtifact(package->sha256, package->bytes);
  if (!stored.ok()) SetupFailed(stored.status().ToString());
  auto report = publisher.PublishService(*spec, package->sha256);
  if (!report.ok()) SetupFailed(report.status().ToString());
  return *report;
}

}  // namespace

void AnsweringRuntime::Invoke(const runtime::VersionKey& key, runtime::Invocation invocation,
                              runtime::InvokeCallback done) {
  ++invocations;
  runtime::InvokeResult r;
  r.executed_version = key.version;
  r.duration_ms = 1;
  const std::string& p = invocation.payload;
  const char pick = p.size() > 2 && p[0] == '{' && p[1] == '"' ? p[2] : '\0';
  switch (pick) {
    case 'e':
      r.outcome = runtime::InvokeOutcome::kFunctionError;
      r.error_type = "Error";
      r.payload = R"({"errorType":"Error","errorMessage":"boom"})";
      break;
    case 't':
      r.outcome = runtime::InvokeOutcome::kTimeout;
      break;
    case 'c':
      r.outcome = runtime::InvokeOutcome::kCrashed;
      break;
    case 'i':
      r.outcome = runtime::InvokeOutcome::kInitError;
      break;
    case 'l':
      r.outcome = runtime::InvokeOutcome::kResponseTooLarge;
      break;
    case 'r':
      r.outcome = runtime::InvokeOutcome::kRequestTooLarge;
      break;
    case 'T':
      r.outcome = runtime::InvokeOutcome::kThrottled;
      break;
    case 'n':
      r.outcome = runtime::InvokeOutcome::kNotFound;
      break;
    default:
      r.payload = p;
      break;
  }
  done(std::move(r));
}

void AnsweringRuntime::InvokeHttp(const runtime::VersionKey&, runtime::HttpInvocation,
                                  runtime::HttpCallback done) {
  runtime::HttpResult r;
  r.outcome = runtime::InvokeOutcome::kNotFound;
  done(std::move(r));
}

std::unique_ptr<Platform> Platform::Create() {
  std::unique_ptr<Platform> p(new Platform);
  char templ[] = "/tmp/cutover-fuzz-XXXXXX";
  if (mkdtemp(templ) == nullptr) SetupFailed("mkdtemp");
  p->root_ = templ;
  p->data_dir_ = p->root_ / "data";
  const fs::path service = p->root_ / "service";
  fs::create_directories(service);
  { std::ofstream(service / "serverless.yml") << kServerlessYml; }

  p->store_ = store::CreateMemoryStore();
  deploy::PublisherSettings settings{p->data_dir_};
  settings.random_seed = 7;
  p->publisher_ = std::make_unique<deploy::Publisher>(settings, *p->store_, p->runtime_,
                                                      p->routes_, p->clock_);
  if (Status s = p->publisher_->Restore(); !s.ok()) SetupFailed(s.ToString());

  deploy::ControllerPorts ports;
  Platform* raw = p.get();
  ports.invoke_hook = [raw](const std::string&, const std::string& payload) {
    boost::json::value v = boost::json::parse(payload);
    raw->hook_execution_id_ =
        std::string(v.at("LifecycleEventHookExecutionId").as_string());
  };
  p->controller_ = std::make_unique<deploy::DeploymentController>(
      *p->store_, *p->publisher_, p->clock_, std::move(ports), /*random_seed=*/11);

  Publish(*p->publisher_, service, "v1");
  deploy::PublishReport second = Publish(*p->publisher_, service, "v2");
  for (const auto& f : second.functions) {
    if (f.key == "api") p->deployment_id_ = f.deployment_id;
  }
  if (p->deployment_id_.empty()) SetupFailed("the second publish made no deployment");
  p->controller_->Tick();  // Created → InProgress → BeforeAllowTraffic: the hook is invoked
  if (p->hook_execution_id_.empty()) SetupFailed("the pre-traffic hook was not invoked");
  return p;
}

Platform::~Platform() {
  controller_.reset();
  publisher_.reset();
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

}  // namespace cutover::fuzz
