// The cost of one invocation over the Runtime API: RuntimeService::Invoke → the compiled echo
// bootstrap
// (/next, /response) → the callback, with one warm instance. This is the latency the Runtime API
// path adds to every request, on top of the gateway's HTTP handling.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "runtime/runtime_service.h"

namespace fs = std::filesystem;
using namespace cutover;

static void BM_RuntimeApiRoundTrip(benchmark::State& state) {
  fs::path root = fs::temp_directory_path() / ("cutover-runtime-bench-" + std::to_string(getpid()));
  fs::create_directories(root / "code");
  fs::copy_file(fs::path(CUTOVER_BINARY_DIR) / "bench/fixtures/echo_bootstrap",
                root / "code/bootstrap", fs::copy_options::overwrite_existing);

  boost::asio::io_context ctx(1);
  auto guard = boost::asio::make_work_guard(ctx);
  std::thread io([&] { ctx.run(); });

  runtime::RuntimeSettings settings;
  settings.data_dir = root / "data";
  settings.contexts = {&ctx};
  auto rt = runtime::CreateRuntimeService(settings);
  runtime::InstanceConfig config;
  config.key = {"bench-echo", 1};
  config.family = runtime::RuntimeFamily::kProvided;
  config.runtime_name = "provided.al2";
  config.handler = "bootstrap";
  config.task_root = root / "code";
  config.max_concurrency = 1;
  rt->Register(config);

  auto invoke_once = [&] {
    std::promise<runtime::InvokeResult> done;
    auto f = done.get_future();
    rt->Invoke(config.key, runtime::Invocation{"bench", R"({"path":"/echo"})", "arn", ""},
               [&](runtime::InvokeResult r) { done.set_value(std::move(r)); });
    return f.get();
  };
  if (invoke_once().outcome != runtime::InvokeOutcome::kSuccess) {  // cold start, not measured
    state.SkipWithError("echo bootstrap did not answer");
  }
  for (auto _ : state) {
    auto r = invoke_once();
    benchmark::DoNotOptimize(r.payload.data());
  }
  rt->Shutdown();
  guard.reset();
  ctx.stop();
  io.join();
  fs::remove_all(root);
}
BENCHMARK(BM_RuntimeApiRoundTrip)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(2.0);

BENCHMARK_MAIN();
