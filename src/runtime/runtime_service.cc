// RuntimeService: the map from VersionKey to VersionPool (InstancePool or FpmPool), and the service's lifecycle.
//
// The invoke path takes no lock of its own: the map is an immutable snapshot, republished (copy on
// write) by Register and Retire, and each thread keeps the last snapshot it saw, revalidated with
// one atomic load per call. All further work happens under the pool's own mutex.
#include "runtime/runtime_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <thread>

#include "runtime/fpm_pool.h"
#include "runtime/instance_pool.h"
#include "runtime/php_function_bootstrap_embed.h"
#include "runtime/python_bootstrap_embed.h"
#include "runtime/thread_annotations.h"

namespace cutover::runtime {

std::string_view InvokeOutcomeName(InvokeOutcome outcome) {
  switch (outcome) {
    case InvokeOutcome::kSuccess:
      return "Success";
    case InvokeOutcome::kFunctionError:
      return "FunctionError";
    case InvokeOutcome::kTimeout:
      return "Timeout";
    case InvokeOutcome::kCrashed:
      return "Crashed";
    case InvokeOutcome::kInitError:
      return "InitError";
    case InvokeOutcome::kThrottled:
      return "Throttled";
    case InvokeOutcome::kResponseTooLarge:
      return "ResponseTooLarge";
    case InvokeOutcome::kRequestTooLarge:
      return "RequestTooLarge";
    case InvokeOutcome::kNotFound:
      return "NotFound";
  }
  return "Unknown";
}

void VersionPool::InvokeHttp(HttpInvocation, HttpCallback done) {
  HttpResult r;
  r.outcome = InvokeOutcome::kNotFound;
  r.error_type = "ResourceNotFoundException";
  r.message = "this version's runtime does not take HTTP requests directly";
  r.executed_version = config().key.version;
  done(std::move(r));
}

namespace {

using PoolMap = std::map<VersionKey, std::shared_ptr<VersionPool>>;

std::shared_ptr<VersionPool> CreatePool(const InstanceConfig& config,
                                        std::shared_ptr<PoolEnvironment> env) {
  if (config.family == RuntimeFamily::kPhpFpm) return FpmPool::Create(config, std::move(env));
  return InstancePool::Create(config, std::move(env));
}

// Generations are unique across every service in the process, so a thread's cached snapshot can
// never be mistaken for another service's.
uint64_t NextGeneration() {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

// Writes an embedded bootstrap (python, PHP function) unless the file already holds exactly it.
Status WriteBootstrap(const std::filesystem::path& path, std::string_view source) {
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::string existing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (existing == source) return Status::Ok();
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(source.data(), static_cast<std::streamsize>(source.size()));
    if (!out) return Internal(fmt::format("cannot write {}", tmp.string()));
  }
  // Readable by every user the instances may run as (--run-as), whatever the daemon's umask.
  std::filesystem::permissions(tmp, std::filesystem::perms(0644), ec);
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Internal(fmt::format("cannot write {}: {}", path.string(), ec.message()));
  return Status::Ok();
}

// Logs an error for each file the instances need that `user` cannot read (CanRead): those
// functions would fail at init with a bare "permission denied".
void CheckReadableBy(const UserAccount& user, const std::vector<std::filesystem::path>& paths) {
  for (const std::filesystem::path& p : paths) {
    std::error_code ec;
    if (p.empty() || !std::filesystem::exists(p, ec)) continue;
    if (!CanRead(user, p)) {
      spdlog::error(
          "runtime: --run-as {}: {} is not readable by uid {} (it and every directory above it "
          "must be); functions that need it will fail to start",
          user.name, p.string(), user.ids.uid);
    }
  }
}

class RuntimeServiceImpl final : public RuntimeService {
 public:
  explicit RuntimeServiceImpl(RuntimeSettings settings) {
    env_ = std::make_shared<PoolEnvironment>();
    env_->data_dir = settings.data_dir;
    env_->idle_timeout = settings.idle_timeout;
    env_->init_timeout = settings.init_timeout;
    env_->clock = settings.clock ? settings.clock : &env_->real_clock;
    env_->launcher = NewPosixProcessLauncher();
    env_->paths.node_ric_dir = settings.node_ric_dir;
    env_->paths.runtime_dir = settings.data_dir / "runtime";
    env_->paths.python_bootstrap = settings.python_bootstrap;
    env_->paths.php_cli = settings.php_cli;
    env_->paths.php_fpm = settings.php_fpm;
    if (env_->paths.python_bootstrap.empty()) {
      env_->paths.python_bootstrap = settings.data_dir / "runtime" / "python_bootstrap.py";
      if (Status st = WriteBootstrap(env_->paths.python_bootstrap, EmbeddedPythonBootstrap());
          !st.ok()) {
        spdlog::error("runtime: python functions cannot start: {}", st.ToString());
      }
    }
    env_->paths.php_function_bootstrap =
        settings.data_dir / "runtime" / "php_function_bootstrap.php";
    if (Status st =
            WriteBootstrap(env_->paths.php_function_bootstrap, EmbeddedPhpFunctionBootstrap());
        !st.ok()) {
      spdlog::error("runtime: PHP function runtimes cannot start: {}", st.ToString());
    }
    env_->limits.memory = settings.limit_memory;
    if (settings.limit_memory) env_->limits.cgroups = settings.memory_cgroups;
    env_->limits.max_processes = settings.max_processes;
    env_->limits.parent_death_signal = settings.instance_parent_death_signal;
    if (settings.run_as) {
      env_->limits.run_as = settings.run_as->ids;
      std::error_code ec;
      std::filesystem::permissions(settings.data_dir / "runtime", std::filesystem::perms(0755), ec);
      CheckReadableBy(*settings.run_as,
                      {env_->paths.python_bootstrap, env_->paths.php_function_bootstrap,
                       env_->paths.node_ric_dir / "node_modules" / "aws-lambda-ric" / "bin" /
                           "index.mjs"});
    }
    env_->contexts = settings.contexts;
    env_->on_function_line = std::move(settings.on_function_line);
    if (env_->contexts.empty()) {
      // No contexts given: run the Runtime API endpoints on a context of our own.
      own_context_ = std::make_unique<boost::asio::io_context>(1);
      own_work_.emplace(own_context_->get_executor());
      own_thread_ = std::thread([ctx = own_context_.get()] { ctx->run(); });
      env_->contexts.push_back(own_context_.get());
    }
    std::lock_guard lock(mu_);
    pools_ = std::make_shared<const PoolMap>();
    generation_.store(NextGeneration(), std::memory_order_release);
  }

  ~RuntimeServiceImpl() override {
    Shutdown();
    if (own_context_) {
      own_work_.reset();
      own_context_->stop();
      own_thread_.join();
    }
  }

  void Register(const InstanceConfig& config) override {
    std::lock_guard lock(mu_);
    if (shut_down_ || pools_->count(config.key)) return;
    auto next = std::make_shared<PoolMap>(*pools_);
    (*next)[config.key] = CreatePool(config, env_);
    PublishLocked(std::move(next));
  }

  void Retire(const VersionKey& key) override {
    std::shared_ptr<VersionPool> pool;
    {
      std::lock_guard lock(mu_);
      auto it = pools_->find(key);
      if (it == pools_->end()) return;
      pool = it->second;
      auto next = std::make_shared<PoolMap>(*pools_);
      next->erase(key);
      PublishLocked(std::move(next));
      retired_.push_back(pool);
    }
    pool->Retire();
  }

  Status Prewarm(const VersionKey& key, int count) override {
    std::shared_ptr<VersionPool> pool = Find(key);
    if (!pool) return NotFound(fmt::format("no version {}:{}", key.function_name, key.version));
    return pool->Prewarm(count);
  }

  void Invoke(const VersionKey& key, Invocation invocation, InvokeCallback done) override {
    std::shared_ptr<VersionPool> pool = Find(key);
    if (!pool) {
      InvokeResult r =
          ErrorResult(InvokeOutcome::kNotFound, "ResourceNotFoundException",
                      fmt::format("Function not found: {}:{}", key.function_name, key.version));
      done(std::move(r));
      return;
    }
    pool->Invoke(std::move(invocation), std::move(done));
  }

  bool TakesHttp(const VersionKey& key) const override {
    std::shared_ptr<VersionPool> pool = Find(key);
    return pool && pool->TakesHttp();
  }

  void InvokeHttp(const VersionKey& key, HttpInvocation invocation, HttpCallback done) override {
    std::shared_ptr<VersionPool> pool = Find(key);
    if (!pool) {
      HttpResult r;
      r.outcome = InvokeOutcome::kNotFound;
      r.error_type = "ResourceNotFoundException";
      r.message = fmt::format("Function not found: {}:{}", key.function_name, key.version);
      done(std::move(r));
      return;
    }
    pool->InvokeHttp(std::move(invocation), std::move(done));
  }

  void Tick() override {
    std::shared_ptr<const PoolMap> pools;
    std::vector<std::shared_ptr<VersionPool>> retired;
    {
      std::lock_guard lock(mu_);
      pools = pools_;
      retired = retired_;
    }
    for (const auto& [key, pool] : *pools) pool->Tick();
    bool any_finished = false;
    for (const auto& pool : retired) {
      pool->Tick();
      any_finished |= pool->Finished();
    }
    if (any_finished) {
      std::lock_guard lock(mu_);
      std::erase_if(retired_, [](const auto& p) { return p->Finished(); });
    }
    if (env_->limits.cgroups) env_->limits.cgroups->Sweep();
  }

  std::vector<VersionConcurrency> TakeConcurrency() override {
    std::shared_ptr<const PoolMap> pools;
    std::vector<std::shared_ptr<VersionPool>> retired;
    {
      std::lock_guard lock(mu_);
      pools = pools_;
      retired = retired_;
    }
    std::vector<VersionConcurrency> out;
    out.reserve(pools->size() + retired.size());
    for (const auto& [key, pool] : *pools) out.push_back({key, pool->TakePeakConcurrency()});
    for (const auto& pool : retired) {
      out.push_back({pool->config().key, pool->TakePeakConcurrency()});
    }
    return out;
  }

  std::string PhpVersion() const override { return InstalledPhpVersion(env_->paths.php_cli); }

  PoolStats Stats(const VersionKey& key) const override {
    std::shared_ptr<VersionPool> pool = Find(key);
    return pool ? pool->Stats() : PoolStats{};
  }

  void Shutdown() override {
    std::vector<std::shared_ptr<VersionPool>> all;
    {
      std::lock_guard lock(mu_);
      if (shut_down_) return;
      shut_down_ = true;
      for (const auto& [key, pool] : *pools_) all.push_back(pool);
      all.insert(all.end(), retired_.begin(), retired_.end());
      retired_.clear();
      PublishLocked(std::make_shared<const PoolMap>());
    }
    for (const auto& pool : all) pool->BeginShutdown();
    // SIGTERM went out; give the processes Lambda's 2 s, then SIGKILL what is left.
    auto RemainingAfter = [&](bool kill) {
      int remaining = 0;
      for (const auto& pool : all) remaining += pool->ReapForShutdown(kill);
      return remaining;
    };
    auto grace_end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (RemainingAfter(false) > 0 && std::chrono::steady_clock::now() < grace_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto kill_end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (RemainingAfter(true) > 0 && std::chrono::steady_clock::now() < kill_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  void PublishLocked(std::shared_ptr<const PoolMap> next) CUTOVER_REQUIRES(mu_) {
    pools_ = std::move(next);
    generation_.store(NextGeneration(), std::memory_order_release);
  }

  std::shared_ptr<VersionPool> Find(const VersionKey& key) const {
    struct Cache {
      uint64_t generation = 0;
      std::shared_ptr<const PoolMap> pools;
    };
    thread_local Cache cache;
    if (cache.generation != generation_.load(std::memory_order_acquire)) {
      std::lock_guard lock(mu_);
      cache.pools = pools_;
      cache.generation = generation_.load(std::memory_order_relaxed);
    }
    auto it = cache.pools->find(key);
    return it == cache.pools->end() ? nullptr : it->second;
  }

  std::shared_ptr<PoolEnvironment> env_;
  std::unique_ptr<boost::asio::io_context> own_context_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> own_work_;
  std::thread own_thread_;

  mutable std::mutex mu_;  // writers of the map; the invoke path reads the published snapshot
  std::shared_ptr<const PoolMap> pools_ CUTOVER_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};  // changes whenever pools_ does
  std::vector<std::shared_ptr<VersionPool>> retired_ CUTOVER_GUARDED_BY(mu_);
  bool shut_down_ CUTOVER_GUARDED_BY(mu_) = false;
};

}  // namespace

std::unique_ptr<RuntimeService> CreateRuntimeService(RuntimeSettings settings) {
  return std::make_unique<RuntimeServiceImpl>(std::move(settings));
}

}  // namespace cutover::runtime
