#include "alarms/alarm_spec.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/loader.h"

namespace cutover::alarms {
namespace {

namespace json = boost::json;

// The seed's alarm (examples/seed/serverless.yml, resources.Resources.ApiGateway5XXErrorAlarm) with
// ${self:provider.stage}-${self:service} resolved, as config/loader hands it over.
constexpr const char* kSeedAlarm = R"({
  "AlarmDescription": "Api Gateway server-side errors captured",
  "Namespace": "AWS/ApiGateway",
  "MetricName": "5XXError",
  "Dimensions": [{"Name": "ApiName", "Value": "dev-bref-canary-deployments-demo"}],
  "Statistic": "Sum",
  "Period": 60,
  "EvaluationPeriods": 1,
  "Threshold": 1,
  "ComparisonOperator": "GreaterThanOrEqualToThreshold"
})";

const AlarmContext kContext{"bref-canary-deployments-demo", "dev"};

config::ResourceSpec Resource(const json::object& properties, std::string id = "Alarm") {
  config::ResourceSpec resource;
  resource.logical_id = std::move(id);
  resource.type = "AWS::CloudWatch::Alarm";
  resource.properties = properties;
  resource.where = config::SourceLocation{"serverless.yml", 35, 5};
  return resource;
}

json::object Json(const char* text) { return json::parse(text).as_object(); }

AlarmSpec ParseOk(const json::object& properties) {
  Result<AlarmSpec> spec = ParseAlarmSpec(Resource(properties), kContext);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? std::move(spec).value() : AlarmSpec{};
}

LintContext SeedLintContext() {
  LintContext ctx;
  ctx.api_names = {"dev-bref-canary-deployments-demo"};
  ctx.stages = {"dev"};
  ctx.function_names = {"bref-canary-deployments-demo-dev-website"};
  ctx.aliases = {"Live"};
  return ctx;
}

TEST(AlarmSpecTest, ParsesTheSeedAlarm) {
  Result<AlarmSpec> parsed =
      ParseAlarmSpec(Resource(Json(kSeedAlarm), "ApiGateway5XXErrorAlarm"), kContext);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const AlarmSpec& spec = *parsed;
  EXPECT_EQ(spec.logical_id, "ApiGateway5XXErrorAlarm");
  EXPECT_EQ(spec.alarm_name, "bref-canary-deployments-demo-dev-ApiGateway5XXErrorAlarm");
  EXPECT_EQ(spec.description, "Api Gateway server-side errors captured");
  EXPECT_TRUE(spec.actions_enabled);
  EXPECT_TRUE(spec.alarm_actions.empty());
  ASSERT_TRUE(spec.metric.has_value());
  EXPECT_EQ(spec.metric->ToString(),
            "AWS/ApiGateway 5XXError {ApiName=dev-bref-canary-deployments-demo}");
  EXPECT_EQ(spec.statistic_text, "Sum");
  EXPECT_FALSE(spec.extended_statistic);
  EXPECT_EQ(spec.statistic.kind, metrics::StatisticKind::kSum);
  EXPECT_EQ(spec.period_seconds, 60);
  EXPECT_EQ(spec.evaluation_periods, 1);
  EXPECT_EQ(spec.datapoints_to_alarm, 1);
  EXPECT_EQ(spec.threshold, 1.0);
  EXPECT_EQ(spec.comparison, Comparison::kGreaterThanOrEqualToThreshold);
  EXPECT_EQ(spec.treat_missing_data, TreatMissingData::kMissing);
  EXPECT_TRUE(spec.evaluate_low_sample_count_percentile);
  EXPECT_FALSE(spec.unit.has_value());
  EXPECT_TRUE(spec.metrics.empty());
  EXPECT_TRUE(spec.notes.empty());
  EXPECT_EQ(spec.where.line, 35);

  EvaluationParams params = MakeEvaluationParams(spec);
  EXPECT_EQ(params.period_seconds, 60);
  EXPECT_EQ(params.evaluation_periods, 1);
  EXPECT_EQ(params.datapoints_to_alarm, 1);
  EXPECT_EQ(params.threshold, 1.0);
  EXPECT_EQ(params.statistic, "Sum");
  EXPECT_FALSE(params.ignore_low_sample_percentile.has_value());

  EXPECT_TRUE(LintAlarm(spec, SeedLintContext()).empty());
}

TEST(AlarmSpecTest, ParsesTheSeedAlarmThroughTheConfigLoader) {
  std::ifstream file(std::string(CUTOVER_SOURCE_DIR) + "/examples/seed/serverless.yml");
  std::stringstream text;
  text << file.rdbuf();
  ASSERT_FALSE(text.str().empty());
  config::LoadOptions options;
  options.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  options.check_files = false;
  Result<config::ServiceSpec> service =
      config::ParseServiceSpec(text.str(), "serverless.yml", "/nonexistent", options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  ASSERT_EQ(service->resources.size(), 1u);
  const config::ResourceSpec& resource = service->resources[0];
  EXPECT_EQ(resource.where.line, 33);
  Result<AlarmSpec> spec = ParseAlarmSpec(resource, {service->service, service->stage});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->alarm_name, "bref-canary-deployments-demo-dev-ApiGateway5XXErrorAlarm");
  EXPECT_EQ(spec->metric->dims,
            (metrics::Dimensions{{"ApiName", "dev-bref-canary-deployments-demo"}}));
  EXPECT_EQ(spec->threshold, 1.0);
  LintContext ctx = SeedLintContext();
  ctx.api_names = {service->api_name};
  EXPECT_TRUE(LintAlarm(*spec, ctx).empty());
}

TEST(AlarmSpecTest, AcceptsNumericStringsAndBooleanStrings) {
  json::object props = Json(kSeedAlarm);
  props["Period"] = "300";
  props["EvaluationPeriods"] = "3";
  props["DatapointsToAlarm"] = 2.0;
  props["Threshold"] = "0.5";
  props["ActionsEnabled"] = "false";
  AlarmSpec spec = ParseOk(props);
  EXPECT_EQ(spec.period_seconds, 300);
  EXPECT_EQ(spec.evaluation_periods, 3);
  EXPECT_EQ(spec.datapoints_to_alarm, 2);
  EXPECT_EQ(spec.threshold, 0.5);
  EXPECT_FALSE(spec.actions_enabled);
}

TEST(AlarmSpecTest, ReadsEveryOptionalProperty) {
  AlarmSpec spec = ParseOk(Json(R"({
    "AlarmName": "website-errors",
    "Namespace": "AWS/Lambda", "MetricName": "Duration",
    "Dimensions": [{"Name": "FunctionName", "Value": "svc-dev-website"},
                   {"Name": "Resource", "Value": "svc-dev-website:Live"},
                   {"Name": "ExecutedVersion", "Value": 7}],
    "ExtendedStatistic": "p99", "Period": 10, "EvaluationPeriods": 6, "DatapointsToAlarm": 3,
    "Threshold": 250, "ComparisonOperator": "GreaterThanThreshold",
    "TreatMissingData": "notBreaching", "EvaluateLowSampleCountPercentile": "ignore",
    "Unit": "Milliseconds",
    "AlarmActions": ["https://hooks.example.com/alarm", "arn:aws:sns:us-east-1:123456789012:topic"],
    "OKActions": [{"Ref": "OkTopic"}],
    "InsufficientDataActions": [],
    "Tags": [{"Key": "team", "Value": "web"}]
  })"));
  EXPECT_EQ(spec.alarm_name, "website-errors");
  // Dimensions are a set: kept sorted by name; the YAML integer 7 reads as "7".
  EXPECT_EQ(spec.metric->dims, (metrics::Dimensions{{"ExecutedVersion", "7"},
                                                    {"FunctionName", "svc-dev-website"},
                                                    {"Resource", "svc-dev-website:Live"}}));
  EXPECT_TRUE(spec.extended_statistic);
  EXPECT_EQ(spec.statistic_text, "p99");
  EXPECT_EQ(spec.statistic.kind, metrics::StatisticKind::kPercentile);
  EXPECT_EQ(spec.period_seconds, 10);
  EXPECT_EQ(spec.comparison, Comparison::kGreaterThanThreshold);
  EXPECT_EQ(spec.treat_missing_data, TreatMissingData::kNotBreaching);
  EXPECT_FALSE(spec.evaluate_low_sample_count_percentile);
  EXPECT_EQ(spec.unit, "Milliseconds");
  ASSERT_EQ(spec.alarm_actions.size(), 2u);
  EXPECT_TRUE(spec.alarm_actions[0].actionable);
  EXPECT_FALSE(spec.alarm_actions[1].actionable);
  ASSERT_EQ(spec.ok_actions.size(), 1u);
  EXPECT_EQ(spec.ok_actions[0].target, R"({"Ref":"OkTopic"})");
  EXPECT_FALSE(spec.ok_actions[0].actionable);
  EXPECT_EQ(spec.tags.at("team"), "web");
  ASSERT_EQ(spec.notes.size(), 2u);
  EXPECT_EQ(
      spec.notes[0],
      "serverless.yml:35:5: resources.Resources.Alarm.Properties.AlarmActions[1]: "
      "'arn:aws:sns:us-east-1:123456789012:topic' is an ARN: kept, but cutover has no SNS, Auto "
      "Scaling or EC2 to act on it (it acts on http(s) URLs)");
  EXPECT_NE(spec.notes[1].find("OKActions[0]: {\"Ref\":\"OkTopic\"} is a CloudFormation reference"),
            std::string::npos)
      << spec.notes[1];

  EvaluationParams params = MakeEvaluationParams(spec);
  EXPECT_EQ(params.ignore_low_sample_percentile, 99.0);
  EXPECT_EQ(params.unit, "Milliseconds");
  EXPECT_EQ(params.datapoints_to_alarm, 3);
}

TEST(AlarmSpecTest, OneSecondPeriodIsCutoversExtension) {
  json::object props = Json(kSeedAlarm);
  props["Period"] = 1;
  props["EvaluationPeriods"] = 86400;  // exactly one day
  AlarmSpec spec = ParseOk(props);
  EXPECT_EQ(spec.period_seconds, 1);
}

TEST(AlarmSpecTest, LongPeriodsMayCoverSevenDays) {
  json::object props = Json(kSeedAlarm);
  props["Period"] = 3600;
  props["EvaluationPeriods"] = 168;
  EXPECT_EQ(ParseOk(props).evaluation_periods, 168);
}

// ---- errors ----

struct ErrorRow {
  const char* name;
  const char* overrides;             // JSON object merged over the seed's properties
  std::vector<const char*> removed;  // properties removed from the seed's
  const char* path;                  // after "Properties."
  const char* message;               // the rest of the message must start with this
};

const std::string kPrefix = "serverless.yml:35:5: resources.Resources.Alarm.Properties.";

const ErrorRow kErrorRows[] = {
    {"UnknownProperty",
     R"({"Perod": 60})",
     {},
     "Perod",
     "unknown property 'Perod' (did you mean 'Period'?); AWS::CloudWatch::Alarm (as cutover reads "
     "it) "
     "has AlarmName, AlarmDescription, "},
    {"UnknownPropertyCase",
     R"({"period": 60})",
     {},
     "period",
     "unknown property 'period' (did you "
     "mean 'Period'?)"},
    {"PeriodNotAllowed",
     R"({"Period": 45})",
     {},
     "Period",
     "must be 10, 20, 30 or a multiple of 60 seconds (or 1, cutover's extension for fast demos), "
     "got "
     "45"},
    {"PeriodNotANumber",
     R"({"Period": "a minute"})",
     {},
     "Period",
     "must be a number, got 'a minute'"},
    {"PeriodFractional", R"({"Period": 60.5})", {}, "Period", "must be a whole number, got 60.5"},
    {"PeriodMissing", "{}", {"Period"}, "Period", "Period is required for an alarm on one metric"},
    {"EvaluationPeriodsZero",
     R"({"EvaluationPeriods": 0})",
     {},
     "EvaluationPeriods",
     "must be at least 1, got 0"},
    {"EvaluationPeriodsMissing", "{}", {"EvaluationPeriods"}, "EvaluationPeriods", "is required"},
    {"OverOneDay",
     R"({"EvaluationPeriods": 1441})",
     {},
     "EvaluationPeriods",
     "1441 periods of 60 s is 86460 s; CloudWatch allows at most 86400 s (one day) when Period is "
     "under 3600 s"},
    {"OverSevenDays",
     R"({"Period": 3600, "EvaluationPeriods": 169})",
     {},
     "EvaluationPeriods",
     "169 periods of 3600 s is 608400 s; CloudWatch allows at most 604800 s (seven days)"},
    {"DatapointsOverN",
     R"({"EvaluationPeriods": 3, "DatapointsToAlarm": 4})",
     {},
     "DatapointsToAlarm",
     "must be between 1 and EvaluationPeriods (3), got 4"},
    {"DatapointsZero",
     R"({"DatapointsToAlarm": 0})",
     {},
     "DatapointsToAlarm",
     "must be between 1 and EvaluationPeriods (1), got 0"},
    {"BothStatistics",
     R"({"ExtendedStatistic": "p99"})",
     {},
     "ExtendedStatistic",
     "give either Statistic or ExtendedStatistic, not both"},
    {"NoStatistic", "{}", {"Statistic"}, "Statistic", "is required (or ExtendedStatistic"},
    {"BadStatistic",
     R"({"Statistic": "Avg"})",
     {},
     "Statistic",
     "must be one of SampleCount, Average, Sum, Minimum, Maximum, got 'Avg'"},
    {"PercentileAsStatistic", R"({"Statistic": "p99"})", {}, "Statistic", "must be one of"},
    {"BadExtendedStatistic",
     R"({"ExtendedStatistic": "p101"})",
     {"Statistic"},
     "ExtendedStatistic",
     ""},
    {"PlainExtendedStatistic",
     R"({"ExtendedStatistic": "Sum"})",
     {"Statistic"},
     "ExtendedStatistic",
     "'Sum' is a plain statistic: write it as Statistic"},
    {"AnomalyOperator",
     R"({"ComparisonOperator": "GreaterThanUpperThreshold"})",
     {},
     "ComparisonOperator",
     "anomaly detection alarms are not supported"},
    {"AnomalyBand",
     R"({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"})",
     {},
     "ComparisonOperator",
     "anomaly detection alarms are not supported"},
    {"ThresholdMetricId",
     R"({"ThresholdMetricId": "ad1"})",
     {},
     "ThresholdMetricId",
     "anomaly detection alarms are not supported"},
    {"BadOperator",
     R"({"ComparisonOperator": "GreaterThan"})",
     {},
     "ComparisonOperator",
     "must be one of GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, "
     "LessThanOrEqualToThreshold, got 'GreaterThan'"},
    {"OperatorMissing", "{}", {"ComparisonOperator"}, "ComparisonOperator", "is required"},
    {"ThresholdMissing", "{}", {"Threshold"}, "Threshold", "is required"},
    {"ThresholdNotANumber",
     R"({"Threshold": "one"})",
     {},
     "Threshold",
     "must be a number, got 'one'"},
    {"ThresholdList", R"({"Threshold": [1]})", {}, "Threshold", "must be a number, got a list"},
    {"TreatMissingDataCase",
     R"({"TreatMissingData": "NotBreaching"})",
     {},
     "TreatMissingData",
     "must be one of breaching, notBreaching, ignore, missing, got 'NotBreaching' (did you mean "
     "'notBreaching'?)"},
    {"LowSample",
     R"({"EvaluateLowSampleCountPercentile": "skip"})",
     {},
     "EvaluateLowSampleCountPercentile",
     "must be one of evaluate, ignore, got 'skip'"},
    {"Unit", R"({"Unit": "Millis"})", {}, "Unit", "must be one of Seconds, Microseconds, "},
    {"NamespaceMissing", "{}", {"Namespace"}, "Namespace", "Namespace is required"},
    {"NamespaceColon", R"({"Namespace": ":x"})", {}, "Namespace", "must not start with ':'"},
    {"MetricNameEmpty", R"({"MetricName": ""})", {}, "MetricName", "must not be empty"},
    {"DimensionsNotAList",
     R"({"Dimensions": {"Name": "ApiName"}})",
     {},
     "Dimensions",
     "must be a list, got a mapping"},
    {"DimensionWithoutValue",
     R"({"Dimensions": [{"Name": "ApiName"}]})",
     {},
     "Dimensions[0].Value",
     "is required"},
    {"DimensionUnknownKey",
     R"({"Dimensions": [{"Name": "ApiName", "Vaule": "x"}]})",
     {},
     "Dimensions[0].Vaule",
     "unknown property 'Vaule' (did you mean 'Value'?); a dimension has Name, "
     "Value"},
    {"DimensionRef",
     R"({"Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "WebsiteLambda"}}]})",
     {},
     "Dimensions[0].Value",
     "CloudFormation's Ref is not supported here: cutover resolves ${...} variables but does not "
     "evaluate CloudFormation functions; write the value itself"},
    {"DimensionTwice",
     R"({"Dimensions": [{"Name": "ApiName", "Value": "a"}, {"Name": "ApiName", "Value": "b"}]})",
     {},
     "Dimensions[1].Name",
     "dimension 'ApiName' is given twice"},
    {"TooManyActions",
     R"({"AlarmActions": ["https://a", "https://a", "https://a", "https://a",
                                             "https://a", "https://a"]})",
     {},
     "AlarmActions",
     "has 6 actions; CloudWatch allows at most 5"},
    {"ActionNotAUrl",
     R"({"OKActions": ["mailto:ops@example.com"]})",
     {},
     "OKActions[0]",
     "must be an http(s) URL (which cutover calls) or an ARN, got 'mailto:ops@example.com'"},
    {"ActionBadUrl",
     R"({"InsufficientDataActions": ["https://"]})",
     {},
     "InsufficientDataActions[0]",
     "'https://' is not a valid URL"},
    {"ActionsEnabledYes",
     R"({"ActionsEnabled": "yes"})",
     {},
     "ActionsEnabled",
     "must be true or false, got 'yes'"},
    {"AlarmNameNonAscii",
     R"({"AlarmName": "caf\u00e9"})",
     {},
     "AlarmName",
     "must contain only ASCII characters"},
    {"AlarmNameNull", R"({"AlarmName": null})", {}, "AlarmName", "must be a string, got nothing"},
    {"TagWithoutKey", R"({"Tags": [{"Value": "x"}]})", {}, "Tags[0].Key", "is required"},
};

class AlarmSpecErrorTest : public ::testing::TestWithParam<ErrorRow> {};

TEST_P(AlarmSpecErrorTest, NamesFileLineColumnAndProperty) {
  const ErrorRow& row = GetParam();
  json::object props = Json(kSeedAlarm);
  for (const char* key : row.removed) props.erase(key);
  for (const auto& [key, value] : Json(row.overrides)) props[key] = value;
  Result<AlarmSpec> spec = ParseAlarmSpec(Resource(props), kContext);
  ASSERT_FALSE(spec.ok()) << row.name;
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  const std::string expected = kPrefix + row.path + ": " + row.message;
  EXPECT_EQ(spec.status().message().substr(0, expected.size()), expected)
      << row.name << "\n  got: " << spec.status().message();
}

INSTANTIATE_TEST_SUITE_P(Properties, AlarmSpecErrorTest, ::testing::ValuesIn(kErrorRows),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AlarmSpecTest, LongNamesAndDescriptionsAreLimited) {
  json::object props = Json(kSeedAlarm);
  props["AlarmName"] = std::string(256, 'a');
  Result<AlarmSpec> spec = ParseAlarmSpec(Resource(props), kContext);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            kPrefix + "AlarmName: must be at most 255 characters, got 256");
  props["AlarmName"] = std::string(255, 'a');
  props["AlarmDescription"] = std::string(1025, 'd');
  spec = ParseAlarmSpec(Resource(props), kContext);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            kPrefix + "AlarmDescription: must be at most 1024 characters, got 1025");
}

TEST(AlarmSpecTest, AtMostThirtyDimensions) {
  json::object props = Json(kSeedAlarm);
  json::array dims;
  for (int i = 0; i < 31; ++i)
    dims.push_back(json::object{{"Name", fmt::format("d{}", i)}, {"Value", "v"}});
  props["Dimensions"] = dims;
  Result<AlarmSpec> spec = ParseAlarmSpec(Resource(props), kContext);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            kPrefix + "Dimensions: has 31 dimensions; CloudWatch allows at most 30");
  dims.pop_back();
  props["Dimensions"] = dims;
  EXPECT_TRUE(ParseAlarmSpec(Resource(props), kContext).ok());
}

// ---- metric math ----

constexpr const char* kErrorRateAlarm = R"json({
  "AlarmName": "error-rate",
  "EvaluationPeriods": 2, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "Metrics": [
    {"Id": "rate", "Expression": "100 * errors / FILL(invocations, 1)", "Label": "Error rate (%)"},
    {"Id": "errors", "ReturnData": false,
     "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors",
                               "Dimensions": [{"Name": "FunctionName", "Value": "svc-dev-website"}]},
                    "Period": 60, "Stat": "Sum"}},
    {"Id": "invocations", "ReturnData": "false",
     "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations",
                               "Dimensions": [{"Name": "FunctionName", "Value": "svc-dev-website"}]},
                    "Period": "60", "Stat": "Sum", "Unit": "Count"}}
  ]
})json";

TEST(AlarmSpecTest, ParsesAMetricMathAlarm) {
  AlarmSpec spec = ParseOk(Json(kErrorRateAlarm));
  EXPECT_FALSE(spec.metric.has_value());
  ASSERT_EQ(spec.metrics.size(), 3u);
  EXPECT_EQ(spec.metrics[0].id, "rate");
  EXPECT_TRUE(spec.metrics[0].return_data);
  EXPECT_EQ(spec.metrics[0].label, "Error rate (%)");
  ASSERT_TRUE(spec.metrics[0].expression.has_value());
  EXPECT_FALSE(spec.metrics[1].return_data);
  ASSERT_TRUE(spec.metrics[1].metric_stat.has_value());
  EXPECT_EQ(spec.metrics[1].metric_stat->metric.ToString(),
            "AWS/Lambda Errors {FunctionName=svc-dev-website}");
  EXPECT_EQ(spec.metrics[2].metric_stat->unit, "Count");
  EXPECT_EQ(spec.period_seconds, 60);
  // The expression's inputs first, the ReturnData item last.
  ASSERT_EQ(spec.evaluation_order.size(), 3u);
  EXPECT_EQ(spec.evaluation_order.back(), 0u);

  EXPECT_DOUBLE_EQ(*EvaluateMetricsAt(spec, {{"errors", 3.0}, {"invocations", 50.0}}), 6.0);
  // No invocations: FILL makes the denominator 1.
  EXPECT_DOUBLE_EQ(*EvaluateMetricsAt(spec, {{"errors", 0.0}}), 0.0);
  EXPECT_FALSE(EvaluateMetricsAt(spec, {{"invocations", 10.0}}).has_value());

  EvaluationParams params = MakeEvaluationParams(spec);
  EXPECT_EQ(params.period_seconds, 60);
  EXPECT_EQ(params.statistic, "");
  EXPECT_EQ(params.treat_missing_data, TreatMissingData::kNotBreaching);
  LintContext ctx;
  ctx.function_names = {"svc-dev-website"};
  EXPECT_TRUE(LintAlarm(spec, ctx).empty());
}

TEST(AlarmSpecTest, ExpressionsMayReadOtherExpressions) {
  AlarmSpec spec = ParseOk(Json(R"({
    "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
    "Metrics": [
      {"Id": "doubled", "Expression": "twice * 2"},
      {"Id": "twice", "Expression": "m1 + m1", "ReturnData": false},
      {"Id": "m1", "ReturnData": false,
       "MetricStat": {"Metric": {"Namespace": "Custom", "MetricName": "Orders"}, "Period": 300,
                      "Stat": "p90"}},
      {"Id": "unused", "Expression": "m1 / 0", "ReturnData": false}
    ]})"));
  EXPECT_EQ(spec.evaluation_order, (std::vector<size_t>{2, 1, 0}));
  EXPECT_DOUBLE_EQ(*EvaluateMetricsAt(spec, {{"m1", 1.5}}), 6.0);
  EXPECT_EQ(spec.period_seconds, 300);
}

struct MathErrorRow {
  const char* name;
  const char* metrics;  // the Metrics array
  const char* extra;    // more properties, merged
  const char* path;
  const char* message;
};

const MathErrorRow kMathErrorRows[] = {
    {"SingleMetricPropertyWithMetrics",
     R"([{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60,
          "Stat": "Sum"}}])",
     R"({"Namespace": "AWS/Lambda"})", "Namespace",
     "cannot be used together with Metrics (a metric-math alarm names its metrics, periods and "
     "statistics inside Metrics)"},
    {"PeriodWithMetrics",
     R"([{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60,
          "Stat": "Sum"}}])",
     R"({"Period": 60})", "Period", "cannot be used together with Metrics"},
    {"Empty", "[]", "{}", "Metrics", "must not be empty"},
    {"TwoReturnData",
     R"([{"Id": "e1", "Expression": "m1 * 2"},
         {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60,
          "Stat": "Sum"}}])",
     "{}", "Metrics",
     "exactly one item must have ReturnData true, but 2 do ('e1', 'm1'); ReturnData defaults to "
     "true, "
     "so set ReturnData: false on the others"},
    {"NoReturnData",
     R"([{"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics", "no item has ReturnData true"},
    {"BadId",
     R"([{"Id": "M1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60,
          "Stat": "Sum"}}])",
     "{}", "Metrics[0].Id",
     "'M1' is not a valid Id: it must start with a lowercase letter and contain only letters, "
     "digits "
     "and '_'"},
    {"DuplicateId",
     R"([{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60,
          "Stat": "Sum"}},
         {"Id": "m1", "ReturnData": false, "Expression": "1"}])",
     "{}", "Metrics[1].Id", "Id 'm1' is used by two items"},
    {"ExpressionSyntax",
     R"([{"Id": "e1", "Expression": "m1 +"},
         {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0].Expression",
     "position 5: expected a number, a query id, '(' or FILL(...), got the end of the expression"},
    {"UnknownId",
     R"([{"Id": "e1", "Expression": "m2 * 2"},
         {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0].Expression", "unknown Id 'm2' (the items are e1, m1)"},
    {"SelfReference",
     R"([{"Id": "e1", "Expression": "e1 + m1"},
         {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0].Expression", "'e1' refers to itself"},
    {"Cycle",
     R"([{"Id": "e1", "Expression": "e2 + m1"},
         {"Id": "e2", "Expression": "e1 * 2", "ReturnData": false},
         {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0].Expression", "expressions refer to each other in a cycle through 'e1'"},
    {"DifferentPeriods",
     R"([{"Id": "e1", "Expression": "m1 + m2"},
         {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M"}, "Period": 60, "Stat": "Sum"}},
         {"Id": "m2", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M2"}, "Period": 300, "Stat": "Sum"}}])",
     "{}", "Metrics[2].MetricStat.Period",
     "all metrics of an alarm must use the same period: 300 here, 60 in Metrics[1]"},
    {"BothExpressionAndMetricStat",
     R"([{"Id": "m1", "Expression": "1", "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0]", "give exactly one of Expression and MetricStat"},
    {"OnlyExpressions", R"([{"Id": "e1", "Expression": "1 + 1"}])", "{}", "Metrics",
     "needs at least one item with MetricStat"},
    {"AccountId",
     R"([{"Id": "m1", "AccountId": "123456789012", "MetricStat": {"Metric": {"Namespace": "N",
          "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0].AccountId", "cross-account metrics are not supported"},
    {"MetricStatBadStat",
     R"([{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60,
          "Stat": "Median"}}])",
     "{}", "Metrics[0].MetricStat.Stat", ""},
    {"MetricStatBadPeriod",
     R"([{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 90,
          "Stat": "Sum"}}])",
     "{}", "Metrics[0].MetricStat.Period", "must be 10, 20, 30 or a multiple of 60 seconds"},
    {"MetricWithoutName",
     R"([{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N"}, "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0].MetricStat.Metric.MetricName", "is required"},
    {"UnknownQueryKey",
     R"([{"Id": "m1", "Stat": "Sum", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"},
          "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0].Stat",
     "unknown property 'Stat'; a MetricDataQuery has Id, Expression, MetricStat, Label, "
     "ReturnData, "
     "Period, AccountId"},
    {"QueryPeriodDisagrees",
     R"([{"Id": "m1", "Period": 300, "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"},
          "Period": 60, "Stat": "Sum"}}])",
     "{}", "Metrics[0].Period", "must match the metrics' period (60), got 300"},
};

class MetricMathSpecErrorTest : public ::testing::TestWithParam<MathErrorRow> {};

TEST_P(MetricMathSpecErrorTest, NamesThePath) {
  const MathErrorRow& row = GetParam();
  json::object props = Json(R"({"EvaluationPeriods": 1, "Threshold": 1,
                                "ComparisonOperator": "GreaterThanThreshold"})");
  props["Metrics"] = json::parse(row.metrics);
  for (const auto& [key, value] : Json(row.extra)) props[key] = value;
  Result<AlarmSpec> spec = ParseAlarmSpec(Resource(props), kContext);
  ASSERT_FALSE(spec.ok()) << row.name;
  const std::string expected = kPrefix + row.path + ": " + row.message;
  EXPECT_EQ(spec.status().message().substr(0, expected.size()), expected)
      << row.name << "\n  got: " << spec.status().message();
}

INSTANTIATE_TEST_SUITE_P(Metrics, MetricMathSpecErrorTest, ::testing::ValuesIn(kMathErrorRows),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AlarmSpecTest, AtMostTwentyQueriesAndTenMetrics) {
  json::object props = Json(R"({"EvaluationPeriods": 1, "Threshold": 1,
                                "ComparisonOperator": "GreaterThanThreshold"})");
  json::array metrics;
  metrics.push_back(json::object{{"Id", "e"}, {"Expression", "m0"}});
  for (int i = 0; i < 11; ++i) {
    metrics.push_back(json::parse(fmt::format(
        R"({{"Id": "m{}", "ReturnData": false, "MetricStat": {{"Metric": {{"Namespace": "N",
            "MetricName": "M{}"}}, "Period": 60, "Stat": "Sum"}}}})",
        i, i)));
  }
  props["Metrics"] = metrics;
  Result<AlarmSpec> spec = ParseAlarmSpec(Resource(props), kContext);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(), kPrefix + "Metrics[11]: more than 10 items with MetricStat");
  for (int i = 0; i < 10; ++i) {
    metrics.push_back(
        json::object{{"Id", fmt::format("x{}", i)}, {"Expression", "1"}, {"ReturnData", false}});
  }
  props["Metrics"] = metrics;
  spec = ParseAlarmSpec(Resource(props), kContext);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            kPrefix + "Metrics: has 22 items; CloudWatch allows at most 20");
}

// ---- lint ----

AlarmSpec LambdaAlarm(const char* dimensions, const char* metric = "Errors") {
  json::object props = Json(kSeedAlarm);
  props["Namespace"] = "AWS/Lambda";
  props["MetricName"] = metric;
  props["Dimensions"] = json::parse(dimensions);
  return ParseOk(props);
}

constexpr const char* kLintPrefix =
    "serverless.yml:35:5: resources.Resources.Alarm.Properties.Dimensions: ";

TEST(LintAlarmTest, SamsCanonicalCanaryAlarmIsClean) {
  AlarmSpec spec = LambdaAlarm(R"([
      {"Name": "Resource", "Value": "bref-canary-deployments-demo-dev-website:Live"},
      {"Name": "FunctionName", "Value": "bref-canary-deployments-demo-dev-website"},
      {"Name": "ExecutedVersion", "Value": "7"}])");
  EXPECT_TRUE(LintAlarm(spec, SeedLintContext()).empty());
  EXPECT_TRUE(LintAlarm(LambdaAlarm(R"([{"Name": "FunctionName",
                                        "Value": "bref-canary-deployments-demo-dev-website"}])"),
                        SeedLintContext())
                  .empty());
}

TEST(LintAlarmTest, ResourceArnNamesTheFix) {
  AlarmSpec spec = LambdaAlarm(R"([
      {"Name": "FunctionName", "Value": "bref-canary-deployments-demo-dev-website"},
      {"Name": "Resource",
       "Value": "arn:aws:lambda:us-east-1:123456789012:function:bref-canary-deployments-demo-dev-website:Live"}])");
  std::vector<std::string> warnings = LintAlarm(spec, SeedLintContext());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(
      warnings[0],
      std::string(kLintPrefix) +
          "Resource is an ARN "
          "('arn:aws:lambda:us-east-1:123456789012:function:bref-canary-deployments-demo-dev-"
          "website:Live'): Lambda's metrics never carry ARNs, so the alarm gets no data and "
          "stays INSUFFICIENT_DATA; use Resource: bref-canary-deployments-demo-dev-website:Live "
          "(Lambda publishes Resource as '<function>:<alias or version>')");
}

TEST(LintAlarmTest, FunctionNameArnNamesTheFix) {
  AlarmSpec spec = LambdaAlarm(R"([{"Name": "FunctionName",
      "Value": "arn:aws:lambda:us-east-1:123456789012:function:bref-canary-deployments-demo-dev-website"}])");
  std::vector<std::string> warnings = LintAlarm(spec, SeedLintContext());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("use FunctionName: bref-canary-deployments-demo-dev-website"),
            std::string::npos)
      << warnings[0];
}

TEST(LintAlarmTest, ApiNameThatIsNotEmittedNamesTheEmittedOne) {
  json::object props = Json(kSeedAlarm);
  props["Dimensions"] =
      json::parse(R"([{"Name": "ApiName", "Value": "bref-canary-deployments-demo-dev"}])");
  std::vector<std::string> warnings = LintAlarm(ParseOk(props), SeedLintContext());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            std::string(kLintPrefix) +
                "ApiName 'bref-canary-deployments-demo-dev' is not an API cutover serves; "
                "it emits ApiName 'dev-bref-canary-deployments-demo' (provider.apiName, "
                "or \"${stage}-${service}\")");
}

TEST(LintAlarmTest, UnknownMetricNames) {
  json::object props = Json(kSeedAlarm);
  props["MetricName"] = "5xxError";
  std::vector<std::string> warnings = LintAlarm(ParseOk(props), SeedLintContext());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(
      warnings[0],
      "serverless.yml:35:5: resources.Resources.Alarm.Properties.MetricName: cutover does not "
      "emit AWS/ApiGateway metric '5xxError' (it emits Count, 4XXError, 5XXError, Latency, "
      "IntegrationLatency, 4xx, 5xx, DataProcessed): the alarm will stay in INSUFFICIENT_DATA");

  std::vector<std::string> lambda = LintAlarm(
      LambdaAlarm(
          R"([{"Name": "FunctionName", "Value": "bref-canary-deployments-demo-dev-website"}])",
          "Error"),
      SeedLintContext());
  ASSERT_EQ(lambda.size(), 1u);
  EXPECT_NE(lambda[0].find("AWS/Lambda metric 'Error' (it emits Invocations, Errors, Throttles, "
                           "Duration, ConcurrentExecutions)"),
            std::string::npos)
      << lambda[0];
}

TEST(LintAlarmTest, ConcurrentExecutionsHasItsOwnDimensionSets) {
  // Per function and per alias are series; per ExecutedVersion is not (it is sampled from the
  // runtime, not counted per invocation).
  EXPECT_TRUE(LintAlarm(LambdaAlarm(R"([{"Name": "FunctionName",
                                        "Value": "bref-canary-deployments-demo-dev-website"}])",
                                    "ConcurrentExecutions"),
                        SeedLintContext())
                  .empty());
  std::vector<std::string> warnings = LintAlarm(
      LambdaAlarm(R"([{"Name": "FunctionName", "Value": "bref-canary-deployments-demo-dev-website"},
                      {"Name": "Resource", "Value": "bref-canary-deployments-demo-dev-website:Live"},
                      {"Name": "ExecutedVersion", "Value": "2"}])",
                  "ConcurrentExecutions"),
      SeedLintContext());
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find("no AWS/Lambda series has exactly the dimensions"), std::string::npos)
      << warnings[0];
}

TEST(LintAlarmTest, DimensionValuesAndSets) {
  LintContext ctx = SeedLintContext();
  // Unknown function, unknown alias, non-numeric ExecutedVersion.
  std::vector<std::string> warnings = LintAlarm(LambdaAlarm(R"([
      {"Name": "FunctionName", "Value": "website"},
      {"Name": "Resource", "Value": "website:Canary"},
      {"Name": "ExecutedVersion", "Value": "$LATEST"}])"),
                                                ctx);
  ASSERT_EQ(warnings.size(), 4u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find("ExecutedVersion is a version number ('7'), got '$LATEST'"),
            std::string::npos);
  EXPECT_NE(
      warnings[1].find("function 'website' is not deployed by this service; its functions are "
                       "'bref-canary-deployments-demo-dev-website'"),
      std::string::npos)
      << warnings[1];
  EXPECT_NE(warnings[3].find("'Canary' is neither a version number nor an alias cutover serves "
                             "('Live')"),
            std::string::npos)
      << warnings[3];

  // {Resource} alone is not a dimension set Lambda publishes.
  warnings = LintAlarm(
      LambdaAlarm(
          R"([{"Name": "Resource", "Value": "bref-canary-deployments-demo-dev-website:7"}])"),
      ctx);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(
      warnings[0],
      std::string(kLintPrefix) +
          "no AWS/Lambda series has exactly the dimensions {Resource} (a metric is one exact set "
          "of dimensions; nothing is aggregated across them); cutover emits {FunctionName}, "
          "{FunctionName, Resource}, {ExecutedVersion, FunctionName, Resource}");

  // A Stage that is not the service's.
  json::object props = Json(kSeedAlarm);
  props["Dimensions"] =
      json::parse(R"([{"Name": "ApiName", "Value": "dev-bref-canary-deployments-demo"},
                                        {"Name": "Stage", "Value": "prod"}])");
  warnings = LintAlarm(ParseOk(props), ctx);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("Stage 'prod' is not emitted; cutover emits Stage 'dev'"),
            std::string::npos);
}

TEST(LintAlarmTest, UnitMismatch) {
  json::object props = Json(kSeedAlarm);
  props["Unit"] = "Percent";
  std::vector<std::string> warnings = LintAlarm(ParseOk(props), SeedLintContext());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(
      warnings[0],
      "serverless.yml:35:5: resources.Resources.Alarm.Properties.Unit: 5XXError is recorded in "
      "Count, not Percent: with a different Unit the alarm gets no data");
}

TEST(LintAlarmTest, CustomNamespacesAreNotLinted) {
  json::object props = Json(kSeedAlarm);
  props["Namespace"] = "MyApp";
  props["MetricName"] = "CheckoutFailures";
  props["Dimensions"] = json::parse(R"([{"Name": "Service", "Value": "arn:aws:whatever"}])");
  EXPECT_TRUE(LintAlarm(ParseOk(props), SeedLintContext()).empty());
}

TEST(LintAlarmTest, MetricMathMetricsAreLintedWithTheirPath) {
  json::object props = Json(kErrorRateAlarm);
  std::vector<std::string> warnings = LintAlarm(ParseOk(props), SeedLintContext());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(
      warnings[0].rfind("serverless.yml:35:5: resources.Resources.Alarm.Properties.Metrics[1]."
                        "MetricStat.Metric.Dimensions: function 'svc-dev-website' is not "
                        "deployed by this service",
                        0),
      0u)
      << warnings[0];
}

}  // namespace
}  // namespace cutover::alarms
