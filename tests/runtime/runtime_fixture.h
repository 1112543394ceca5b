// A RuntimeService with real child processes for tests: a private data directory, an io_context run
// by two threads of the test, and helpers that invoke and wait on futures with generous deadlines
// (never sleeping for time to pass). Tick() is called the way the daemon's control loop would.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "runtime/runtime_service.h"

namespace cutover::runtime::testing {

inline std::filesystem::path TestData(const std::string& name) {
  return std::filesystem::path(CUTOVER_SOURCE_DIR) / "tests" / "runtime" / "testdata" / name;
}

inline std::filesystem::path MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cutover-runtime-XXXXXX").string();
  char* dir = ::mkdtemp(tmpl.data());
  if (dir == nullptr) std::abort();
  return std::filesystem::path(dir);
}

class RuntimeFixture : public ::testing::Test {
 protected:
  static constexpr auto kDeadline = std::chrono::seconds(30);

  // Two contexts with one thread each, the way the daemon runs its workers.
  void SetUp() override {
    dir_ = MakeTempDir();
    for (int i = 0; i < 2; ++i) {
      auto& context = contexts_.emplace_back(std::make_unique<boost::asio::io_context>(1));
      work_.push_back(boost::asio::make_work_guard(*context));
      threads_.emplace_back([c = context.get()] { c->run(); });
    }
  }

  void TearDown() override {
    if (service_) {
      service_->Shutdown();
      service_.reset();
    }
    // Let the contexts finish what Shutdown started (endpoints closed, the killed processes' end of
    // output read) before stopping them: an instance's objects point at each other until then,
    // and stopping first leaves them so at exit (LeakSanitizer reports them in the ASan tree).
    work_.clear();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (auto& c : contexts_) {
      while (!c->stopped() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
      }
      c->stop();
    }
    for (auto& t : threads_) t.join();
    // CUTOVER_KEEP_TEST_DIR=1 keeps the data directory (logs) for a look after the test.
    if (std::getenv("CUTOVER_KEEP_TEST_DIR") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    } else {
      std::fprintf(stderr, "kept %s\n", dir_.c_str());
    }
  }

  // Creates the service; call once per test, after adjusting settings().
  RuntimeService& Start() {
    settings_.data_dir = dir_ / "data";
    settings_.node_ric_dir = std::filesystem::path(CUTOVER_SOURCE_DIR) / "third_party" / "node";
    settings_.contexts.clear();
    for (auto& c : contexts_) settings_.contexts.push_back(c.get());
    service_ = CreateRuntimeService(settings_);
    return *service_;
  }

  RuntimeSettings& settings() { return settings_; }
  // The test's worker contexts, as the daemon's gateway workers: settings().contexts after Start().
  boost::asio::io_context& context(size_t i) { return *contexts_.at(i); }
  RuntimeService& service() { return *service_; }
  const std::filesystem::path& dir() const { return dir_; }

  // A task root holding a copy of testdata/<name> with the bootstrap made executable.
  std::filesystem::path TaskRoot(const std::string& name) {
    std::filesystem::path root = dir_ / ("task-" + name + "-" + std::to_string(++roots_));
    std::filesystem::create_directories(root);
    std::filesystem::copy(TestData(name), root, std::filesystem::copy_options::recursive);
    std::filesystem::path bootstrap = root / "bootstrap";
    if (std::filesystem::exists(bootstrap)) {
      std::filesystem::permissions(bootstrap, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add);
    }
    return root;
  }

  InstanceConfig Config(const std::string& function, uint32_t version,
                        const std::filesystem::path& task_root,
                        RuntimeFamily family = RuntimeFamily::kProvided) {
    InstanceConfig c;
    c.key = {function, version};
    c.family = family;
    c.task_root = task_root;
    c.timeout_ms = 10000;
    c.memory_mb = 128;
    switch (family) {
      case RuntimeFamily::kProvided:
        c.runtime_name = "provided.al2";
        break;
      case RuntimeFamily::kNode:
        c.runtime_name = "nodejs20.x";
        break;
      case RuntimeFamily::kPython:
        c.runtime_name = "python3.11";
        break;
      default:
        c.runtime_name = "php-82-fpm";
        break;
    }
    return c;
  }

  // Invokes and returns a future of the result; fails the test if the callback runs twice.
  std::future<InvokeResult> InvokeAsync(const VersionKey& key, std::string payload) {
    auto promise = std::make_shared<std::promise<InvokeResult>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    std::future<InvokeResult> future = promise->get_future();
    Invocation inv;
    inv.payload = std::move(payload);
    service_->Invoke(key, std::move(inv), [promise, calls](InvokeResult r) {
      int n = ++*calls;
      EXPECT_EQ(n, 1) << "callback called more than once";
      if (n == 1) promise->set_value(std::move(r));
    });
    return future;
  }

  InvokeResult Await(std::future<InvokeResult>& f) {
    if (f.wait_for(kDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "invocation did not complete in time";
      InvokeResult r;
      r.outcome = InvokeOutcome::kNotFound;
      r.payload = "TEST DEADLINE";
      return r;
    }
    return f.get();
  }

  InvokeResult Invoke(const VersionKey& key, std::string payload) {
    auto f = InvokeAsync(key, std::move(payload));
    return Await(f);
  }

  // Calls Tick() until `condition` holds or the deadline passes. Polling a condition, not sleeping
  // for time to pass.
  bool TickUntil(const std::function<bool()>& condition) {
    auto end = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < end) {
      service_->Tick();
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  std::string Logs(const std::string& function, uint32_t version = 0) {
    service_->Tick();  // flushes the log buffers
    auto r = ReadFunctionLogs(settings_.data_dir, function, version, 1 << 20);
    return r.ok() ? *r : "";
  }

  // Waits until the function's logs contain `text` `count` times.
  bool LogsContain(const std::string& function, const std::string& text, int count = 1) {
    return TickUntil([&] {
      std::string logs = Logs(function);
      int n = 0;
      for (size_t pos = logs.find(text); pos != std::string::npos; pos = logs.find(text, pos + 1)) {
        ++n;
      }
      return n >= count;
    });
  }

 private:
  std::filesystem::path dir_;
  int roots_ = 0;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  RuntimeSettings settings_;
  std::unique_ptr<RuntimeService> service_;
};

inline int CountOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace cutover::runtime::testing
