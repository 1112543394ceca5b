// `cutover deploy`: serverless.yml -> ServiceSpec -> package -> upload -> POST /v1/services, then
// with --wait (the default on a terminal) following the gradual deployments the publish started
// until they end (deployment_follow.h).
//
// Everything that can be checked locally (the file, the variables, the entry points, --function) is
// checked before the daemon is contacted, so configuration errors exit 2 even when no daemon runs.

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>

#include "cli/command_context.h"
#include "cli/deployment_follow.h"
#include "cli/json_fields.h"
#include "config/loader.h"
#include "config/service_spec.h"
#include "package/package.h"

namespace cutover::cli {
namespace {

using std::chrono::minutes;

struct DeployFlags {
  ClientFlags client;
  std::string dir = ".";
  std::string stage;
  std::string region;
  std::vector<std::string> opts;  // name=value
  std::string function;
  bool wait = false;
  CLI::Option* wait_option = nullptr;  // unset: wait when stdout is a terminal
};

// serverless.yml, else serverless.yaml, under `dir`; the path is kept as the user gave it so error
// messages read "serverless.yml:3:5: ..." for --dir . and "examples/seed/serverless.yml:..."
// otherwise.
std::optional<std::filesystem::path> FindServiceFile(const std::filesystem::path& dir) {
  for (const char* name : {"serverless.yml", "serverless.yaml"}) {
    std::filesystem::path candidate = (dir / name).lexically_normal();
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

// Uploads the package unless the daemon already has it. Returns whether it was uploaded.
Result<bool> EnsureArtifact(const AdminClient& admin, const package::PackageInfo& package) {
  const std::string target = "/v1/artifacts/" + package.sha256;
  HttpRequest head;
  head.method = "HEAD";
  head.target = target;
  CUTOVER_ASSIGN_OR_RETURN(HttpResponse present, admin.Send(head));
  if (present.status == 200) return false;
  if (present.status != 404) return ErrorFromResponse(present);

  HttpRequest put;
  put.method = "PUT";
  put.target = target;
  put.headers.emplace_back("Content-Type", "application/gzip");
  put.body = package.bytes;
  CUTOVER_ASSIGN_OR_RETURN(HttpResponse stored, admin.Send(put, minutes(10)));
  if (stored.status != 200 && stored.status != 201) return ErrorFromResponse(stored);
  return true;
}

// POST /v1/services with a longer timeout than Call's default: publishing may start instances.
Result<boost::json::value> PublishService(const AdminClient& admin, const config::ServiceSpec& spec,
                                          const std::string& sha256) {
  boost::json::object body;
  body["spec"] = config::ToJson(spec);
  body["code_sha256"] = sha256;
  HttpRequest request;
  request.method = "POST";
  request.target = "/v1/services";
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("Accept", "application/json");
  request.body = boost::json::serialize(body);
  CUTOVER_ASSIGN_OR_RETURN(HttpResponse response, admin.Send(std::move(request), minutes(5)));
  if (response.status < 200 || response.status >= 300) return ErrorFromResponse(response);
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(response.body, ec);
  if (ec || !value.is_object()) {
    return Internal("the daemon's answer to POST /v1/services is not a JSON object");
  }
  return value;
}

// Keeps only the entries of `array` whose `field` is in `names`.
boost::json::array Only(const boost::json::array& array,
                        std::initializer_list<std::string_view> fields,
                        const std::set<std::string>& names) {
  boost::json::array out;
  for (const boost::json::value& v : array) {
    if (names.count(GetString(AsObject(v), fields)) > 0) out.push_back(v);
  }
  return out;
}

void PrintHuman(Context& context, const config::ServiceSpec& spec,
                const package::PackageInfo& package, bool uploaded,
                const boost::json::object& result, const std::string& gateway,
                bool several_functions) {
  const Style& s = context.style;
  std::ostream& out = context.out;
  out << fmt::format("Packaged {} file{} ({}), sha256 {} {}\n", package.file_count,
                     package.file_count == 1 ? "" : "s", FormatBytes(package.bytes.size()),
                     package.sha256.substr(0, 12),
                     s.Dim(uploaded ? "(uploaded)" : "(already on the daemon)"));
  out << fmt::format("Deployed {} (stage {})\n",
                     s.Bold(GetString(result, {"service"}, spec.service)),
                     GetString(result, {"stage"}, spec.stage));
  for (const boost::json::value& v : GetArray(result, {"functions"})) {
    const boost::json::object& function = AsObject(v);
    const std::string key = GetString(function, {"key"});
    const int64_t version = GetInt(function, {"version"});
    std::string line =
        GetBool(function, "created")
            ? fmt::format("{}: {}", s.Bold(key), s.Green(fmt::format("new version {}", version)))
            : fmt::format("{}: unchanged at version {}", s.Bold(key), version);
    const boost::json::object& alias = GetObject(function, {"alias"});
    if (!alias.empty()) {
      line += ", alias " + FormatAliasTarget(GetString(alias, {"name"}),
                                             GetInt(alias, {"primary_version"}),
                                             GetInt(alias, {"additional_version"}),
                                             GetDouble(alias, {"additional_weight"}));
    }
    if (const std::string id = GetString(function, {"deployment_id"}); !id.empty()) {
      line += ", deployment " + s.Bold(id);
    }
    out << "  " << line << '\n';
  }
  // Function keys by deployed name, to label routes when the service has several functions.
  std::map<std::string, std::string> keys;
  for (const boost::json::value& v : GetArray(result, {"functions"})) {
    keys[GetString(AsObject(v), {"function_name"})] = GetString(AsObject(v), {"key"});
  }
  const boost::json::array& routes = GetArray(result, {"routes"});
  if (!routes.empty()) out << "Endpoints:\n";
  // "METHOD URL", then the function's key when the service has several functions.
  std::vector<std::pair<std::string, std::string>> lines;
  for (const boost::json::value& v : routes) {
    if (v.is_string()) {  // a daemon that sends "ANY /path"
      lines.emplace_back(std::string(v.get_string()), "");
      continue;
    }
    const boost::json::object& route = AsObject(v);
    const std::string path = GetString(route, {"path"});
    const std::string url = GetString(route, {"url"}, gateway + (path == "$default" ? "/" : path));
    const std::string name = GetString(route, {"function", "function_name"});
    lines.emplace_back(fmt::format("{} {}", GetString(route, {"method"}, "ANY"), url),
                       keys.count(name) > 0 ? keys[name] : name);
  }
  size_t width = 0;
  for (const auto& [endpoint, function] : lines) width = std::max(width, DisplayWidth(endpoint));
  for (const auto& [endpoint, function] : lines) {
    if (!several_functions || function.empty()) {
      out << "  " << endpoint << '\n';
    } else {
      out << "  " << endpoint << std::string(width - DisplayWidth(endpoint) + 2, ' ')
          << s.Dim(function) << '\n';
    }
  }
  out.flush();
}

int RunDeploy(Context& context, const DeployFlags& flags) {
  const std::filesystem::path dir(flags.dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Fail(context, InvalidArgument(fmt::format("--dir {}: not a directory", flags.dir)));
  }
  std::optional<std::filesystem::path> file = FindServiceFile(dir);
  if (!file.has_value()) {
    return Fail(context,
                InvalidArgument(fmt::format(
                    "no serverless.yml in {} (use --dir to point at the service)", flags.dir)));
  }

  config::LoadOptions load;
  for (const std::string& opt : flags.opts) {
    const size_t eq = opt.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(context, InvalidArgument(fmt::format("--opt '{}': expected NAME=VALUE", opt)));
    }
    load.options[opt.substr(0, eq)] = opt.substr(eq + 1);
  }
  if (!flags.stage.empty()) load.options["stage"] = flags.stage;
  if (!flags.region.empty()) load.options["region"] = flags.region;
  load.getenv = context.getenv;
  Result<config::ServiceSpec> spec = config::LoadServiceSpec(*file, load);
  if (!spec.ok()) {
    // The loader's message already names FILE:LINE:COL; print it exactly.
    context.err << spec.status().message() << '\n';
    return kExitUsage;
  }
  for (const std::string& notice : spec->notices) context.err << "notice: " << notice << '\n';

  std::set<std::string>
      selected;  // deployed names to report; every function when --function is unset
  if (!flags.function.empty()) {
    const config::FunctionSpec* function = config::FindFunction(*spec, flags.function);
    if (function == nullptr) {
      std::vector<std::string> keys;
      for (const config::FunctionSpec& f : spec->functions) keys.push_back(f.key);
      return Fail(context, InvalidArgument(
                               fmt::format("--function {}: {} has no such function ({})",
                                           flags.function, file->string(), fmt::join(keys, ", "))));
    }
    selected.insert(function->deployed_name);
  } else {
    for (const config::FunctionSpec& f : spec->functions) selected.insert(f.deployed_name);
  }

  Result<package::PackageInfo> package = package::CreatePackage(dir, spec->package_patterns);
  if (!package.ok()) return Fail(context, package.status().WithPrefix("packaging failed"));

  Result<AdminClient> admin = MakeAdminClient(context, flags.client, flags.dir);
  if (!admin.ok()) return Fail(context, admin.status());
  Result<boost::json::value> health = admin->Call("GET", "/v1/health");
  if (!health.ok()) return Fail(context, health.status());
  const std::string gateway = GetString(AsObject(*health), {"gateway"});

  Result<bool> uploaded = EnsureArtifact(*admin, *package);
  if (!uploaded.ok()) return Fail(context, uploaded.status().WithPrefix("uploading the package"));
  Result<boost::json::value> published = PublishService(*admin, *spec, package->sha256);
  if (!published.ok()) return Fail(context, published.status());
  boost::json::object& result = published->as_object();
  for (const boost::json::value& notice : GetArray(result, {"notices"})) {
    if (notice.is_string()) context.err << "notice: " << notice.get_string().c_str() << '\n';
  }
  if (!flags.function.empty()) {
    result["functions"] = Only(GetArray(result, {"functions"}), {"function_name"}, selected);
    result["routes"] = Only(GetArray(result, {"routes"}), {"function", "function_name"}, selected);
  }
  context.err.flush();

  std::vector<std::string> deployment_ids;
  for (const boost::json::value& v : GetArray(result, {"functions"})) {
    if (std::string id = GetString(AsObject(v), {"deployment_id"}); !id.empty()) {
      deployment_ids.push_back(std::move(id));
    }
  }
  const bool wait = flags.wait_option != nullptr && flags.wait_option->count() > 0
                        ? flags.wait
                        : context.terminal;

  if (flags.client.json) {
    result["code_sha256"] = package->sha256;
    result["uploaded"] = *uploaded;
    result["package"] = {{"files", package->file_count}, {"bytes", package->bytes.size()}};
    result["gateway"] = gateway;
  } else {
    PrintHuman(context, *spec, *package, *uploaded, result, gateway, spec->functions.size() > 1);
  }
  if (!wait || deployment_ids.empty()) {
    if (flags.client.json) WriteJson(context.out, result);
    if (!flags.client.json && !deployment_ids.empty()) {
      context.out << fmt::format("Follow with: cutover deployments {}\n", deployment_ids.front());
    }
    return kExitOk;
  }

  FollowOptions follow;
  follow.output = flags.client.json  ? FollowOutput::kQuiet
                  : context.terminal ? FollowOutput::kLive
                                     : FollowOutput::kLines;
  // A daemon that says how fast its clock runs (--time-scale) makes the countdowns exact at once.
  if (double scale = GetDouble(AsObject(*health), {"time_scale"}); scale > 0) {
    follow.time_scale = scale;
  }
  if (!flags.client.json) context.out << '\n';
  Result<FollowResult> followed = FollowDeployments(context, *admin, deployment_ids, follow);
  if (!followed.ok()) {
    return Fail(context,
                followed.status().WithPrefix("published, but following the deployments failed"));
  }
  if (flags.client.json) {
    boost::json::array deployments;
    for (boost::json::object& d : followed->deployments) deployments.emplace_back(std::move(d));
    result["deployments"] = std::move(deployments);
    WriteJson(context.out, result);
  }
  if (followed->interrupted) {
    context.err << fmt::format(
        "cutover: stopped following; the deployments go on (cutover deployments {})\n",
        deployment_ids.front());
    return kExitFailed;
  }
  return WaitExitCode(followed->deployments);
}

}  // namespace

Command AddDeployCommand(CLI::App& app) {
  auto flags = std::make_shared<DeployFlags>();
  CLI::App* sub = app.add_subcommand(
      "deploy", "Package the service, upload it and publish new versions (like `sls deploy`)");
  sub->add_option("--dir", flags->dir, "Service directory containing serverless.yml")
      ->capture_default_str();
  sub->add_option("--stage", flags->stage,
                  "Stage (${opt:stage}; default: provider.stage, else dev)");
  sub->add_option("--region", flags->region, "Region (${opt:region})");
  sub->add_option("--opt", flags->opts, "Set ${opt:NAME} (repeatable): --opt NAME=VALUE")
      ->allow_extra_args(false);
  sub->add_option(
      "--function", flags->function,
      "Report only this function (a key under functions:); the whole service is deployed");
  flags->wait_option = sub->add_flag(
      "--wait,!--no-wait", flags->wait,
      "Follow the gradual deployments until they end; exit 1 unless all succeed (default on a "
      "terminal)");
  AddClientFlags(*sub, flags->client, /*with_json=*/true);

  Command command;
  command.app = sub;
  command.run = [flags](Context& context) { return RunDeploy(context, *flags); };
  return command;
}

}  // namespace cutover::cli
