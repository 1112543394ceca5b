#include "runtime/instance_env.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <ctime>
#include <map>

namespace cutover::runtime {

namespace {

constexpr std::array<std::string_view, 19> kReserved = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
};

// Credentials are dummies: functions that create an AWS SDK client must not fail at start-up, and
// nothing here can be signed for real.
constexpr std::string_view kAccessKeyId = "AKIACUTOVERLOCAL0000";
constexpr std::string_view kSecretKey = "cutover/local/dummy/secret/access/key00000";
constexpr std::string_view kSessionToken = "cutover-local-session-token";

bool IsExecutableFile(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// The PHP function runtime's process: Bref v1's `while true; do php bootstrap.php; done`. $0 is the
// PHP CLI, $1 the bootstrap, $2 the mode. The bootstrap exits 69 when the Runtime API refuses or
// cannot be reached, and 126/127 mean PHP cannot run at all: the loop ends with that status rather
// than spinning, and the instance exits. Stop and timeout kill the whole process group.
constexpr std::string_view kPhpFunctionLoop =
    "while :; do \"$0\" \"$1\" \"$2\"; s=$?; case $s in 69|126|127) exit $s;; esac; done";

// An executable: `name` itself when it holds a '/', else the first match on `search_path`.
std::filesystem::path FindExecutable(const std::filesystem::path& name,
                                     std::string_view search_path) {
  if (name.empty()) return {};
  if (name.string().find('/') != std::string::npos) {
    return IsExecutableFile(name) ? name : std::filesystem::path();
  }
  size_t start = 0;
  while (start <= search_path.size()) {
    size_t end = search_path.find(':', start);
    if (end == std::string_view::npos) end = search_path.size();
    std::string_view dir = search_path.substr(start, end - start);
    if (!dir.empty()) {
      std::filesystem::path candidate = std::filesystem::path(dir) / name;
      if (IsExecutableFile(candidate)) return candidate;
    }
    start = end + 1;
  }
  return {};
}

}  // namespace

bool IsReservedVariable(std::string_view name) {
  for (std::string_view r : kReserved) {
    if (r == name) return true;
  }
  return false;
}

std::string LogStreamName(SystemTime now, uint32_t version, uint64_t random_hi,
                          uint64_t random_lo) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}/{:02}/{:02}/[{}]{:016x}{:016x}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, version, random_hi, random_lo);
}

Result<std::vector<std::string>> BuildArgv(const InstanceConfig& config,
                                           const RuntimePaths& paths) {
  switch (config.family) {
    case RuntimeFamily::kProvided: {
      std::filesystem::path bootstrap = config.task_root / "bootstrap";
      std::error_code ec;
      if (!std::filesystem::exists(bootstrap, ec)) {
        return NotFound(fmt::format("Couldn't find valid bootstrap(s): [{}]", bootstrap.string()));
      }
      if (!IsExecutableFile(bootstrap)) {
        return FailedPrecondition(
            fmt::format("Couldn't execute bootstrap {}: permission denied", bootstrap.string()));
      }
      return std::vector<std::string>{bootstrap.string()};
    }
    case RuntimeFamily::kNode: {
      std::filesystem::path entry =
          paths.node_ric_dir / "node_modules" / "aws-lambda-ric" / "bin" / "index.mjs";
      std::error_code ec;
      if (!std::filesystem::is_regular_file(entry, ec)) {
        return NotFound(fmt::format("Node.js runtime client not found at {}", entry.string()));
      }
      // The flags Lambda's own Node.js bootstrap passes (/var/runtime/bootstrap of the
      // public.ecr.aws/lambda/nodejs images): V8's heap sized from memorySize, a tenth for the
      // young generation (half of it per semi-space) and the rest for the old one, so a heap that
      // outgrows memorySize fails as Node's own "heap out of memory" as it does on Lambda.
      std::vector<std::string> argv{"node", "--expose-gc", "--max-http-header-size", "81920"};
      if (config.memory_mb > 0) {
        const int new_space = config.memory_mb / 10;
        argv.push_back(fmt::format("--max-semi-space-size={}", new_space / 2));
        argv.push_back(fmt::format("--max-old-space-size={}", config.memory_mb - new_space));
      }
      argv.push_back(entry.string());
      argv.push_back(config.handler);
      return argv;
    }
    case RuntimeFamily::kPython: {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(paths.python_bootstrap, ec)) {
        return NotFound(
            fmt::format("Python bootstrap not found at {}", paths.python_bootstrap.string()));
      }
      return std::vector<std::string>{"python3", paths.python_bootstrap.string()};
    }
    case RuntimeFamily::kPhpFunction: {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(paths.php_function_bootstrap, ec)) {
        return NotFound(fmt::format("PHP function bootstrap not found at {}",
                                    paths.php_function_bootstrap.string()));
      }
      // Resolved here, with the daemon's PATH: the function's own PATH may leave PHP out.
      const char* daemon_path = std::getenv("PATH");
      std::filesystem::path php =
          FindExecutable(paths.php_cli, daemon_path ? daemon_path : "/usr/local/bin:/usr/bin:/bin");
      if (php.empty()) {
        return NotFound(fmt::format("PHP CLI '{}' not found (Bref function layer {})",
                                    paths.php_cli.string(), config.runtime_name));
      }
      return std::vector<std::string>{
          "/bin/sh",
          "-c",
          std::string(kPhpFunctionLoop),
          php.string(),
          paths.php_function_bootstrap.string(),
          std::string_view(config.runtime_name).ends_with("-console") ? "console" : "function"};
    }
    case RuntimeFamily::kPhpFpm:
      return FailedPrecondition("PHP-FPM runtimes do not run as Runtime API instances");
  }
  return Internal("unknown runtime family");
}

std::vector<std::string> BuildEnvironment(const InstanceConfig& config, const RuntimePaths& paths,
                                          const InstanceIdentity& identity,
                                          std::string_view daemon_path,
                                          std::string_view daemon_ld_library_path) {
  std::map<std::string, std::string, std::less<>> env;
  // Unreserved defaults: the function may override these.
  std::string path(daemon_path.empty() ? "/usr/local/bin:/usr/bin:/bin" : daemon_path);
  env["PATH"] = path + ":/opt/bin";
  std::string task_root = config.task_root.string();
  std::string ld = task_root + "/lib:/opt/lib";
  if (!daemon_ld_library_path.empty()) ld = std::string(daemon_ld_library_path) + ":" + ld;
  env["LD_LIBRARY_PATH"] = ld;
  env["LANG"] = "en_US.UTF-8";
  if (config.family == RuntimeFamily::kPython) env["PYTHONUNBUFFERED"] = "1";

  for (const auto& [name, value] : config.environment) {
    if (name.empty() || name.find('=') != std::string::npos || IsReservedVariable(name)) continue;
    env[name] = value;
  }

  // Reserved: always ours.
  const std::string& fn = config.key.function_name;
  env["_HANDLER"] = config.handler;
  env["AWS_REGION"] = config.region;
  env["AWS_DEFAULT_REGION"] = config.region;
  if (config.family != RuntimeFamily::kProvided && !config.runtime_name.empty()) {
    env["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + config.runtime_name;
  }
  env["AWS_LAMBDA_FUNCTION_NAME"] = fn;
  env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(config.memory_mb);
  env["AWS_LAMBDA_FUNCTION_VERSION"] = std::to_string(config.key.version);
  env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand";
  env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + fn;
  env["AWS_LAMBDA_LOG_STREAM_NAME"] = identity.log_stream_name;
  env["AWS_ACCESS_KEY"] = kAccessKeyId;
  env["AWS_ACCESS_KEY_ID"] = kAccessKeyId;
  env["AWS_SECRET_ACCESS_KEY"] = kSecretKey;
  env["AWS_SESSION_TOKEN"] =
      config.session_token.empty() ? std::string(kSessionToken) : config.session_token;
  env["AWS_LAMBDA_RUNTIME_API"] = fmt::format("127.0.0.1:{}", identity.api_port);
  env["LAMBDA_TASK_ROOT"] = task_root;
  switch (config.family) {
    case RuntimeFamily::kNode:
      env["LAMBDA_RUNTIME_DIR"] = paths.node_ric_dir.string();
      break;
    case RuntimeFamily::kPython:
      env["LAMBDA_RUNTIME_DIR"] = paths.python_bootstrap.parent_path().string();
      break;
    default:
      env["LAMBDA_RUNTIME_DIR"] = paths.runtime_dir.string();
      break;
  }
  env["TZ"] = ":UTC";

  std::vector<std::string> out;
  out.reserve(env.size());
  for (auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

void ApplyLimits(const InstanceConfig& config, const ProcessLimits& limits, LaunchSpec* spec) {
  spec->data_limit_bytes =
      limits.memory && config.memory_mb > 0 ? static_cast<uint64_t>(config.memory_mb) << 20 : 0;
  spec->max_processes = limits.max_processes;
  spec->run_as = limits.run_as;
}

Result<LaunchSpec> BuildLaunchSpec(const InstanceConfig& config, const RuntimePaths& paths,
                                   const InstanceIdentity& identity, const ProcessLimits& limits) {
  CUTOVER_ASSIGN_OR_RETURN(std::vector<std::string> argv, BuildArgv(config, paths));
  const char* daemon_path = std::getenv("PATH");
  const char* daemon_ld = std::getenv("LD_LIBRARY_PATH");
  LaunchSpec spec;
  spec.argv = std::move(argv);
  spec.env = BuildEnvironment(config, paths, identity, daemon_path ? daemon_path : "",
                              daemon_ld ? daemon_ld : "");
  spec.cwd = config.task_root;
  ApplyLimits(config, limits, &spec);
  spec.parent_death_signal = limits.parent_death_signal;
  return spec;
}

}  // namespace cutover::runtime
