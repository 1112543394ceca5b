// `cutover deployments [ID]`, `cutover stop ID [--rollback]`, `cutover promote ID`: the gradual
// deployments the daemon runs (docs/API.md `/v1/deployments`), listed, shown with their event log
// and the evidence behind each decision, stopped or finished early.

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <memory>
#include <ostream>

#include "cli/command_context.h"
#include "cli/deployment_view.h"
#include "cli/json_fields.h"

namespace cutover::cli {
namespace {

namespace json = boost::json;

struct DeploymentsFlags {
  ClientFlags client;
  std::string id;
  std::string function;
  int64_t limit = 20;
};

struct ControlFlags {
  ClientFlags client;
  std::string id;
  bool rollback = false;
};

std::vector<json::object> Objects(const json::array& array) {
  std::vector<json::object> out;
  for (const json::value& v : array) {
    if (v.is_object()) out.push_back(v.get_object());
  }
  return out;
}

int ShowDeployment(Context& context, const AdminClient& admin, const DeploymentsFlags& flags) {
  Result<json::value> answer = admin.Call("GET", "/v1/deployments/" + PercentEncode(flags.id));
  if (!answer.ok()) return Fail(context, answer.status());
  if (flags.client.json) {
    WriteJson(context.out, *answer);
    return kExitOk;
  }
  const json::object& deployment = GetObject(AsObject(*answer), {"deployment"});
  const std::vector<json::object> events = Objects(GetArray(AsObject(*answer), {"events"}));
  const std::string alias = GetString(GetObject(deployment, {"lambdaTarget"}), {"functionAlias"});
  std::ostream& out = context.out;
  for (const std::string& line : DeploymentDetailLines(deployment, context.style)) {
    out << line << '\n';
  }
  out << '\n' << context.style.Bold("Events") << '\n';
  for (const json::object& event : events) {
    out << "  " << EventLine(event, alias, context.style) << '\n';
    for (const std::string& line : EventEvidenceLines(event, alias)) out << line << '\n';
  }
  if (std::vector<std::string> outcome = OutcomeLines(deployment, events, context.style);
      !outcome.empty()) {
    out << '\n';
    for (const std::string& line : outcome) out << line << '\n';
  }
  out.flush();
  return kExitOk;
}

int ListDeployments(Context& context, const AdminClient& admin, const DeploymentsFlags& flags) {
  auto list = [&](const std::string& function) {
    std::string target = fmt::format("/v1/deployments?limit={}", flags.limit);
    if (!function.empty()) target += "&function=" + PercentEncode(function);
    return admin.Call("GET", target);
  };
  Result<json::value> answer = list(flags.function);
  if (!answer.ok()) return Fail(context, answer.status());
  // --function may be a key from serverless.yml ("website") rather than the deployed name.
  if (!flags.function.empty() && GetArray(AsObject(*answer), {"deployments"}).empty()) {
    if (Result<std::string> name = ResolveFunctionName(admin, flags.function);
        name.ok() && *name != flags.function) {
      answer = list(*name);
      if (!answer.ok()) return Fail(context, answer.status());
    }
  }
  if (flags.client.json) {
    WriteJson(context.out, *answer);
    return kExitOk;
  }
  const std::vector<json::object> deployments =
      Objects(GetArray(AsObject(*answer), {"deployments"}));
  if (deployments.empty()) {
    context.out << "No deployments. A deployment starts when `cutover deploy` publishes a new "
                   "version of a function with deploymentSettings.\n";
    return kExitOk;
  }
  DeploymentTable(deployments).Print(context.out, context.style);
  context.out.flush();
  return kExitOk;
}

int RunDeployments(Context& context, const DeploymentsFlags& flags) {
  Result<AdminClient> admin = MakeAdminClient(context, flags.client);
  if (!admin.ok()) return Fail(context, admin.status());
  return flags.id.empty() ? ListDeployments(context, *admin, flags)
                          : ShowDeployment(context, *admin, flags);
}

// What `stop` and `promote` print: the deployment's state after the request.
void PrintControlled(Context& context, const json::object& d) {
  const Style& s = context.style;
  std::ostream& out = context.out;
  const std::string status = GetString(d, {"status"});
  out << fmt::format("{} {}: {}\n", s.Bold(GetString(d, {"deploymentId"})), status,
                     DeploymentAliasText(d));
  const json::object& error = GetObject(d, {"errorInformation"});
  if (!error.empty()) out << "  " << GetString(error, {"message"}) << '\n';
  if (std::string by = GetString(GetObject(d, {"rollbackInfo"}), {"rollbackDeploymentId"});
      !by.empty()) {
    out << "  rolled back by " << by << '\n';
  }
  if (!DeploymentEnded(d)) {
    out << fmt::format("  {}{}; follow it with: cutover deployments {}\n", GetString(d, {"phase"}),
                       GetBool(d, "promoteRequested") ? ", promote requested" : "",
                       GetString(d, {"deploymentId"}));
  }
  out.flush();
}

int RunControl(Context& context, const ControlFlags& flags, std::string_view action) {
  Result<AdminClient> admin = MakeAdminClient(context, flags.client);
  if (!admin.ok()) return Fail(context, admin.status());
  json::value body;
  if (action == "stop") body = json::object{{"rollback", flags.rollback}};
  Result<json::value> answer =
      admin->Call("POST", fmt::format("/v1/deployments/{}/{}", PercentEncode(flags.id), action),
                  action == "stop" ? &body : nullptr);
  if (!answer.ok()) return Fail(context, answer.status());
  if (flags.client.json) {
    WriteJson(context.out, *answer);
    return kExitOk;
  }
  PrintControlled(context, GetObject(AsObject(*answer), {"deployment"}));
  return kExitOk;
}

}  // namespace

std::vector<Command> AddDeploymentsCommands(CLI::App& app) {
  std::vector<Command> commands;

  auto list = std::make_shared<DeploymentsFlags>();
  CLI::App* deployments = app.add_subcommand(
      "deployments", "List the deployments, or show one with its event log and evidence");
  deployments->add_option("ID", list->id, "A deployment id (d-XXXXXXXXX)");
  deployments->add_option("--function,-f", list->function,
                          "Only this function's deployments (deployed name or key)");
  deployments->add_option("--limit,-n", list->limit, "How many, newest first")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  AddClientFlags(*deployments, list->client, /*with_json=*/true);
  commands.push_back(
      {deployments, [list](Context& context) { return RunDeployments(context, *list); }});

  auto stop = std::make_shared<ControlFlags>();
  CLI::App* stop_app = app.add_subcommand(
      "stop", "Stop a deployment; --rollback also returns the alias to the old version");
  stop_app->add_option("ID", stop->id, "The deployment id")->required();
  stop_app->add_flag("--rollback", stop->rollback,
                     "Return the alias to 100% of the version it served before");
  AddClientFlags(*stop_app, stop->client, /*with_json=*/true);
  commands.push_back(
      {stop_app, [stop](Context& context) { return RunControl(context, *stop, "stop"); }});

  auto promote = std::make_shared<ControlFlags>();
  CLI::App* promote_app = app.add_subcommand(
      "promote", "Skip a deployment's remaining waits: 100% now, then the post-traffic hook");
  promote_app->add_option("ID", promote->id, "The deployment id")->required();
  AddClientFlags(*promote_app, promote->client, /*with_json=*/true);
  commands.push_back({promote_app, [promote](Context& context) {
                        return RunControl(context, *promote, "promote");
                      }});
  return commands;
}

}  // namespace cutover::cli
