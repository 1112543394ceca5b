// `cutover alarms`: every alarm's state and why, the last datapoints against the threshold, and —
// for one alarm — its history of transitions.
//
//   cutover alarms                       one block per alarm
//   cutover alarms ApiGateway5XXErrorAlarm   (AlarmName or logical id) with its history

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <memory>
#include <ostream>

#include "cli/command_context.h"
#include "cli/json_fields.h"

namespace cutover::cli {
namespace {

struct AlarmsFlags {
  ClientFlags client;
  std::string alarm;
};

std::string Number(const boost::json::value* v) {
  if (v == nullptr || !v->is_number()) return "-";
  return fmt::format("{:g}", v->to_number<double>());
}

void PrintAlarm(std::ostream& out, const boost::json::object& a) {
  out << fmt::format("{}  {}\n", GetString(a, {"name"}), GetString(a, {"state"}));
  std::string what = a.contains("metric")
                         ? fmt::format("{} of {}", GetString(a, {"statistic"}), GetString(a, {"metric"}))
                         : std::string("metric math");
  out << fmt::format("  {} {} {} over {} of {} period(s) of {} s\n", what,
                     GetString(a, {"comparison"}), Number(a.if_contains("threshold")),
                     GetInt(a, {"datapoints_to_alarm"}), GetInt(a, {"evaluation_periods"}),
                     GetInt(a, {"period"}));
  out << fmt::format("  reason: {}\n", GetString(a, {"reason"}));
  std::string points;
  for (const boost::json::value& dp : GetArray(a, {"datapoints"})) {
    if (!dp.is_object()) continue;
    if (!points.empty()) points += "  ";
    points += Number(dp.get_object().if_contains("value"));
  }
  out << fmt::format("  last evaluation {}: [{}] (oldest first; - = no data)\n",
                     FormatDateTime(GetInt(a, {"evaluated_ms"}), "never"), points);
}

int RunAlarms(Context& context, const AlarmsFlags& flags) {
  Result<AdminClient> admin = MakeAdminClient(context, flags.client);
  if (!admin.ok()) return Fail(context, admin.status());
  Result<boost::json::value> list = admin->Call("GET", "/v1/alarms");
  if (!list.ok()) return Fail(context, list.status());
  if (flags.alarm.empty()) {
    if (flags.client.json) {
      WriteJson(context.out, *list);
      return kExitOk;
    }
    const auto& alarms = GetArray(AsObject(*list), {"alarms"});
    if (alarms.empty()) context.out << "No alarms (add AWS::CloudWatch::Alarm resources).\n";
    for (const boost::json::value& a : alarms) {
      if (a.is_object()) PrintAlarm(context.out, a.get_object());
    }
    return kExitOk;
  }
  // One alarm, by AlarmName or logical id.
  std::string name = flags.alarm;
  for (const boost::json::value& a : GetArray(AsObject(*list), {"alarms"})) {
    if (a.is_object() && GetString(a.get_object(), {"logical_id"}) == flags.alarm) {
      name = GetString(a.get_object(), {"name"});
    }
  }
  Result<boost::json::value> one =
      admin->Call("GET", fmt::format("/v1/alarms/{}", PercentEncode(name)));
  if (!one.ok()) return Fail(context, one.status());
  if (flags.client.json) {
    WriteJson(context.out, *one);
    return kExitOk;
  }
  const auto& a = AsObject(*one);
  PrintAlarm(context.out, a);
  context.out << "  history (newest first):\n";
  for (const boost::json::value& h : GetArray(a, {"history"})) {
    if (!h.is_object()) continue;
    const auto& ho = h.get_object();
    context.out << fmt::format(
        "    {}  {} -> {}  {}\n", FormatDateTime(GetInt(ho, {"timestamp"}), "never"),
        GetString(ho, {"old_state"}), GetString(ho, {"new_state"}), GetString(ho, {"reason"}));
  }
  return kExitOk;
}

}  // namespace

Command AddAlarmsCommand(CLI::App& app) {
  auto flags = std::make_shared<AlarmsFlags>();
  CLI::App* sub = app.add_subcommand(
      "alarms", "Show each alarm's state, its reason and last datapoints, or one alarm's history");
  sub->add_option("ALARM", flags->alarm, "An AlarmName or the resource's logical id");
  AddClientFlags(*sub, flags->client, /*with_json=*/true);
  Command command;
  command.app = sub;
  command.run = [flags](Context& context) { return RunAlarms(context, *flags); };
  return command;
}

}  // namespace cutover::cli
