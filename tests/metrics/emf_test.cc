// Embedded Metric Format lines (src/metrics/emf.h): what valid lines yield, why invalid ones are
// rejected, and that no prefix of a valid line can crash the parser.
#include "metrics/emf.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cutover::metrics {
namespace {

constexpr int64_t kDefault = 1'700'000'000'000;

// What a test expects of one datum.
struct Want {
  std::string ns;
  std::string name;
  Dimensions dims;  // any order: compared as a sorted set
  std::vector<double> values;
  std::string unit = "None";
  int64_t timestamp_ms = kDefault;
};

struct ValidCase {
  std::string label;
  std::string line;
  std::vector<Want> want;
};

// A Powertools-shaped line: one directive, `dims` as its only set.
const char* const kPowertools =
    R"({"_aws":{"Timestamp":1700000123456,"CloudWatchMetrics":[{"Namespace":"shop",)"
    R"("Dimensions":[["service"]],"Metrics":[{"Name":"Orders","Unit":"Count"},)"
    R"({"Name":"Latency","Unit":"Milliseconds","StorageResolution":60}]}]},)"
    R"("service":"checkout","Orders":3,"Latency":[12.5,20],"message":"two orders"})";

std::vector<ValidCase> ValidCases() {
  return {
      {"powertools shape with units and an array value",
       kPowertools,
       {{"shop", "Orders", {{"service", "checkout"}}, {3}, "Count", 1700000123456},
        {"shop", "Latency", {{"service", "checkout"}}, {12.5, 20}, "Milliseconds", 1700000123456}}},
      {"every dimension set is a metric of its own; [] is no dimensions",
       R"({"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"app",)"
       R"("Dimensions":[["route","service"],["service"],[]],"Metrics":[{"Name":"Hits"}]}]},)"
       R"("service":"api","route":"/buy","Hits":1})",
       {{"app", "Hits", {{"service", "api"}, {"route", "/buy"}}, {1}, "None", 1700000000000},
        {"app", "Hits", {{"service", "api"}}, {1}, "None", 1700000000000},
        {"app", "Hits", {}, {1}, "None", 1700000000000}}},
      {"no Timestamp: the default; Dimensions [] publishes once without dimensions",
       R"({"_aws":{"CloudWatchMetrics":[{"Namespace":"app","Dimensions":[],)"
       R"("Metrics":[{"Name":"Errors","Unit":"Count"}]}]},"Errors":0})",
       {{"app", "Errors", {}, {0}, "Count"}}},
      {"several directives, each in its own namespace",
       R"({"_aws":{"Timestamp":1700000000001,"CloudWatchMetrics":[)"
       R"({"Namespace":"a","Dimensions":[["d"]],"Metrics":[{"Name":"X"}]},)"
       R"({"Namespace":"b","Dimensions":[[]],"Metrics":[{"Name":"X"},{"Name":"Y"}]}]},)"
       R"("d":"v","X":-1.5,"Y":1e3})",
       {{"a", "X", {{"d", "v"}}, {-1.5}, "None", 1700000000001},
        {"b", "X", {}, {-1.5}, "None", 1700000000001},
        {"b", "Y", {}, {1000}, "None", 1700000000001}}},
      {"leading blanks, other members ignored, a fractional timestamp rounds down",
       " \t{\"level\":\"INFO\",\"_aws\":{\"Timestamp\":1700000000000.9,\"CloudWatchMetrics\":"
       "[{\"Namespace\":\"n\",\"Dimensions\":[[\"d\",\"d\"]],\"Metrics\":[{\"Name\":\"M\","
       "\"Unit\":\"Bytes/Second\",\"StorageResolution\":1}]}],\"LogGroupName\":\"g\"},"
       "\"d\":\"x\",\"M\":[1,2,3],\"extra\":{\"nested\":[null,true]}}\r",
       {{"n", "M", {{"d", "x"}}, {1, 2, 3}, "Bytes/Second", 1700000000000}}},
      {"no directives: an EMF document without metrics",
       R"({"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[]}})",
       {}},
      {"a directive without metrics",
       R"({"_aws":{"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["d"]],"Metrics":[]}]},)"
       R"("d":"x"})",
       {}},
  };
}

TEST(EmfTest, ValidLinesYieldOneDatumPerMetricAndDimensionSet) {
  for (const ValidCase& c : ValidCases()) {
    SCOPED_TRACE(c.label);
    EXPECT_TRUE(LooksLikeEmf(c.line));
    auto got = ParseEmfLine(c.line, kDefault);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), c.want.size());
    for (size_t i = 0; i < c.want.size(); ++i) {
      const Want& w = c.want[i];
      const EmfDatum& d = (*got)[i];
      EXPECT_EQ(d.key, MakeKey(w.ns, w.name, w.dims)) << d.key.ToString();
      EXPECT_EQ(d.values, w.values) << d.key.ToString();
      EXPECT_EQ(d.unit, w.unit) << d.key.ToString();
      EXPECT_EQ(d.timestamp_ms, w.timestamp_ms) << d.key.ToString();
    }
  }
}

struct InvalidCase {
  std::string label;
  std::string line;
  std::string reason;  // a substring of the status message
};

// A valid line with `directive` as its only directive and `members` after _aws.
std::string Line(const std::string& directive, const std::string& members,
                 const std::string& timestamp = "1700000000000") {
  return R"({"_aws":{"Timestamp":)" + timestamp + R"(,"CloudWatchMetrics":[)" + directive + "]}" +
         (members.empty() ? "" : "," + members) + "}";
}

std::string Repeated(const std::string& item, int n, const std::string& sep = ",") {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += sep;
    std::string s = item;
    for (size_t pos = s.find('#'); pos != std::string::npos; pos = s.find('#', pos + 1)) {
      s.replace(pos, 1, std::to_string(i));
    }
    out += s;
  }
  return out;
}

std::vector<InvalidCase> InvalidCases() {
  const std::string ok_dims = R"("Dimensions":[["d"]])";
  const std::string ok_metrics = R"("Metrics":[{"Name":"M"}])";
  const std::string ok_members = R"("d":"x","M":1)";
  auto directive = [&](const std::string& ns, const std::string& dims, const std::string& metrics) {
    return "{" + ns + (dims.empty() ? "" : "," + dims) + (metrics.empty() ? "" : "," + metrics) +
           "}";
  };
  const std::string ns = R"("Namespace":"n")";
  return {
      {"not JSON", R"({"_aws": {"CloudWatchMetrics": [)", "not JSON"},
      {"trailing garbage", Line(directive(ns, ok_dims, ok_metrics), ok_members) + " tail",
       "not JSON"},
      {"plain text", "hello _aws", "not a JSON object"},
      {"a JSON array", R"([{"_aws":{}}])", "not a JSON object"},
      {"no _aws", R"({"x_aws_y":1})", "_aws is missing"},
      {"_aws not an object", R"({"_aws":[1]})", "_aws is not an object"},
      {"no CloudWatchMetrics", R"({"_aws":{"Timestamp":1700000000000}})",
       "CloudWatchMetrics is missing"},
      {"CloudWatchMetrics not an array", R"({"_aws":{"CloudWatchMetrics":{}}})",
       "CloudWatchMetrics is not an array"},
      {"Timestamp a string", Line(directive(ns, ok_dims, ok_metrics), ok_members, "\"now\""),
       "Timestamp is not a finite number"},
      {"Timestamp negative", Line(directive(ns, ok_dims, ok_metrics), ok_members, "-1"),
       "Timestamp is not epoch milliseconds"},
      {"Timestamp overflowing", Line(directive(ns, ok_dims, ok_metrics), ok_members, "1e30"),
       "Timestamp is not epoch milliseconds"},
      {"Timestamp infinite", Line(directive(ns, ok_dims, ok_metrics), ok_members, "1e999"),
       "Timestamp"},
      {"directive not an object", Line("7", ok_members), "CloudWatchMetrics[0] is not an object"},
      {"no Namespace", Line(directive("", ok_dims, ok_metrics).replace(1, 1, ""), ok_members),
       "Namespace is missing"},
      {"Namespace not a string",
       Line(directive(R"("Namespace":5)", ok_dims, ok_metrics), ok_members),
       "Namespace is not a string"},
      {"Namespace empty", Line(directive(R"("Namespace":"")", ok_dims, ok_metrics), ok_members),
       "Namespace must have 1 to 255 characters"},
      {"Namespace reserved",
       Line(directive(R"("Namespace":"AWS/Lambda")", ok_dims, ok_metrics), ok_members),
       "reserved for AWS"},
      {"no Dimensions", Line(directive(ns, "", ok_metrics), ok_members), "Dimensions is missing"},
      {"Dimensions not an array",
       Line(directive(ns, R"("Dimensions":"d")", ok_metrics), ok_members),
       "Dimensions is not an array"},
      {"a dimension set not an array",
       Line(directive(ns, R"("Dimensions":["d"])", ok_metrics), ok_members),
       "Dimensions[0] is not an array"},
      {"a dimension name not a string",
       Line(directive(ns, R"("Dimensions":[[1]])", ok_metrics), ok_members),
       "Dimensions[0][0] is not a string"},
      {"a dimension without its member",
       Line(directive(ns, R"("Dimensions":[["d","e"]])", ok_metrics), ok_members), "dimension 'e'"},
      {"a dimension member not a string",
       Line(directive(ns, ok_dims, ok_metrics), R"("d":1,"M":1)"), "dimension 'd' is not a string"},
      {"a dimension value empty", Line(directive(ns, ok_dims, ok_metrics), R"("d":"","M":1)"),
       "dimension 'd' must have 1 to 1024 characters"},
      {"31 dimensions in a set",
       Line(directive(ns, "\"Dimensions\":[[" + Repeated("\"d#\"", 31) + "]]", ok_metrics),
            Repeated("\"d#\":\"v\"", 31) + ",\"M\":1"),
       "31 dimensions, more than 30"},
      {"no Metrics", Line(directive(ns, ok_dims, ""), ok_members), "Metrics is missing"},
      {"Metrics not an array", Line(directive(ns, ok_dims, R"("Metrics":{})"), ok_members),
       "Metrics is not an array"},
      {"101 metrics",
       Line(directive(ns, ok_dims, "\"Metrics\":[" + Repeated(R"({"Name":"m#"})", 101) + "]"),
            "\"d\":\"x\"," + Repeated("\"m#\":1", 101)),
       "101 metrics, more than 100"},
      {"a metric definition not an object",
       Line(directive(ns, ok_dims, R"("Metrics":["M"])"), ok_members),
       "Metrics[0] is not an object"},
      {"a metric without a Name", Line(directive(ns, ok_dims, R"("Metrics":[{}])"), ok_members),
       "Metrics[0].Name is missing"},
      {"a metric Name too long",
       Line(directive(ns, ok_dims, "\"Metrics\":[{\"Name\":\"" + std::string(256, 'm') + "\"}]"),
            ok_members),
       "Name must have 1 to 255 characters"},
      {"a unit CloudWatch does not know",
       Line(directive(ns, ok_dims, R"("Metrics":[{"Name":"M","Unit":"Parsecs"}])"), ok_members),
       "Unit 'Parsecs' is not a CloudWatch unit"},
      {"a unit not a string",
       Line(directive(ns, ok_dims, R"("Metrics":[{"Name":"M","Unit":1}])"), ok_members),
       "Unit is not a string"},
      {"a StorageResolution other than 1 or 60",
       Line(directive(ns, ok_dims, R"("Metrics":[{"Name":"M","StorageResolution":5}])"),
            ok_members),
       "StorageResolution must be 1 or 60"},
      {"a metric without its member", Line(directive(ns, ok_dims, ok_metrics), R"("d":"x")"),
       "metric 'M' has no member"},
      {"a metric member a string", Line(directive(ns, ok_dims, ok_metrics), R"("d":"x","M":"1")"),
       "metric 'M' is not a finite number"},
      {"a metric member a boolean", Line(directive(ns, ok_dims, ok_metrics), R"("d":"x","M":true)"),
       "metric 'M' is not a finite number"},
      {"a metric member null", Line(directive(ns, ok_dims, ok_metrics), R"("d":"x","M":null)"),
       "metric 'M' is not a finite number"},
      {"a metric value infinite", Line(directive(ns, ok_dims, ok_metrics), R"("d":"x","M":1e999)"),
       "metric 'M'"},
      {"an array value with a string",
       Line(directive(ns, ok_dims, ok_metrics), R"("d":"x","M":[1,"2"])"),
       "metric 'M' has a value that is not a finite number"},
      {"an empty array value", Line(directive(ns, ok_dims, ok_metrics), R"("d":"x","M":[])"),
       "metric 'M' must have 1 to 100 values"},
      {"101 values",
       Line(directive(ns, ok_dims, ok_metrics), "\"d\":\"x\",\"M\":[" + Repeated("1", 101) + "]"),
       "metric 'M' must have 1 to 100 values"},
      {"too many metrics over all dimension sets",
       Line(directive(ns, "\"Dimensions\":[" + Repeated("[\"d\"]", 11) + "]",
                      "\"Metrics\":[" + Repeated(R"({"Name":"m#"})", 100) + "]"),
            "\"d\":\"x\"," + Repeated("\"m#\":1", 100)),
       "more than 1000 metrics"},
      {"a second directive bad: the whole line is rejected",
       Line(directive(ns, ok_dims, ok_metrics) + "," +
                directive(ns, ok_dims, R"("Metrics":[{"Name":"Missing"}])"),
            ok_members),
       "metric 'Missing' has no member"},
  };
}

TEST(EmfTest, MalformedLinesAreRejectedWithTheReason) {
  for (const InvalidCase& c : InvalidCases()) {
    SCOPED_TRACE(c.label + ": " + c.line.substr(0, 200));
    auto got = ParseEmfLine(c.line, kDefault);
    ASSERT_FALSE(got.ok()) << "accepted " << got->size() << " datums";
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(got.status().message().find(c.reason), std::string::npos) << got.status().message();
  }
}

TEST(EmfTest, LooksLikeEmfIsTrueOnlyForObjectsMentioningAws) {
  EXPECT_TRUE(LooksLikeEmf(R"({"_aws":{}})"));
  EXPECT_TRUE(LooksLikeEmf("  \t{\"x\":1,\"_aws\""));
  EXPECT_FALSE(LooksLikeEmf(""));
  EXPECT_FALSE(LooksLikeEmf("   "));
  EXPECT_FALSE(LooksLikeEmf("START RequestId: 1 Version: 1"));
  EXPECT_FALSE(LooksLikeEmf(R"(log: {"_aws":{}})"));
  EXPECT_FALSE(LooksLikeEmf(R"({"level":"info","msg":"no metrics"})"));
  EXPECT_FALSE(LooksLikeEmf("{_aw"));
  EXPECT_FALSE(LooksLikeEmf("_aws{"));
}

// Every prefix of a valid line (and the line with each byte dropped or flipped) is answered with a
// value, never a crash or an exception; only the complete line is valid.
TEST(EmfTest, TruncatedAndMutatedLinesNeverCrash) {
  const std::string line = kPowertools;
  for (size_t n = 0; n < line.size(); ++n) {
    auto got = ParseEmfLine(std::string_view(line).substr(0, n), kDefault);
    EXPECT_FALSE(got.ok()) << "prefix of " << n << " bytes accepted";
  }
  EXPECT_TRUE(ParseEmfLine(line, kDefault).ok());
  size_t accepted = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    std::string dropped = line;
    dropped.erase(i, 1);
    accepted += ParseEmfLine(dropped, kDefault).ok();
    for (char c : {'\0', '"', '{', '[', ']', '}', ',', ':', '9', '-', '\xff'}) {
      std::string flipped = line;
      flipped[i] = c;
      accepted += ParseEmfLine(flipped, kDefault).ok();
    }
  }
  // Some mutations stay valid (any of these characters inside the "message" text); the point is
  // that none crashed.
  EXPECT_GT(accepted, 0u);
}

TEST(EmfTest, DeeplyNestedJsonIsRejectedNotRecursedInto) {
  std::string deep = R"({"_aws":{"CloudWatchMetrics":[]},"x":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  auto got = ParseEmfLine(deep, kDefault);
  EXPECT_FALSE(got.ok());
}

}  // namespace
}  // namespace cutover::metrics
