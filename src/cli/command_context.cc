#include "cli/command_context.h"

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <ostream>
#include <vector>

#include "cli/json_fields.h"

namespace cutover::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kUnavailable:
      return kExitUnreachable;
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}

int Fail(const Context& context, const Status& status) {
  context.err << "cutover: " << status.message() << '\n';
  context.err.flush();
  return ExitCodeFor(status);
}

void AddClientFlags(CLI::App& command, ClientFlags& flags, bool with_json) {
  command.add_option("--admin", flags.admin,
                     "Admin API URL (default: $CUTOVER_ADMIN, else http://127.0.0.1:3001)");
  if (with_json) command.add_flag("--json", flags.json, "Print one JSON document on stdout");
}

Result<AdminClient> MakeAdminClient(const Context& context, const ClientFlags& flags,
                                    std::string service_dir) {
  std::string url = flags.admin;
  if (url.empty()) url = context.getenv("CUTOVER_ADMIN").value_or("");
  if (url.empty()) url = std::string(kDefaultAdminUrl);
  return AdminClient::Create(url, context.getenv("CUTOVER_TOKEN"), std::move(service_dir));
}

Result<std::string> ResolveFunctionName(const AdminClient& admin, const std::string& name) {
  CUTOVER_ASSIGN_OR_RETURN(boost::json::value listing, admin.Call("GET", "/v1/functions"));
  const boost::json::array& functions =
      listing.is_array() ? listing.get_array() : GetArray(AsObject(listing), {"functions"});
  std::vector<std::string> by_key;
  for (const boost::json::value& f : functions) {
    const boost::json::object& function = AsObject(f);
    const std::string deployed = GetString(function, {"function_name", "name"});
    if (deployed == name) return deployed;
    if (GetString(function, {"key", "function_key"}) == name) by_key.push_back(deployed);
  }
  if (by_key.size() == 1) return by_key.front();
  if (by_key.empty()) return NotFound(fmt::format("no function named '{}' is deployed", name));
  return InvalidArgument(
      fmt::format("'{}' is the key of several functions ({}); use the deployed name", name,
                  fmt::join(by_key, ", ")));
}

}  // namespace cutover::cli
