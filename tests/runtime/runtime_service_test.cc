// RuntimeService with real processes: a bash + curl bootstrap (testdata/provided) driven by its
// events.
#include "runtime/runtime_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>
#include <vector>

#include "runtime_fixture.h"
#include "support/procfs.h"

namespace cutover::runtime {
namespace {

using testing::CountOf;
using testing::RuntimeFixture;

class RuntimeServiceTest : public RuntimeFixture {
 protected:
  // The pid the bootstrap printed as "child pid N" (its background `sleep`).
  int ChildPid(const std::string& function) {
    std::string logs = Logs(function);
    size_t pos = logs.rfind("child pid ");
    return pos == std::string::npos ? -1 : std::stoi(logs.substr(pos + 10));
  }
};

// What RuntimeSettings::on_function_line received, from whichever threads called it.
class LineCollector {
 public:
  void Add(const VersionKey& key, std::string_view line) {
    std::lock_guard lock(mu_);
    lines_.emplace_back(key, std::string(line));
  }
  // The keys `line` arrived with, in order.
  std::vector<VersionKey> KeysOf(std::string_view line) const {
    std::lock_guard lock(mu_);
    std::vector<VersionKey> keys;
    for (const auto& [k, l] : lines_) {
      if (l == line) keys.push_back(k);
    }
    return keys;
  }
  bool AnyContains(std::string_view text) const {
    std::lock_guard lock(mu_);
    for (const auto& [k, l] : lines_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string Dump() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [k, l] : lines_) {
      out += k.function_name + ":" + std::to_string(k.version) + " " + l + "\n";
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<VersionKey, std::string>> lines_;
};

std::map<std::string, std::string> ParseLines(const std::string& text, char sep) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find(sep);
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (sep == ':' && !value.empty() && value.front() == ' ') value.erase(0, 1);
    out[line.substr(0, eq)] = value;
  }
  return out;
}

TEST_F(RuntimeServiceTest, EchoesTheEventColdThenWarm) {
  Start();
  service().Register(Config("echo", 1, TaskRoot("provided")));
  VersionKey key{"echo", 1};

  InvokeResult first = Invoke(key, R"({"action":"echo","n":1})");
  ASSERT_EQ(first.outcome, InvokeOutcome::kSuccess) << first.payload;
  EXPECT_EQ(first.payload, R"({"action":"echo","n":1})");
  EXPECT_GT(first.init_duration_ms, 0);
  EXPECT_GT(first.duration_ms, 0);
  EXPECT_EQ(first.executed_version, 1u);

  InvokeResult second = Invoke(key, R"({"action":"echo","n":2})");
  ASSERT_EQ(second.outcome, InvokeOutcome::kSuccess) << second.payload;
  EXPECT_EQ(second.payload, R"({"action":"echo","n":2})");
  EXPECT_EQ(second.init_duration_ms, 0);

  PoolStats stats = service().Stats(key);
  EXPECT_EQ(stats.instances, 1);
  EXPECT_EQ(stats.busy, 0);
  EXPECT_EQ(stats.cold_starts, 1);
  EXPECT_EQ(stats.restarts, 0);
}

TEST_F(RuntimeServiceTest, LogsHaveStartEndReportAndInitDurationOnlyWhenCold) {
  Start();
  service().Register(Config("logged", 3, TaskRoot("provided")));
  VersionKey key{"logged", 3};
  ASSERT_EQ(Invoke(key, R"({"action":"echo"})").outcome, InvokeOutcome::kSuccess);
  ASSERT_EQ(Invoke(key, R"({"action":"echo"})").outcome, InvokeOutcome::kSuccess);

  ASSERT_TRUE(LogsContain("logged", "REPORT RequestId:", 2));
  std::string logs = Logs("logged", 3);
  EXPECT_EQ(CountOf(logs, "START RequestId: "), 2) << logs;
  EXPECT_EQ(CountOf(logs, " Version: 3\n"), 2) << logs;
  EXPECT_EQ(CountOf(logs, "END RequestId: "), 2) << logs;
  EXPECT_EQ(CountOf(logs, "\tInit Duration: "), 1) << logs;
  EXPECT_NE(logs.find("\tDuration: "), std::string::npos);
  EXPECT_NE(logs.find("\tBilled Duration: "), std::string::npos);
  EXPECT_NE(logs.find("\tMemory Size: 128 MB\tMax Memory Used: "), std::string::npos);
  // The function's own output is there too, and the cold REPORT is the first one.
  EXPECT_NE(logs.find("bootstrap starting pid"), std::string::npos) << logs;
  EXPECT_EQ(CountOf(logs, "handling "), 2) << logs;
  size_t first_report = logs.find("REPORT RequestId:");
  size_t first_report_end = logs.find('\n', first_report);
  EXPECT_NE(logs.substr(first_report, first_report_end - first_report).find("Init Duration"),
            std::string::npos);
  // The stdout line of an invocation comes before its END line.
  size_t handling = logs.find("handling ");
  std::string request_id = logs.substr(handling + 9, 36);
  EXPECT_LT(handling, logs.find("END RequestId: " + request_id)) << logs;
  // Logs of all versions.
  auto all = ReadFunctionLogs(settings().data_dir, "logged", 0, 1 << 20);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, logs);
}

TEST_F(RuntimeServiceTest, FunctionErrorCarriesTheErrorTypeAndDocument) {
  Start();
  service().Register(Config("errs", 1, TaskRoot("provided")));
  InvokeResult r = Invoke({"errs", 1}, R"({"action":"fail"})");
  EXPECT_EQ(r.outcome, InvokeOutcome::kFunctionError);
  EXPECT_EQ(r.error_type, "Function.Custom");
  EXPECT_NE(r.payload.find(R"("errorType":"CustomError")"), std::string::npos) << r.payload;
  // The instance survives a function error.
  EXPECT_EQ(Invoke({"errs", 1}, R"({"action":"echo"})").outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(service().Stats({"errs", 1}).restarts, 0);
}

TEST_F(RuntimeServiceTest, TimeoutKillsTheInstanceAndTheNextInvokeGetsANewOne) {
  Start();
  InstanceConfig config = Config("slow", 1, TaskRoot("provided"));
  config.timeout_ms = 1000;  // room for the bash bootstrap on a loaded machine
  service().Register(config);
  VersionKey key{"slow", 1};
  ASSERT_EQ(Invoke(key, R"({"action":"echo"})").outcome, InvokeOutcome::kSuccess);

  InvokeResult r = Invoke(key, R"({"action":"sleep"})");
  EXPECT_EQ(r.outcome, InvokeOutcome::kTimeout);
  EXPECT_EQ(r.error_type, "Sandbox.Timedout");
  EXPECT_NE(r.payload.find("Task timed out after 1.00 seconds"), std::string::npos) << r.payload;
  EXPECT_GE(r.duration_ms, 990);
  EXPECT_LT(r.duration_ms, 5000);
  EXPECT_EQ(service().Stats(key).restarts, 1);
  EXPECT_EQ(service().Stats(key).instances, 0);

  InvokeResult next = Invoke(key, R"({"action":"echo"})");
  EXPECT_EQ(next.outcome, InvokeOutcome::kSuccess) << next.payload;
  EXPECT_GT(next.init_duration_ms, 0);  // a fresh instance
  EXPECT_EQ(service().Stats(key).instances, 1);
  EXPECT_EQ(service().Stats(key).restarts, 1);
  EXPECT_TRUE(LogsContain("slow", "Task timed out after 1.00 seconds"));
  EXPECT_TRUE(LogsContain("slow", "\tStatus: timeout"));
  // The whole process group was killed, the bootstrap's child too.
  ASSERT_TRUE(LogsContain("slow", "child pid "));
  int child = ChildPid("slow");
  ASSERT_GT(child, 0);
  EXPECT_TRUE(TickUntil([&] { return procfs::Ended(child); })) << child;
}

TEST_F(RuntimeServiceTest, CrashFailsOnlyThatInvocationThenRecovers) {
  Start();
  service().Register(Config("crashy", 1, TaskRoot("provided")));
  VersionKey key{"crashy", 1};
  ASSERT_EQ(Invoke(key, R"({"action":"echo"})").outcome, InvokeOutcome::kSuccess);

  InvokeResult r = Invoke(key, R"({"action":"crash"})");
  EXPECT_EQ(r.outcome, InvokeOutcome::kCrashed);
  EXPECT_EQ(r.error_type, "Runtime.ExitError");
  EXPECT_NE(r.payload.find("Runtime exited with error: exit status 3"), std::string::npos)
      << r.payload;
  EXPECT_EQ(service().Stats(key).restarts, 1);

  InvokeResult next = Invoke(key, R"({"action":"echo"})");
  EXPECT_EQ(next.outcome, InvokeOutcome::kSuccess) << next.payload;
  EXPECT_GT(next.init_duration_ms, 0);
  EXPECT_TRUE(LogsContain("crashy", "crashing now"));
  EXPECT_TRUE(LogsContain("crashy", "Error: Runtime exited with error: exit status 3"));
  // What the crashed bootstrap left running in its group was killed.
  int child = ChildPid("crashy");
  ASSERT_GT(child, 0);
  EXPECT_TRUE(TickUntil([&] { return procfs::Ended(child); })) << child;
}

TEST_F(RuntimeServiceTest, MissingBootstrapIsAnInitErrorWithTheReasonLogged) {
  Start();
  std::filesystem::path empty = dir() / "empty-task";
  std::filesystem::create_directories(empty);
  service().Register(Config("nobootstrap", 1, empty));
  InvokeResult r = Invoke({"nobootstrap", 1}, "{}");
  EXPECT_EQ(r.outcome, InvokeOutcome::kInitError);
  EXPECT_EQ(r.error_type, "Runtime.InvalidEntrypoint");
  EXPECT_NE(r.payload.find("Couldn't find valid bootstrap"), std::string::npos) << r.payload;
  EXPECT_TRUE(LogsContain("nobootstrap", "Couldn't find valid bootstrap"));
  EXPECT_EQ(service().Stats({"nobootstrap", 1}).instances, 0);
}

TEST_F(RuntimeServiceTest, NonExecutableBootstrapIsAnInitError) {
  Start();
  std::filesystem::path root = dir() / "noexec-task";
  std::filesystem::create_directories(root);
  std::ofstream(root / "bootstrap") << "#!/bin/sh\necho hi\n";
  std::filesystem::permissions(
      root / "bootstrap", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  service().Register(Config("noexec", 1, root));
  InvokeResult r = Invoke({"noexec", 1}, "{}");
  EXPECT_EQ(r.outcome, InvokeOutcome::kInitError);
  EXPECT_EQ(r.error_type, "Runtime.InvalidEntrypoint");
  EXPECT_NE(r.payload.find("permission denied"), std::string::npos) << r.payload;
}

TEST_F(RuntimeServiceTest, InitErrorFailsTheWaitingAndTheQueuedInvocations) {
  Start();
  InstanceConfig config = Config("badinit", 1, TaskRoot("init_error"));
  config.max_concurrency = 1;
  service().Register(config);
  VersionKey key{"badinit", 1};
  auto a = InvokeAsync(key, "{}");
  auto b = InvokeAsync(key, "{}");
  auto c = InvokeAsync(key, "{}");
  for (auto* f : {&a, &b, &c}) {
    InvokeResult r = Await(*f);
    EXPECT_EQ(r.outcome, InvokeOutcome::kInitError) << r.payload;
    EXPECT_EQ(r.error_type, "Runtime.ConfigInvalid");
  }
  EXPECT_TRUE(LogsContain("badinit", "init failing: missing config"));
  EXPECT_TRUE(LogsContain("badinit", "Status: error\tError Type: Runtime.ConfigInvalid"));
  EXPECT_TRUE(TickUntil([&] { return service().Stats(key).instances == 0; }));
}

TEST_F(RuntimeServiceTest, InitTimeoutIsAnInitError) {
  settings().init_timeout = std::chrono::milliseconds(300);
  Start();
  service().Register(Config("slowinit", 1, TaskRoot("slow_init")));
  InvokeResult r = Invoke({"slowinit", 1}, "{}");
  EXPECT_EQ(r.outcome, InvokeOutcome::kInitError);
  EXPECT_EQ(r.error_type, "Sandbox.Timedout");
  EXPECT_TRUE(LogsContain("slowinit", "Phase: init\tStatus: timeout"));
}

TEST_F(RuntimeServiceTest, ThrottlesWhenInstancesAndQueueAreFull) {
  Start();
  InstanceConfig config = Config("narrow", 1, TaskRoot("provided"));
  config.max_concurrency = 1;
  config.max_queue = 1;
  service().Register(config);
  VersionKey key{"narrow", 1};
  std::filesystem::path release = dir() / "release";
  std::string hold = R"({"action":"hold","file":")" + release.string() + R"("})";

  auto running = InvokeAsync(key, hold);
  auto queued = InvokeAsync(key, hold);
  InvokeResult throttled = Invoke(key, hold);
  EXPECT_EQ(throttled.outcome, InvokeOutcome::kThrottled);
  EXPECT_EQ(throttled.error_type, "TooManyRequestsException");
  PoolStats stats = service().Stats(key);
  EXPECT_EQ(stats.instances, 1);
  EXPECT_EQ(stats.busy, 1);
  EXPECT_EQ(stats.queued, 1);

  std::ofstream(release) << "go";
  EXPECT_EQ(Await(running).outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(Await(queued).outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(service().Stats(key).queued, 0);
}

TEST_F(RuntimeServiceTest, RunsUpToMaxConcurrencyInstancesInParallel) {
  Start();
  InstanceConfig config = Config("wide", 1, TaskRoot("provided"));
  config.max_concurrency = 3;
  service().Register(config);
  VersionKey key{"wide", 1};
  std::filesystem::path release = dir() / "release";
  std::string hold = R"({"action":"hold","file":")" + release.string() + R"("})";
  std::vector<std::future<InvokeResult>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(InvokeAsync(key, hold));
  PoolStats stats = service().Stats(key);
  EXPECT_EQ(stats.instances, 3);
  EXPECT_EQ(stats.busy, 3);
  EXPECT_EQ(stats.queued, 2);
  std::ofstream(release) << "go";
  for (auto& f : futures) EXPECT_EQ(Await(f).outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(service().Stats(key).instances, 3);
}

// The gateway calls Invoke on its worker's thread. The instance that serves it should have its
// Runtime API on that worker's context: no hand-off between threads, and with pinned workers one
// core. The result comes back on the thread of the instance's context, which is what this sees.
TEST_F(RuntimeServiceTest, AnInvocationFromAWorkerRunsOnAnInstanceOfThatWorkersContext) {
  Start();
  service().Register(Config("near", 1, TaskRoot("provided")));
  VersionKey key{"near", 1};
  auto invoke_from = [&](size_t k) {
    auto promise = std::make_shared<std::promise<std::pair<InvokeResult, bool>>>();
    auto future = promise->get_future();
    boost::asio::post(context(k), [this, key, k, promise] {
      Invocation inv;
      inv.payload = R"({"action":"echo"})";
      service().Invoke(key, std::move(inv), [this, k, promise](InvokeResult r) {
        bool on_k = context(k).get_executor().running_in_this_thread();
        promise->set_value({std::move(r), on_k});
      });
    });
    EXPECT_EQ(future.wait_for(kDeadline), std::future_status::ready);
    return future.get();
  };

  // The cold start from context 1 places the instance there (round-robin would pick context 0).
  auto [cold, cold_on_1] = invoke_from(1);
  ASSERT_EQ(cold.outcome, InvokeOutcome::kSuccess) << cold.payload;
  EXPECT_GT(cold.init_duration_ms, 0);
  EXPECT_TRUE(cold_on_1);

  // A second instance, placed round-robin from the test's thread: context 0.
  ASSERT_TRUE(service().Prewarm(key, 2).ok());
  EXPECT_TRUE(LogsContain("near", "bootstrap starting pid", 2));
  // Alternating callers each get their own context's instance, not the most recently used one.
  for (int round = 0; round < 4; ++round) {
    for (size_t k : {size_t{0}, size_t{1}}) {
      auto [result, on_k] = invoke_from(k);
      ASSERT_EQ(result.outcome, InvokeOutcome::kSuccess) << result.payload;
      EXPECT_TRUE(on_k) << "round " << round << ", context " << k;
    }
  }
  EXPECT_EQ(service().Stats(key).instances, 2);
}

TEST_F(RuntimeServiceTest, PrewarmStartsInstancesCappedAtMaxConcurrency) {
  Start();
  InstanceConfig config = Config("warm", 1, TaskRoot("provided"));
  config.max_concurrency = 4;
  service().Register(config);
  VersionKey key{"warm", 1};
  ASSERT_TRUE(service().Prewarm(key, 3).ok());
  EXPECT_EQ(service().Stats(key).instances, 3);
  EXPECT_TRUE(LogsContain("warm", "bootstrap starting pid", 3));
  ASSERT_TRUE(service().Prewarm(key, 10).ok());
  EXPECT_EQ(service().Stats(key).instances, 4);
  EXPECT_TRUE(LogsContain("warm", "bootstrap starting pid", 4));
  EXPECT_EQ(service().Prewarm({"nope", 1}, 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(Invoke(key, "{}").outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(service().Stats(key).instances, 4);
}

TEST_F(RuntimeServiceTest, StopsIdleInstancesAfterTheIdleTimeout) {
  FakeClock clock;
  settings().clock = &clock;
  settings().idle_timeout = std::chrono::minutes(5);
  Start();
  service().Register(Config("idle", 1, TaskRoot("provided")));
  VersionKey key{"idle", 1};
  ASSERT_EQ(Invoke(key, "{}").outcome, InvokeOutcome::kSuccess);
  service().Tick();
  EXPECT_EQ(service().Stats(key).instances, 1);

  clock.Advance(std::chrono::minutes(4));
  service().Tick();
  EXPECT_EQ(service().Stats(key).instances, 1);

  clock.Advance(std::chrono::minutes(2));
  service().Tick();
  EXPECT_EQ(service().Stats(key).instances, 0);
  EXPECT_EQ(service().Stats(key).restarts, 0);  // an idle stop is not a restart

  InvokeResult again = Invoke(key, "{}");
  EXPECT_EQ(again.outcome, InvokeOutcome::kSuccess);
  EXPECT_GT(again.init_duration_ms, 0);
  EXPECT_EQ(service().Stats(key).cold_starts, 2);
}

TEST_F(RuntimeServiceTest, InstanceSeesLambdaEnvironmentAndHeaders) {
  Start();
  InstanceConfig config = Config("envfn", 7, TaskRoot("provided"));
  config.handler = "function.handler";
  config.memory_mb = 256;
  config.region = "eu-west-1";
  config.environment = {{"MY_SETTING", "hello"}, {"AWS_REGION", "evil"}, {"LANG", "C.UTF-8"}};
  service().Register(config);

  Invocation inv;
  inv.payload = R"({"action":"env"})";
  inv.request_id = "11111111-2222-4333-8444-555555555555";
  inv.invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:envfn:Live";
  inv.client_context = R"({"custom":{"k":"v"}})";
  std::promise<InvokeResult> p;
  auto f = p.get_future();
  int64_t before_ms = ToEpochMillis(std::chrono::system_clock::now());
  service().Invoke({"envfn", 7}, inv, [&p](InvokeResult r) { p.set_value(std::move(r)); });
  InvokeResult r = Await(f);
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload;

  auto env = ParseLines(r.payload, '=');
  EXPECT_EQ(env["_HANDLER"], "function.handler");
  EXPECT_EQ(env["AWS_REGION"], "eu-west-1");  // reserved: the function cannot override it
  EXPECT_EQ(env["AWS_DEFAULT_REGION"], "eu-west-1");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "envfn");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"], "7");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
  EXPECT_EQ(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
  EXPECT_EQ(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/envfn");
  EXPECT_NE(env["AWS_LAMBDA_LOG_STREAM_NAME"].find("/[7]"), std::string::npos);
  EXPECT_EQ(env["AWS_LAMBDA_RUNTIME_API"].rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(env["LAMBDA_TASK_ROOT"], config.task_root.string());
  EXPECT_FALSE(env["AWS_ACCESS_KEY_ID"].empty());
  EXPECT_FALSE(env["AWS_SECRET_ACCESS_KEY"].empty());
  EXPECT_FALSE(env["AWS_SESSION_TOKEN"].empty());
  EXPECT_EQ(env["TZ"], ":UTC");
  EXPECT_EQ(env["LANG"], "C.UTF-8");  // unreserved: the function may override it
  EXPECT_EQ(env["MY_SETTING"], "hello");
  EXPECT_EQ(env.count("AWS_EXECUTION_ENV"), 0u);  // not for provided runtimes
  EXPECT_NE(env["PATH"].find("/opt/bin"), std::string::npos);
  EXPECT_EQ(env["PWD_IS"], config.task_root.string());

  auto headers = ParseLines(r.payload, ':');
  EXPECT_EQ(headers["Lambda-Runtime-Aws-Request-Id"], inv.request_id);
  EXPECT_EQ(headers["Lambda-Runtime-Invoked-Function-Arn"], inv.invoked_function_arn);
  EXPECT_EQ(headers["Lambda-Runtime-Client-Context"], inv.client_context);
  EXPECT_EQ(headers["Lambda-Runtime-Trace-Id"].rfind("Root=1-", 0), 0u);
  EXPECT_EQ(headers["Content-Type"], "application/json");
  int64_t deadline = std::stoll(headers["Lambda-Runtime-Deadline-Ms"]);
  EXPECT_GE(deadline, before_ms + config.timeout_ms - 1000);
  EXPECT_LE(deadline, before_ms + config.timeout_ms + 5000);
}

TEST_F(RuntimeServiceTest, PayloadLimits) {
  Start();
  service().Register(Config("limits", 1, TaskRoot("provided")));
  VersionKey key{"limits", 1};
  InvokeResult big_request = Invoke(key, std::string(7 * 1024 * 1024, 'x'));
  EXPECT_EQ(big_request.outcome, InvokeOutcome::kRequestTooLarge);

  InvokeResult big_response = Invoke(key, R"({"action":"big"})");
  EXPECT_EQ(big_response.outcome, InvokeOutcome::kResponseTooLarge);
  EXPECT_EQ(big_response.error_type, "Function.ResponseSizeTooLarge");
  // The instance carries on.
  EXPECT_EQ(Invoke(key, R"({"action":"echo"})").outcome, InvokeOutcome::kSuccess);
}

TEST_F(RuntimeServiceTest, UnknownAndRetiredVersionsAreNotFound) {
  Start();
  EXPECT_EQ(Invoke({"ghost", 1}, "{}").outcome, InvokeOutcome::kNotFound);
  service().Register(Config("gone", 1, TaskRoot("provided")));
  VersionKey key{"gone", 1};
  ASSERT_EQ(Invoke(key, "{}").outcome, InvokeOutcome::kSuccess);
  service().Register(Config("gone", 1, TaskRoot("provided")));  // idempotent: keeps the instance
  EXPECT_EQ(service().Stats(key).instances, 1);
  service().Retire(key);
  EXPECT_EQ(Invoke(key, "{}").outcome, InvokeOutcome::kNotFound);
  EXPECT_EQ(service().Stats(key).instances, 0);
  service().Tick();  // reaps the retired pool's instance eventually
}

// What TakeConcurrency says about one version (entries of the same key add up), or -1 when the
// version is not listed.
int PeakOf(const std::vector<VersionConcurrency>& all, const VersionKey& key) {
  int peak = -1;
  for (const VersionConcurrency& v : all) {
    if (v.key == key) peak = std::max(peak, 0) + v.peak;
  }
  return peak;
}

TEST_F(RuntimeServiceTest, ConcurrencyIsThePeakOfExecutingInvocationsSinceTheLastTake) {
  Start();
  InstanceConfig config = Config("conc", 1, TaskRoot("provided"));
  config.max_concurrency = 3;
  service().Register(config);
  service().Register(Config("idle", 1, TaskRoot("provided")));
  VersionKey key{"conc", 1};
  std::filesystem::path release = dir() / "release";
  std::string hold = R"({"action":"hold","file":")" + release.string() + R"("})";

  std::vector<std::future<InvokeResult>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(InvokeAsync(key, hold));
  // Three instances cold-starting for their invocations execute; the two queued ones do not.
  std::vector<VersionConcurrency> first = service().TakeConcurrency();
  EXPECT_EQ(PeakOf(first, key), 3);
  EXPECT_EQ(PeakOf(first, {"idle", 1}), 0);
  EXPECT_EQ(service().Stats(key).busy, 3);

  std::ofstream(release) << "go";
  for (auto& f : futures) EXPECT_EQ(Await(f).outcome, InvokeOutcome::kSuccess);
  // Nothing executes now, but the period since the last take peaked at 3; the next one starts at 0.
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 3);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 0);

  // One short invocation between two takes is seen.
  ASSERT_EQ(Invoke(key, R"({"action":"echo"})").outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 1);

  // A crash ends the execution too.
  EXPECT_EQ(Invoke(key, R"({"action":"crash"})").outcome, InvokeOutcome::kCrashed);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 1);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 0);
  EXPECT_EQ(service().Stats(key).busy, 0);
}

TEST_F(RuntimeServiceTest, ConcurrencyEndsWithInitErrorsAndCountsRetiredVersionsDraining) {
  Start();
  std::filesystem::path empty = dir() / "empty-task";
  std::filesystem::create_directories(empty);
  service().Register(Config("broken", 1, empty));
  EXPECT_EQ(Invoke({"broken", 1}, "{}").outcome, InvokeOutcome::kInitError);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), {"broken", 1}), 1);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), {"broken", 1}), 0);

  service().Register(Config("old", 1, TaskRoot("provided")));
  VersionKey key{"old", 1};
  std::filesystem::path release = dir() / "release-old";
  auto running = InvokeAsync(key, R"({"action":"hold","file":")" + release.string() + R"("})");
  ASSERT_TRUE(TickUntil([&] { return service().Stats(key).busy == 1; }));
  service().Retire(key);
  // Retired, still executing what it had: still counted.
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 1);
  std::ofstream(release) << "go";
  EXPECT_EQ(Await(running).outcome, InvokeOutcome::kSuccess);
  EXPECT_TRUE(TickUntil([&] { return PeakOf(service().TakeConcurrency(), key) <= 0; }));
}

// ---- php-fpm (FpmPool) ----------------------------------------------------------------------

TEST_F(RuntimeServiceTest, EveryOutputLineReachesTheHookWithItsVersion) {
  const std::string stdout_emf =
      R"({"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"shop",)"
      R"("Dimensions":[["service"]],"Metrics":[{"Name":"Orders","Unit":"Count"}]}]},)"
      R"("service":"checkout","Orders":3})";
  const std::string stderr_emf =
      R"({"_aws":{"CloudWatchMetrics":[{"Namespace":"shop","Dimensions":[[]],)"
      R"("Metrics":[{"Name":"Errors"}]}]},"Errors":1})";
  // Shared with the hook, which runs until TearDown has shut the service down.
  auto collector = std::make_shared<LineCollector>();
  auto stats_calls = std::make_shared<std::atomic<int>>(0);
  settings().on_function_line = [this, collector, stats_calls](const VersionKey& key,
                                                               std::string_view line) {
    collector->Add(key, line);
    // No pool lock is held here: asking the pool for its stats must not deadlock.
    service().Stats(key);
    ++*stats_calls;
  };
  const LineCollector& lines = *collector;
  Start();
  service().Register(Config("emf", 1, TaskRoot("provided")));
  service().Register(Config("emf", 2, TaskRoot("provided")));
  InvokeResult r1 = Invoke({"emf", 1}, R"({"action":"echo"})");
  ASSERT_EQ(r1.outcome, InvokeOutcome::kSuccess) << r1.payload;
  InvokeResult r2 = Invoke({"emf", 2}, R"({"action":"emf"})");
  ASSERT_EQ(r2.outcome, InvokeOutcome::kSuccess) << r2.payload;

  // Output written before /response is drained then, so the hook has seen it already; polling
  // anyway keeps the test independent of that.
  ASSERT_TRUE(TickUntil([&] {
    return !lines.KeysOf(stdout_emf).empty() && !lines.KeysOf(stderr_emf).empty();
  })) << lines.Dump();
  const VersionKey v2{"emf", 2};
  EXPECT_EQ(lines.KeysOf(stdout_emf), std::vector<VersionKey>{v2}) << lines.Dump();
  EXPECT_EQ(lines.KeysOf(stderr_emf), std::vector<VersionKey>{v2}) << lines.Dump();
  // Ordinary lines too, each under the version that wrote it, without the newline.
  EXPECT_EQ(CountOf(lines.Dump(), "emf:1 bootstrap starting pid"), 1) << lines.Dump();
  EXPECT_EQ(CountOf(lines.Dump(), "emf:2 bootstrap starting pid"), 1) << lines.Dump();
  EXPECT_FALSE(lines.AnyContains("\n"));
  EXPECT_GT(stats_calls->load(), 0);
  // The log is unchanged by the hook: the lines are there as before.
  EXPECT_TRUE(LogsContain("emf", stdout_emf));
  EXPECT_TRUE(LogsContain("emf", stderr_emf));
}

class FpmServiceTest : public RuntimeServiceTest {
 protected:
  InstanceConfig FpmConfig(const std::string& name) {
    InstanceConfig c = Config(name, 1, TaskRoot("fastcgi"), RuntimeFamily::kPhpFpm);
    c.handler = "app.php";
    c.max_concurrency = 2;
    return c;
  }
};

TEST_F(FpmServiceTest, PhpFpmMissingBinaryIsAnInitError) {
  settings().php_fpm = dir() / "no-such-php-fpm";
  Start();
  service().Register(FpmConfig("fpm"));
  EXPECT_TRUE(service().TakesHttp({"fpm", 1}));
  InvokeResult r = Invoke({"fpm", 1}, R"({"httpMethod":"GET","path":"/echo"})");
  EXPECT_EQ(r.outcome, InvokeOutcome::kInitError);
  EXPECT_EQ(r.error_type, "Runtime.InvalidEntrypoint");
  EXPECT_TRUE(LogsContain("fpm", "php-fpm could not start"));
}

TEST_F(FpmServiceTest, PhpFpmExitingWhileStartingIsAnInitError) {
  settings().php_fpm = "/bin/false";
  Start();
  service().Register(FpmConfig("fpm"));
  InvokeResult r = Invoke({"fpm", 1}, R"({"httpMethod":"GET","path":"/echo"})");
  EXPECT_EQ(r.outcome, InvokeOutcome::kInitError);
  EXPECT_EQ(r.error_type, "Runtime.ExitError");
  EXPECT_TRUE(LogsContain("fpm", "php-fpm exited while starting"));
}

TEST_F(FpmServiceTest, PhpFpmServesEventsAndStopsWhenIdle) {
  if (!std::filesystem::exists(settings().php_fpm)) GTEST_SKIP() << "php-fpm8.2 not installed";
  FakeClock clock;
  settings().clock = &clock;
  settings().idle_timeout = std::chrono::minutes(5);
  Start();
  service().Register(FpmConfig("fpm"));
  VersionKey key{"fpm", 1};
  EXPECT_FALSE(service().TakesHttp({"fpm", 2}));
  InvokeResult r =
      Invoke(key, R"({"httpMethod":"GET","path":"/echo","queryStringParameters":{"a":"1"}})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload;
  EXPECT_GT(r.init_duration_ms, 0);
  EXPECT_NE(r.payload.find(R"(\"a\":\"1\")"), std::string::npos) << r.payload;
  EXPECT_EQ(service().Stats(key).instances, 2);
  EXPECT_EQ(service().Stats(key).cold_starts, 1);
  // Warm: no init duration.
  EXPECT_EQ(Invoke(key, R"({"httpMethod":"GET","path":"/echo"})").init_duration_ms, 0);
  clock.Advance(std::chrono::minutes(6));
  EXPECT_TRUE(TickUntil([&] { return service().Stats(key).instances == 0; }));
  EXPECT_TRUE(LogsContain("fpm", "php-fpm stopped after 300 s idle"));
  // The next request starts it again.
  EXPECT_EQ(Invoke(key, R"({"httpMethod":"GET","path":"/echo"})").outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(service().Stats(key).restarts, 0);
}

TEST_F(FpmServiceTest, PhpFpmConcurrencyCountsStartingRequestsUpToItsChildren) {
  if (!std::filesystem::exists(settings().php_fpm)) GTEST_SKIP() << "php-fpm8.2 not installed";
  Start();
  service().Register(FpmConfig("fpm"));  // two children
  VersionKey key{"fpm", 1};
  const std::string slow =
      R"({"httpMethod":"GET","path":"/slow","queryStringParameters":{"ms":"1500"}})";
  std::vector<std::future<InvokeResult>> futures;
  for (int i = 0; i < 3; ++i) futures.push_back(InvokeAsync(key, slow));
  // php-fpm is starting for all three (a cold start each), but two children run at once: the
  // third waits for a FastCGI connection, which is queueing.
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 2);
  for (auto& f : futures) EXPECT_EQ(Await(f).outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 2);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 0);
  ASSERT_EQ(Invoke(key, R"({"httpMethod":"GET","path":"/echo"})").outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ(PeakOf(service().TakeConcurrency(), key), 1);
}

TEST_F(FpmServiceTest, PhpFpmErrorLogLinesReachTheHook) {
  if (!std::filesystem::exists(settings().php_fpm)) GTEST_SKIP() << "php-fpm8.2 not installed";
  const std::string emf = R"({"_aws":{"CloudWatchMetrics":[{"Namespace":"php","Dimensions":[[]],)"
                          R"("Metrics":[{"Name":"Renders","Unit":"Count"}]}]},"Renders":1})";
  auto collector = std::make_shared<LineCollector>();
  settings().on_function_line = [collector](const VersionKey& key, std::string_view line) {
    collector->Add(key, line);
  };
  const LineCollector& lines = *collector;
  Start();
  service().Register(FpmConfig("fpm"));
  InvokeResult r = Invoke({"fpm", 1}, R"({"httpMethod":"GET","path":"/emf"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload;
  EXPECT_NE(r.payload.find("measured"), std::string::npos) << r.payload;
  // FCGI_STDERR lines are handed over before the result is, without php-fpm's "PHP message: ".
  EXPECT_EQ(lines.KeysOf(emf), (std::vector<VersionKey>{{"fpm", 1}})) << lines.Dump();
  EXPECT_TRUE(LogsContain("fpm", "PHP message: " + emf));
  // What a worker writes to its stderr (Monolog's php://stderr) arrives through php-fpm's own
  // output.
  const std::string streamed =
      R"({"_aws":{"CloudWatchMetrics":[{"Namespace":"php","Dimensions":[[]],)"
      R"("Metrics":[{"Name":"Streamed"}]}]},"Streamed":2})";
  r = Invoke({"fpm", 1}, R"({"httpMethod":"GET","path":"/emf-stderr"})");
  ASSERT_EQ(r.outcome, InvokeOutcome::kSuccess) << r.payload;
  EXPECT_TRUE(TickUntil([&] { return lines.AnyContains(streamed); })) << lines.Dump();
  EXPECT_TRUE(LogsContain("fpm", streamed));
}

TEST_F(RuntimeServiceTest, ShutdownAnswersInFlightInvocationsOnce) {
  Start();
  service().Register(Config("busy", 1, TaskRoot("provided")));
  VersionKey key{"busy", 1};
  auto f = InvokeAsync(key, R"({"action":"sleep"})");
  ASSERT_TRUE(TickUntil([&] { return service().Stats(key).busy == 1; }));
  ASSERT_TRUE(LogsContain("busy", "handling "));
  service().Shutdown();
  InvokeResult r = Await(f);
  EXPECT_EQ(r.outcome, InvokeOutcome::kCrashed);
  EXPECT_EQ(Invoke(key, "{}").outcome, InvokeOutcome::kNotFound);
}

}  // namespace
}  // namespace cutover::runtime
