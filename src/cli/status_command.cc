// `cutover status`: GET /v1/status, as tables or as the daemon's JSON document.

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <memory>
#include <ostream>

#include "cli/command_context.h"
#include "cli/json_fields.h"

namespace cutover::cli {
namespace {

// "1, 2, 3", or "1 … 12 (12)" for long lists.
std::string FormatVersions(const std::vector<int64_t>& versions) {
  if (versions.empty()) return "-";
  if (versions.size() <= 5) return fmt::format("{}", fmt::join(versions, ", "));
  return fmt::format("{} … {} ({})", versions.front(), versions.back(), versions.size());
}

int64_t VersionOf(const boost::json::value& v) {
  if (v.is_object()) return GetInt(v.get_object(), {"version"});
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<int64_t>(v.get_uint64());
  return 0;
}

std::string FormatAlias(const boost::json::object& alias) {
  return FormatAliasTarget(GetString(alias, {"name"}), GetInt(alias, {"primary_version"}),
                           GetInt(alias, {"additional_version"}),
                           GetDouble(alias, {"additional_weight"}));
}

// The function's aliases: an "aliases" array, or the single "alias" object the daemon sends today.
std::vector<const boost::json::object*> AliasesOf(const boost::json::object& function) {
  std::vector<const boost::json::object*> out;
  for (const boost::json::value& a : GetArray(function, {"aliases"})) {
    if (a.is_object()) out.push_back(&a.get_object());
  }
  const boost::json::object& single = GetObject(function, {"alias"});
  if (out.empty() && !single.empty()) out.push_back(&single);
  return out;
}

// A node on etcd: the store, whether its routes follow it, and every live node with its role.
void PrintFleet(Context& context, const boost::json::object& fleet) {
  const Style& s = context.style;
  std::ostream& out = context.out;
  const bool live = GetString(fleet, {"routes"}) == "live";
  out << "Store: " << GetString(fleet, {"store"}) << "  routes "
      << (live ? s.Green("live") : s.Red("stale: etcd unreachable, serving the last known routes"))
      << "\n";
  if (const std::string error = GetString(fleet, {"error"}); !error.empty()) {
    out << "Nodes: cannot list them (" << error << ")\n";
    return;
  }
  Table nodes({"NODE", "ROLE", "HEALTH", "GATEWAY", "ADMIN"});
  for (const boost::json::value& v : GetArray(fleet, {"nodes"})) {
    const boost::json::object& node = AsObject(v);
    const bool leader =
        node.contains("leader") && node.at("leader").is_bool() && node.at("leader").get_bool();
    nodes.AddRow({Table::Cell(GetString(node, {"id"}), Table::Color::kBold),
                  leader ? "leader" : "follower", GetString(node, {"health"}),
                  GetString(node, {"gateway"}), GetString(node, {"admin"})});
  }
  out << '\n' << s.Bold("Nodes") << '\n';
  if (nodes.empty()) {
    out << "  none has announced itself yet\n";
  } else {
    nodes.Print(out, s, "  ");
  }
}

void PrintStatus(Context& context, const boost::json::object& status) {
  const Style& s = context.style;
  std::ostream& out = context.out;
  const std::string gateway = GetString(status, {"gateway"});
  const boost::json::array& functions = GetArray(status, {"functions"});
  if (!gateway.empty()) out << "Gateway: " << gateway << "\n";
  if (const std::string memory = GetString(status, {"memory_limit"}); !memory.empty()) {
    out << "Function memory: " << memory << "\n";
  }
  if (const boost::json::value* fleet = status.if_contains("fleet");
      fleet != nullptr && fleet->is_object()) {
    PrintFleet(context, fleet->get_object());
  }
  if (functions.empty()) {
    out << "No services deployed. Deploy one with: cutover deploy --dir <service dir>\n";
    out.flush();
    return;
  }

  Table services({"SERVICE", "STAGE", "FUNCTIONS"});
  for (const boost::json::value& v : GetArray(status, {"services"})) {
    const boost::json::object& service = AsObject(v);
    const boost::json::value* names = service.if_contains("functions");
    const size_t count = names != nullptr && names->is_array() ? names->get_array().size()
                                                               : GetInt(service, {"functions"});
    services.AddRow({Table::Cell(GetString(service, {"service", "name"}), Table::Color::kBold),
                     GetString(service, {"stage"}), std::to_string(count)});
  }
  if (!services.empty()) {
    out << '\n' << s.Bold("Services") << '\n';
    services.Print(out, s, "  ");
  }

  Table function_table({"FUNCTION", "RUNTIME", "VERSIONS", "ALIAS"});
  Table routes({"METHOD", "URL", "FUNCTION"});
  Table pools({"FUNCTION", "VERSION", "INSTANCES", "BUSY", "QUEUED"});
  auto add_route = [&](const boost::json::object& route, const std::string& fallback_function) {
    const std::string path = GetString(route, {"path"});
    routes.AddRow({GetString(route, {"method"}, "ANY"),
                   GetString(route, {"url"}, gateway + (path == "$default" ? "/" : path)),
                   GetString(route, {"function", "function_name"}, fallback_function)});
  };
  auto add_pool = [&](const boost::json::object& pool, const std::string& function,
                      int64_t version) {
    const int64_t instances = GetInt(pool, {"instances"});
    const int64_t busy = GetInt(pool, {"busy"});
    const int64_t queued = GetInt(pool, {"queued"});
    if (instances == 0 && busy == 0 && queued == 0) return;
    pools.AddRow({function, std::to_string(version), std::to_string(instances),
                  std::to_string(busy),
                  Table::Cell(std::to_string(queued),
                              queued > 0 ? Table::Color::kYellow : Table::Color::kNone)});
  };

  for (const boost::json::value& v : functions) {
    const boost::json::object& function = AsObject(v);
    const std::string name = GetString(function, {"function_name", "name"});
    std::vector<int64_t> versions;
    for (const boost::json::value& version : GetArray(function, {"versions"})) {
      versions.push_back(VersionOf(version));
      if (version.is_object()) {
        add_pool(GetObject(version.get_object(), {"pool"}), name, versions.back());
      }
    }
    std::vector<std::string> aliases;
    bool shifting = false;
    for (const boost::json::object* alias : AliasesOf(function)) {
      aliases.push_back(FormatAlias(*alias));
      shifting = shifting || GetInt(*alias, {"additional_version"}) > 0;
    }
    function_table.AddRow(
        {Table::Cell(name, Table::Color::kBold), GetString(function, {"runtime"}, "-"),
         FormatVersions(versions),
         Table::Cell(aliases.empty() ? "-" : fmt::format("{}", fmt::join(aliases, "; ")),
                     shifting ? Table::Color::kYellow : Table::Color::kNone)});
    for (const boost::json::value& route : GetArray(function, {"routes"})) {
      add_route(AsObject(route), name);
    }
  }
  for (const boost::json::value& route : GetArray(status, {"routes"}))
    add_route(AsObject(route), "");
  for (const boost::json::value& pool : GetArray(status, {"pools", "instance_pools"})) {
    const boost::json::object& p = AsObject(pool);
    add_pool(p, GetString(p, {"function_name", "function"}), GetInt(p, {"version"}));
  }

  out << '\n' << s.Bold("Functions") << '\n';
  function_table.Print(out, s, "  ");
  if (!routes.empty()) {
    out << '\n' << s.Bold("Routes") << '\n';
    routes.Print(out, s, "  ");
  }
  out << '\n' << s.Bold("Instances") << '\n';
  if (pools.empty()) {
    out << "  none running\n";
  } else {
    pools.Print(out, s, "  ");
  }
  out.flush();
}

}  // namespace

Command AddStatusCommand(CLI::App& app) {
  auto flags = std::make_shared<ClientFlags>();
  CLI::App* sub = app.add_subcommand(
      "status",
      "Show services, functions, versions, aliases with their weights, routes, instances");
  AddClientFlags(*sub, *flags, /*with_json=*/true);

  Command command;
  command.app = sub;
  command.run = [flags](Context& context) {
    Result<AdminClient> admin = MakeAdminClient(context, *flags);
    if (!admin.ok()) return Fail(context, admin.status());
    Result<boost::json::value> status = admin->Call("GET", "/v1/status");
    if (!status.ok()) return Fail(context, status.status());
    if (flags->json) {
      WriteJson(context.out, *status);
    } else {
      PrintStatus(context, AsObject(*status));
    }
    return kExitOk;
  };
  return command;
}

}  // namespace cutover::cli
