// Test harness for integration tests: starts the real `cutover` daemon on free ports with its own
// data directory, runs CLI commands, and speaks HTTP to the gateway and the admin API.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cutover::testing {

namespace fs = std::filesystem;

fs::path CutoverBinary();
fs::path SourceDir();
// A fresh directory under the system temp dir, removed by the caller (or left for post-mortems).
fs::path MakeTempDir(const std::string& prefix);

// testdata/aliases (two functions, `ok` with deploymentSettings) in `root`/service, with the
// compiled `bootstrap` (testdata/proxy_bootstrap.cc) beside its serverless.yml.
fs::path CopyAliasesService(const fs::path& root, const fs::path& bootstrap);

struct HttpResult {
  int status = 0;                              // 0 when the request failed at the transport level
  std::map<std::string, std::string> headers;  // lower-cased names; the last of repeated ones
  std::vector<std::pair<std::string, std::string>> header_list;  // every field, lower-cased names
  std::string body;
  std::string error;
};

// One keep-alive HTTP/1.1 connection; reconnects when the server closed it.
class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port);
  ~HttpClient();
  HttpResult Request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the cutover binary with `args` (and NAME=VALUE `env` added to the environment), waits for
// it (at most `timeout`), captures stdout and stderr.
CommandResult RunCutover(const std::vector<std::string>& args,
                         std::chrono::seconds timeout = std::chrono::seconds(120),
                         const std::vector<std::string>& env = {});

// Runs `argv` (argv[0] a path; NAME=VALUE `env` added), waits for it (at most `timeout`), captures
// stdout and stderr: for wrapping the daemon in setpriv or prlimit.
CommandResult RunProgram(const std::vector<std::string>& argv,
                         std::chrono::seconds timeout = std::chrono::seconds(120),
                         const std::vector<std::string>& env = {});

// Polls `condition` every 20 ms until it holds (true) or `timeout` passes (false): waiting on a
// condition with a deadline, never for time to pass.
template <typename F>
bool WaitFor(F condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition
  }
  return true;
}

// The first non-empty `deployment_id` among the functions `cutover deploy --json` reports, or "".
std::string DeploymentIdOf(const CommandResult& deploy);

struct DaemonOptions {
  std::vector<std::string> extra_args;
  std::vector<std::string> env;  // NAME=VALUE added to the daemon's environment
  // The daemon's stderr goes to a pipe the harness copies into log_path(), instead of straight to
  // the file: a test that limits the daemon's file writes (RLIMIT_FSIZE) still reads its log.
  bool log_through_pipe = false;
};

class Daemon {
 public:
  // Starts `cutover serve` on free ports with `data_dir`; waits (with a deadline) until it is
  // listening.
  // `env` adds NAME=VALUE variables to the daemon's environment. With CUTOVER_TOKEN=T among them,
  // Admin() and Deploy() send the token.
  static std::unique_ptr<Daemon> Start(const fs::path& data_dir,
                                       const std::vector<std::string>& extra_args = {},
                                       const std::vector<std::string>& env = {});
  static std::unique_ptr<Daemon> Start(const fs::path& data_dir, const DaemonOptions& options);
  ~Daemon();

  // SIGTERM and wait; true when it exited 0.
  bool Stop();
  // SIGKILL and wait.
  void Kill();

  uint16_t gateway_port() const { return gateway_port_; }
  uint16_t admin_port() const { return admin_port_; }
  std::string admin_url() const;
  std::string gateway_url() const;
  const fs::path& log_path() const { return log_path_; }
  // The daemon's log so far.
  std::string Log() const;
  pid_t pid() const { return pid_; }

  HttpResult Gateway(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});
  HttpResult Admin(const std::string& method, const std::string& target,
                   const std::string& body = "",
                   const std::map<std::string, std::string>& headers = {});
  // `cutover deploy --dir DIR --admin URL --json EXTRA...`
  CommandResult Deploy(const fs::path& dir, const std::vector<std::string>& extra = {});

 private:
  Daemon() = default;
  // Reaps the daemon (at most `timeout`), then lets the log copier finish; the exit code or -1.
  int Reap(std::chrono::seconds timeout);
  pid_t pid_ = -1;
  struct LogCopier;
  std::unique_ptr<LogCopier> log_copier_;
  uint16_t gateway_port_ = 0;
  uint16_t admin_port_ = 0;
  fs::path log_path_;
  std::string token_;
};

}  // namespace cutover::testing
