// AlarmSpec: an `AWS::CloudWatch::Alarm` resource of serverless.yml, validated.
//
// ParseAlarmSpec reads the resource's Properties (variables already resolved by config/loader) and
// checks every property of CloudFormation's AWS::CloudWatch::Alarm (reference:
// shared/reference/aws-semantics.md section 3.1) the way CloudWatch's PutMetricAlarm would, plus
// cutover's 1-second Period extension. Anomaly-detection alarms are rejected. LintAlarm then warns
// about alarms that are valid but can never get data from what cutover emits (an ARN as a dimension
// value, an ApiName that is not the service's, an unknown metric name): such an alarm sits in
// INSUFFICIENT_DATA and never rolls a deployment back.
//
// Every error is InvalidArgument
//   "serverless.yml:LINE:COL: resources.Resources.<id>.Properties.<Prop>[...]: message"
// with LINE:COL the resource's position (properties carry no position of their own once they are
// JSON).
//
// Pure functions over values; any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alarms/evaluator.h"
#include "alarms/metric_math.h"
#include "common/status.h"
#include "config/service_spec.h"
#include "metrics/series_store.h"
#include "metrics/statistic.h"

namespace cutover::alarms {

// Where an alarm's action points. Cutover acts on http(s) URLs (it POSTs the state change); ARNs
// (SNS topics, ...) and CloudFormation references ({"Ref": "Topic"}) are kept so the spec
// round-trips, but are inert: there is no SNS here. ParseAlarmSpec adds a note for each inert
// action.
struct AlarmAction {
  std::string target;       // the URL, the ARN, or the reference as compact JSON
  bool actionable = false;  // true for http:// and https:// URLs
};

// A MetricDataQuery's MetricStat: one metric at one period and statistic.
struct MetricStat {
  metrics::MetricKey metric;  // namespace, name and dimensions (sorted by name)
  int period_seconds = 60;
  std::string stat_text;  // as written: "Sum", "p99"
  metrics::Statistic stat;
  std::optional<std::string> unit;
};

// One item of `Metrics`: either a metric (MetricStat) or a math expression over other items' ids.
struct MetricDataQuery {
  std::string id;
  std::optional<MetricStat> metric_stat;  // exactly one of metric_stat and expression is set
  std::optional<Expression> expression;
  std::string label;
  bool return_data = true;
};

struct AlarmSpec {
  std::string logical_id;  // "ApiGateway5XXErrorAlarm"
  std::string alarm_name;  // AlarmName, or "<service>-<stage>-<logical id>"
  std::string description;
  bool actions_enabled = true;
  std::vector<AlarmAction> alarm_actions;              // on transition into ALARM
  std::vector<AlarmAction> ok_actions;                 // into OK
  std::vector<AlarmAction> insufficient_data_actions;  // into INSUFFICIENT_DATA

  // A single-metric alarm sets `metric` and `statistic`; a metric-math alarm sets `metrics`
  // instead.
  std::optional<metrics::MetricKey> metric;
  std::string statistic_text;  // "Sum", "p99" (Statistic or ExtendedStatistic as written)
  bool extended_statistic = false;
  metrics::Statistic statistic;
  std::vector<MetricDataQuery> metrics;
  // Indices into `metrics` in an order that evaluates every item after the items it reads; the
  // ReturnData item is last. Empty for single-metric alarms.
  std::vector<size_t> evaluation_order;

  int period_seconds = 60;      // Period, or the MetricStat period of a metric-math alarm
  int evaluation_periods = 1;   // N
  int datapoints_to_alarm = 1;  // M (defaults to N)
  double threshold = 0;
  Comparison comparison = Comparison::kGreaterThanOrEqualToThreshold;
  TreatMissingData treat_missing_data = TreatMissingData::kMissing;
  bool evaluate_low_sample_count_percentile = true;  // "evaluate" (default) or "ignore"
  std::optional<std::string> unit;
  std::map<std::string, std::string> tags;  // Tags, kept but unused

  config::SourceLocation where;
  // Things the user should know that are not errors, formatted like errors ("serverless.yml:35:5:
  // resources.Resources.X.Properties.AlarmActions[0]: ... is an ARN: kept but not acted on").
  std::vector<std::string> notes;
};

struct AlarmContext {
  std::string service;  // for the default AlarmName
  std::string stage;
};

// REQUIRES: resource.type == "AWS::CloudWatch::Alarm".
Result<AlarmSpec> ParseAlarmSpec(const config::ResourceSpec& resource, const AlarmContext& ctx);

// The evaluator's parameters for `spec` (period, N, M, threshold, comparison, missing-data
// treatment, low-sample rule for pNN statistics under EvaluateLowSampleCountPercentile: ignore).
EvaluationParams MakeEvaluationParams(const AlarmSpec& spec);

// The value of a metric-math alarm at one timestamp: evaluates spec.metrics in evaluation_order and
// returns the ReturnData item's value. `metric_values` maps each MetricStat item's id to its
// statistic at that timestamp (absent or nullopt = missing). REQUIRES: !spec.metrics.empty().
std::optional<double> EvaluateMetricsAt(const AlarmSpec& spec,
                                        const Expression::Values& metric_values);

// What cutover's platform emits (metrics/platform_metrics.h), for LintAlarm. The composition root
// fills the values from the deployed ServiceSpec; the metric names default to what the reference
// lists.
struct LintContext {
  std::vector<std::string> api_names;  // REST ApiName values: "dev-bref-canary-deployments-demo"
  std::vector<std::string> api_ids;    // HTTP API ApiId values
  std::vector<std::string> stages;     // "dev"
  std::vector<std::string>
      function_names;                // deployed names: "bref-canary-deployments-demo-dev-website"
  std::vector<std::string> aliases;  // "Live" (Resource "<function>:<alias>")
  std::vector<std::string> api_gateway_metrics = {
      "Count", "4XXError", "5XXError", "Latency", "IntegrationLatency", "4xx", "5xx", "DataProcessed"};
  std::vector<std::string> lambda_metrics = {"Invocations", "Errors", "Throttles", "Duration",
                                             "ConcurrentExecutions"};
};

// Warnings (not errors: the alarm is valid CloudFormation) for metrics in AWS/ApiGateway and
// AWS/Lambda that cutover never emits: an ARN as a dimension value (with the likely fix), an
// ApiName, ApiId, Stage, FunctionName or Resource that is not emitted (naming what is), an unknown
// metric or dimension name, a dimension set that no series has, a Unit that the metric is not
// recorded in. Other namespaces (custom metrics, EMF) get no warning. Each warning is prefixed like
// an error.
std::vector<std::string> LintAlarm(const AlarmSpec& spec, const LintContext& ctx);

}  // namespace cutover::alarms
