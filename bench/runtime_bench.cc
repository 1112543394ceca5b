// The cost of one invocation over the Runtime API: RuntimeService::Invoke → the compiled echo
// bootstrap (/next, /response) → the callback, with one warm instance. This is the latency the
// Runtime API path adds to every request, on top of the gateway's HTTP handling.
//
// Two shapes:
//  * BM_RuntimeApiRoundTrip: Invoke from the benchmark thread, wait for the callback on a future.
//    Includes two thread hand-offs (to the io thread and back), as a caller on another thread pays.
//  * BM_RuntimeApiRoundTripOnIoThread: invocations chained on the io thread itself, the next one
//    started from the callback of the previous one, as a gateway worker whose instance lives on its
//    own io_context sees it. Reported as `invocation_time` (seconds per invocation).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "runtime/runtime_service.h"

namespace fs = std::filesystem;
using namespace cutover;

namespace {

// One RuntimeService with one warm echo instance, on one io thread.
class EchoFixture {
 public:
  EchoFixture() {
    root_ = fs::temp_directory_path() / ("cutover-runtime-bench-" + std::to_string(getpid()));
    fs::create_directories(root_ / "code");
    fs::copy_file(fs::path(CUTOVER_BINARY_DIR) / "bench/fixtures/echo_bootstrap",
                  root_ / "code/bootstrap", fs::copy_options::overwrite_existing);
    io_ = std::thread([this] { ctx_.run(); });

    runtime::RuntimeSettings settings;
    settings.data_dir = root_ / "data";
    settings.contexts = {&ctx_};
    rt_ = runtime::CreateRuntimeService(settings);
    config_.key = {"bench-echo", 1};
    config_.family = runtime::RuntimeFamily::kProvided;
    config_.runtime_name = "provided.al2";
    config_.handler = "bootstrap";
    config_.task_root = root_ / "code";
    config_.max_concurrency = 1;
    rt_->Register(config_);
  }

  ~EchoFixture() {
    rt_->Shutdown();
    guard_.reset();
    ctx_.stop();
    io_.join();
    fs::remove_all(root_);
  }

  void Invoke(std::function<void(runtime::InvokeResult)> done) {
    runtime::Invocation invocation;
    invocation.request_id = "bench";  // invocations are sequential, so one id serves them all
    invocation.payload = R"({"path":"/echo"})";
    invocation.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench-echo:1";
    rt_->Invoke(config_.key, std::move(invocation), std::move(done));
  }

  runtime::InvokeResult InvokeAndWait() {
    std::promise<runtime::InvokeResult> done;
    auto f = done.get_future();
    Invoke([&](runtime::InvokeResult r) { done.set_value(std::move(r)); });
    return f.get();
  }

  boost::asio::io_context& ctx() { return ctx_; }

 private:
  fs::path root_;
  boost::asio::io_context ctx_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(ctx_);
  std::thread io_;
  std::unique_ptr<runtime::RuntimeService> rt_;
  runtime::InstanceConfig config_;
};

void BM_RuntimeApiRoundTrip(benchmark::State& state) {
  EchoFixture echo;
  if (echo.InvokeAndWait().outcome != runtime::InvokeOutcome::kSuccess) {  // cold start
    state.SkipWithError("echo bootstrap did not answer");
    return;
  }
  for (auto _ : state) {
    auto r = echo.InvokeAndWait();
    benchmark::DoNotOptimize(r.payload.data());
  }
}
BENCHMARK(BM_RuntimeApiRoundTrip)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(2.0);

void BM_RuntimeApiRoundTripOnIoThread(benchmark::State& state) {
  constexpr int kChain = 100;  // invocations per iteration, back to back on the io thread
  EchoFixture echo;
  if (echo.InvokeAndWait().outcome != runtime::InvokeOutcome::kSuccess) {  // cold start
    state.SkipWithError("echo bootstrap did not answer");
    return;
  }
  for (auto _ : state) {
    std::promise<bool> done;
    int left = kChain;
    bool ok = true;
    std::function<void()> next = [&] {
      echo.Invoke([&](runtime::InvokeResult r) {
        ok = ok && r.outcome == runtime::InvokeOutcome::kSuccess;
        if (--left == 0) {
          done.set_value(ok);
        } else {
          next();
        }
      });
    };
    boost::asio::post(echo.ctx(), next);
    if (!done.get_future().get()) {
      state.SkipWithError("an invocation failed");
      break;
    }
  }
  state.counters["invocation_time"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kChain,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RuntimeApiRoundTripOnIoThread)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
