// What an instance's process is started with: its command line per runtime family and the Lambda
// environment (aws-semantics.md 5.2, 7.19). Pure functions of the configuration plus the few facts
// that differ per instance (Runtime API port, log stream), so a table test can check them.
//
//   provided*  <task_root>/bootstrap
//   nodejs*    node <node_ric_dir>/node_modules/aws-lambda-ric/bin/index.mjs <handler>
//              (the package's own `aws-lambda-ric` bin: it loads <cwd>/<module>.<export>, cwd =
//              task_root)
//   python3*   python3 <python_bootstrap>           (handler from _HANDLER)
//   php-XY, php-XY-console (Bref function/console layers, RuntimeFamily::kPhpFunction)
//              /bin/sh -c '<loop>' <php_cli> <php_function_bootstrap> function|console
//              where <loop> is Bref v1's layer bootstrap, `while true; do php bootstrap.php; done`:
//                while :; do "$0" "$1" "$2"; s=$?; case $s in 69|126|127) exit $s;; esac; done
//              so every PHP process is fresh (it serves BREF_LOOP_MAX invocations, default 1, and
//              exits after a failed one). "console" when runtime_name ends in "-console". The loop
//              ends, and with it the instance, when PHP cannot run (126/127) or the bootstrap
//              found the Runtime API gone (69); stop and timeout kill the process group. php_cli
//              is resolved on the daemon's PATH here, since the function may set its own PATH.
//   php-XY-fpm no argv: FpmPool runs php-fpm itself (BuildArgv answers FailedPrecondition)
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "runtime/memory_cgroup.h"
#include "runtime/process_launcher.h"
#include "runtime/runtime_service.h"

namespace cutover::runtime {

struct RuntimePaths {
  std::filesystem::path node_ric_dir;        // contains node_modules/aws-lambda-ric
  std::filesystem::path python_bootstrap;    // cutover's python bootstrap script
  std::filesystem::path runtime_dir;         // LAMBDA_RUNTIME_DIR for provided runtimes
  std::filesystem::path php_cli = "php8.2";  // Bref function/console layers
  std::filesystem::path php_fpm = "/usr/sbin/php-fpm8.2";  // Bref FPM layers
  std::filesystem::path php_function_bootstrap;  // cutover's PHP function-runtime bootstrap
};

// What every process of a service is limited to (RuntimeSettings::limit_memory, max_processes,
// run_as).
struct ProcessLimits {
  // The version's memory_mb: RLIMIT_DATA per process, or with `cgroups` a memory cgroup per
  // function instance (InstancePool; php-fpm's processes keep RLIMIT_DATA each).
  bool memory = true;
  std::shared_ptr<MemoryCgroups> cgroups;
  uint64_t max_processes = 0;  // RLIMIT_NPROC; 0: inherited
  std::optional<RunAs> run_as;
  // A Runtime API instance's parent death signal (RuntimeSettings::instance_parent_death_signal);
  // 0: none. php-fpm masters have their own (FpmPool).
  int parent_death_signal = 0;
};

// Per-instance facts that go into the environment.
struct InstanceIdentity {
  uint16_t api_port = 0;
  std::string log_stream_name;
};

// Variables a function's own environment cannot set (Lambda's reserved list).
bool IsReservedVariable(std::string_view name);

// "2026/11/27/[7]0123456789abcdef0123456789abcdef"
std::string LogStreamName(SystemTime now, uint32_t version, uint64_t random_hi, uint64_t random_lo);

// The command line, after checking that its entry point exists: a missing or non-executable
// bootstrap is an error whose message says which file (Lambda's Runtime.InvalidEntrypoint).
Result<std::vector<std::string>> BuildArgv(const InstanceConfig& config, const RuntimePaths& paths);

// The complete environment ("NAME=value"). `daemon_path` and `daemon_ld_library_path` are the
// daemon's own PATH and LD_LIBRARY_PATH (may be empty).
std::vector<std::string> BuildEnvironment(const InstanceConfig& config, const RuntimePaths& paths,
                                          const InstanceIdentity& identity,
                                          std::string_view daemon_path,
                                          std::string_view daemon_ld_library_path);

// Sets the spec's data_limit_bytes, max_processes and run_as for a process of `config`'s version.
void ApplyLimits(const InstanceConfig& config, const ProcessLimits& limits, LaunchSpec* spec);

// BuildArgv + BuildEnvironment with the daemon's PATH, cwd = task_root, + ApplyLimits, and
// limits.parent_death_signal.
Result<LaunchSpec> BuildLaunchSpec(const InstanceConfig& config, const RuntimePaths& paths,
                                   const InstanceIdentity& identity,
                                   const ProcessLimits& limits = {});

}  // namespace cutover::runtime
