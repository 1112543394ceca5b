// A RuntimeService for the deploy tests: records what it is asked to run and answers every
// invocation at once.
#pragma once

#include <vector>

#include "runtime/runtime_service.h"

namespace cutover::deploy {

class FakeRuntime final : public runtime::RuntimeService {
 public:
  void Register(const runtime::InstanceConfig& c) override { registered.push_back(c); }
  void Retire(const runtime::VersionKey&) override {}
  Status Prewarm(const runtime::VersionKey& key, int count) override {
    prewarmed.emplace_back(key, count);
    return Status::Ok();
  }
  void Invoke(const runtime::VersionKey&, runtime::Invocation,
              runtime::InvokeCallback done) override {
    done(runtime::InvokeResult{});
  }
  bool TakesHttp(const runtime::VersionKey&) const override { return false; }
  void InvokeHttp(const runtime::VersionKey&, runtime::HttpInvocation,
                  runtime::HttpCallback done) override {
    runtime::HttpResult r;
    r.outcome = runtime::InvokeOutcome::kNotFound;
    done(std::move(r));
  }
  void Tick() override {}
  runtime::PoolStats Stats(const runtime::VersionKey&) const override { return {}; }
  void Shutdown() override {}

  std::vector<runtime::InstanceConfig> registered;
  std::vector<std::pair<runtime::VersionKey, int>> prewarmed;
};

}  // namespace cutover::deploy
