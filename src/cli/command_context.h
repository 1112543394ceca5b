// What every subcommand receives, and the pieces they share: the streams, the colour decision, the
// environment, how a failure becomes a message and an exit code, and the `--admin` / `--json`
// flags.
//
// Subcommands are registered on the CLI11 app by the Add*Command functions (one file each); parsing
// fills their flags, then RunCliWithEnvironment runs the chosen command's `run` with a Context.
//
// Thread-safety: used from the one thread that runs the CLI.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/admin_client.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "common/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace cutover::cli {

struct Context {
  std::ostream& out;
  std::ostream& err;
  std::istream* in;  // may be null
  Style style;       // for stdout; stderr lines stay plain
  std::function<std::optional<std::string>(const std::string&)> getenv;  // never empty
  std::function<bool(std::chrono::milliseconds)> wait;                   // never empty
  bool terminal = false;  // stdout is a terminal (colour aside): live views, `deploy --wait`
};

// kUnavailable (no connection) -> 3, kInvalidArgument -> 2, every other failure -> 1.
int ExitCodeFor(const Status& status);

// Prints "cutover: MESSAGE" on stderr and returns ExitCodeFor(status). REQUIRES: !status.ok().
int Fail(const Context& context, const Status& status);

// The flags every admin API client command takes.
struct ClientFlags {
  std::string admin;  // --admin; empty = $CUTOVER_ADMIN, else kDefaultAdminUrl
  bool json = false;  // --json (only registered where the command has a JSON form)
};

// Registers --admin (and --json when `with_json`) on `command`, bound to `flags`.
void AddClientFlags(CLI::App& command, ClientFlags& flags, bool with_json);

// The AdminClient for `flags`: --admin, else $CUTOVER_ADMIN, else kDefaultAdminUrl; token from
// $CUTOVER_TOKEN.
Result<AdminClient> MakeAdminClient(const Context& context, const ClientFlags& flags,
                                    std::string service_dir = "<service dir>");

// A registered subcommand: its CLI11 app and what to run when it was chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<int(Context&)> run;
};

Command AddServeCommand(CLI::App& app, const ServeFn& serve);
Command AddDeployCommand(CLI::App& app);
Command AddStatusCommand(CLI::App& app);
Command AddInvokeCommand(CLI::App& app);
Command AddLogsCommand(CLI::App& app);
Command AddMetricsCommand(CLI::App& app);
Command AddAlarmsCommand(CLI::App& app);
// `deployments`, `stop` and `promote` (deployments_command.cc).
std::vector<Command> AddDeploymentsCommands(CLI::App& app);

// Resolves what the user typed as FUNCTION to a deployed function name: `name` itself when a
// function has that name, else the one function whose key (`functions:` entry) is `name`. NotFound
// when none; InvalidArgument when the key is ambiguous (names the candidates). Used by invoke and
// logs after the daemon answered 404 for `name`.
Result<std::string> ResolveFunctionName(const AdminClient& admin, const std::string& name);

}  // namespace cutover::cli
