// Runs the CLI in-process with captured streams and a fixed environment, for the CLI tests.
#pragma once

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace cutover::cli::testing {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct CliRunOptions {
  std::map<std::string, std::string> env;  // the only environment variables the CLI sees
  ServeFn serve;
  bool terminal = false;
  std::string stdin_text;
  std::function<bool(std::chrono::milliseconds)> wait;  // default: stop at the first wait
};

inline CliRun RunCutover(const std::vector<std::string>& args, CliRunOptions options = {}) {
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in(options.stdin_text);
  Environment env;
  env.out = &out;
  env.err = &err;
  env.in = &in;
  env.getenv = [vars = options.env](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  env.stdout_is_terminal = options.terminal;
  env.wait = options.wait ? options.wait : [](std::chrono::milliseconds) { return false; };
  CliRun run;
  run.exit_code = RunCliWithEnvironment(args, env, options.serve);
  run.out = out.str();
  run.err = err.str();
  return run;
}

}  // namespace cutover::cli::testing
