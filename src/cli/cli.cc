#include "cli/cli.h"

#include <unistd.h>

#include <CLI/App.hpp>
#include <CLI/Config.hpp>
#include <CLI/Formatter.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/command_context.h"

#ifndef CUTOVER_VERSION
#define CUTOVER_VERSION "0.0.0"
#endif

namespace cutover::cli {

int RunCli(int argc, char** argv, const ServeFn& serve) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  Environment env;
  env.out = &std::cout;
  env.err = &std::cerr;
  env.in = &std::cin;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  env.stdout_is_terminal = ::isatty(STDOUT_FILENO) == 1;
  return RunCliWithEnvironment(args, env, serve);
}

int RunCliWithEnvironment(const std::vector<std::string>& args, const Environment& env,
                          const ServeFn& serve) {
  std::function<std::optional<std::string>(const std::string&)> getenv = env.getenv;
  if (!getenv)
    getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  std::function<bool(std::chrono::milliseconds)> wait = env.wait;
  if (!wait) {
    wait = [](std::chrono::milliseconds d) {
      std::this_thread::sleep_for(d);
      return true;
    };
  }
  // no-color.org: colour is off when NO_COLOR is present and not empty.
  const bool color = env.stdout_is_terminal && getenv("NO_COLOR").value_or("").empty();
  Context context{*env.out, *env.err, env.in, Style(color), getenv, wait, env.stdout_is_terminal};

  CLI::App app(
      "cutover: serverless.yml functions with versions, weighted aliases and canary deploys",
      "cutover");
  app.set_version_flag("--version", "cutover " CUTOVER_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 operation failed, 2 usage or configuration error, "
      "3 cannot reach the daemon.\nSee docs/CLI.md.");

  std::vector<Command> commands;
  commands.push_back(AddServeCommand(app, serve));
  commands.push_back(AddDeployCommand(app));
  commands.push_back(AddStatusCommand(app));
  commands.push_back(AddInvokeCommand(app));
  commands.push_back(AddLogsCommand(app));
  commands.push_back(AddMetricsCommand(app));
  commands.push_back(AddAlarmsCommand(app));
  for (Command& command : AddDeploymentsCommands(app)) commands.push_back(std::move(command));

  if (args.empty()) {  // a bare `cutover`: show what there is to run
    context.err << app.help();
    return kExitUsage;
  }
  // CLI11 consumes the arguments from the back.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, context.out, context.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, context.out, context.err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, context.out, context.err);
  } catch (const CLI::ParseError& e) {
    app.exit(e, context.out, context.err);
    return kExitUsage;
  }
  for (Command& command : commands) {
    if (command.app->parsed()) return command.run(context);
  }
  context.err << app.help();
  return kExitUsage;
}

}  // namespace cutover::cli
