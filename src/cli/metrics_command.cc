// `cutover metrics`: the metrics the platform recorded, CloudWatch's way — one statistic of one
// metric (namespace, name, exact dimensions) per period — or, without a metric, the list of them.
//
//   cutover metrics                                   list every metric with its dimensions
//   cutover metrics AWS/ApiGateway 5XXError --dimension ApiName=dev-svc --statistic Sum --period 60

#include <fmt/format.h>

#include <CLI/App.hpp>
#include <memory>
#include <ostream>

#include "cli/command_context.h"
#include "cli/json_fields.h"

namespace cutover::cli {
namespace {

struct MetricsFlags {
  ClientFlags client;
  std::string ns;
  std::string name;
  std::vector<std::string> dimensions;  // Name=Value
  std::string statistic = "Average";
  int64_t period = 60;
  int64_t minutes = 15;  // how far back from now
};

int RunMetrics(Context& context, const MetricsFlags& flags) {
  Result<AdminClient> admin = MakeAdminClient(context, flags.client);
  if (!admin.ok()) return Fail(context, admin.status());

  if (flags.ns.empty()) {
    Result<boost::json::value> list = admin->Call("GET", "/v1/metrics");
    if (!list.ok()) return Fail(context, list.status());
    if (flags.client.json) {
      WriteJson(context.out, *list);
      return kExitOk;
    }
    for (const boost::json::value& m : GetArray(AsObject(*list), {"metrics"})) {
      if (!m.is_object()) continue;
      const auto& o = m.get_object();
      std::string dims;
      if (const auto* d = o.if_contains("dimensions"); d && d->is_object()) {
        for (const auto& [k, v] : d->get_object()) {
          if (!dims.empty()) dims += ",";
          dims += fmt::format("{}={}", std::string_view(k),
                              v.is_string() ? std::string_view(v.get_string()) : "");
        }
      }
      context.out << fmt::format("{} {} {}\n", GetString(o, {"namespace"}), GetString(o, {"name"}),
                                 dims);
    }
    return kExitOk;
  }
  if (flags.name.empty()) return Fail(context, InvalidArgument("give NAME after NAMESPACE"));

  std::vector<std::string> query = {
      fmt::format("namespace={}", PercentEncode(flags.ns)),
      fmt::format("name={}", PercentEncode(flags.name)),
      fmt::format("statistic={}", PercentEncode(flags.statistic)),
      fmt::format("period={}", flags.period)};
  if (!flags.dimensions.empty()) {
    query.push_back(fmt::format("dimensions={}", PercentEncode(fmt::format(
                                                     "{}", fmt::join(flags.dimensions, ",")))));
  }
  // The window is relative to the daemon's clock, which --time-scale may run fast.
  query.push_back(fmt::format("minutes={}", flags.minutes));
  Result<boost::json::value> result =
      admin->Call("GET", fmt::format("/v1/metrics/query?{}", fmt::join(query, "&")));
  if (!result.ok()) return Fail(context, result.status());
  if (flags.client.json) {
    WriteJson(context.out, *result);
    return kExitOk;
  }
  const auto& o = AsObject(*result);
  context.out << fmt::format("{}  {} per {} s\n", GetString(o, {"metric"}),
                             GetString(o, {"statistic"}), GetInt(o, {"period"}));
  if (const auto* exists = o.if_contains("exists"); exists && exists->is_bool() &&
                                                    !exists->get_bool()) {
    context.err << "notice: no data was ever recorded for this metric (check its dimensions "
                   "with `cutover metrics`)\n";
  }
  for (const boost::json::value& dp : GetArray(o, {"datapoints"})) {
    if (!dp.is_object()) continue;
    const auto& p = dp.get_object();
    const boost::json::value* v = p.if_contains("value");
    std::string value = v && v->is_number() ? fmt::format("{:g}", v->to_number<double>()) : "-";
    context.out << fmt::format("  {}  {:>12}  ({} samples)\n",
                               FormatTimeOfDay(GetInt(p, {"timestamp"})), value,
                               GetInt(p, {"sample_count"}));
  }
  return kExitOk;
}

}  // namespace

Command AddMetricsCommand(CLI::App& app) {
  auto flags = std::make_shared<MetricsFlags>();
  CLI::App* sub = app.add_subcommand(
      "metrics", "List the recorded metrics, or show one statistic of one metric per period");
  sub->add_option("NAMESPACE", flags->ns, "AWS/ApiGateway, AWS/Lambda, or an EMF namespace");
  sub->add_option("NAME", flags->name, "The metric name (5XXError, Latency, Invocations, ...)");
  sub->add_option("--dimension,-d", flags->dimensions,
                  "Name=Value; repeat for each dimension of the metric (exact set, as CloudWatch)");
  sub->add_option("--statistic,-s", flags->statistic,
                  "Sum, Average, SampleCount, Minimum, Maximum, p99, tm90, TM(10%:90%), IQM, ...")
      ->capture_default_str();
  sub->add_option("--period,-p", flags->period, "Seconds per datapoint")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  sub->add_option("--minutes,-m", flags->minutes, "How far back from now")
      ->check(CLI::Range(1, 190))
      ->capture_default_str();
  AddClientFlags(*sub, flags->client, /*with_json=*/true);

  Command command;
  command.app = sub;
  command.run = [flags](Context& context) { return RunMetrics(context, *flags); };
  return command;
}

}  // namespace cutover::cli
