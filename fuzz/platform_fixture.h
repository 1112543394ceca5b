// A small in-process platform for the API fuzz targets: the in-memory store, a Publisher with one
// published service, a DeploymentController with a deployment waiting for its pre-traffic hook,
// and a RuntimeService that answers every invocation at once. Built from a real serverless.yml
// (config::LoadServiceSpec) and a real package, with fixed seeds and a fake clock, so the ids
// it creates are the same in every run and seeds can name them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.h"
#include "deploy/controller.h"
#include "deploy/publisher.h"
#include "router/snapshot.h"
#include "runtime/runtime_service.h"
#include "store/state_store.h"

namespace cutover::fuzz {

// Answers every invocation synchronously. The outcome is picked from the first letter of the
// payload's first key ({"error": ...}), so every branch of the callers' outcome mapping is
// reachable: 'e' function error, 't' timeout, 'c' crash, 'i' init error, 'l' response too large,
// 'r' request too large, 'T' throttled, 'n' not found; anything else succeeds and echoes the
// payload.
class AnsweringRuntime final : public runtime::RuntimeService {
 public:
  void Register(const runtime::InstanceConfig&) override {}
  void Retire(const runtime::VersionKey&) override {}
  Status Prewarm(const runtime::VersionKey&, int) override { return Status::Ok(); }
  void Invoke(const runtime::VersionKey& key, runtime::Invocation invocation,
              runtime::InvokeCallback done) override;
  bool TakesHttp(const runtime::VersionKey&) const override { return false; }
  void InvokeHttp(const runtime::VersionKey&, runtime::HttpInvocation,
                  runtime::HttpCallback done) override;
  void Tick() override {}
  runtime::PoolStats Stats(const runtime::VersionKey&) const override { return {}; }
  void Shutdown() override {}

  uint64_t invocations = 0;
};

class Platform final {
 public:
  // The service "fuzz" (stage dev): function fuzz-dev-api (versions 1 and 2, alias Live at 1 with
  // a Linear10PercentEvery1Minute deployment to 2 waiting for its pre-traffic hook, function
  // fuzz-dev-preHook) and fuzz-dev-plain (version 1, no alias). Aborts when setup fails: a fuzz
  // target without its platform finds nothing.
  static std::unique_ptr<Platform> Create();
  ~Platform();

  deploy::Publisher& publisher() { return *publisher_; }
  deploy::DeploymentController& controller() { return *controller_; }
  AnsweringRuntime& runtime() { return runtime_; }
  const Clock& clock() const { return clock_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }

  const std::string& deployment_id() const { return deployment_id_; }
  const std::string& hook_execution_id() const { return hook_execution_id_; }

 private:
  Platform() = default;

  std::filesystem::path root_;
  std::filesystem::path data_dir_;
  FakeClock clock_;
  AnsweringRuntime runtime_;
  router::RouteTableSnapshot routes_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<deploy::Publisher> publisher_;
  std::unique_ptr<deploy::DeploymentController> controller_;
  std::string deployment_id_;
  std::string hook_execution_id_;
};

}  // namespace cutover::fuzz
