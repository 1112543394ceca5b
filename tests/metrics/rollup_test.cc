// Rollups (src/metrics/rollup.h): the persisted encodings of metric keys and minute aggregates,
// hostile input, ComputeFromRollups, and MetricsStore::MinuteAggregates that feeds them.
#include "metrics/rollup.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "metrics/series_store.h"

namespace cutover::metrics {
namespace {

Statistic Stat(std::string_view text) {
  auto s = ParseStatistic(text);
  EXPECT_TRUE(s.ok()) << text;
  return *s;
}

// Every kind of statistic, with percent and absolute bounds.
const std::vector<Statistic>& AllStatistics() {
  static const std::vector<Statistic> stats = [] {
    std::vector<Statistic> out;
    for (const char* text :
         {"SampleCount", "Sum",        "Average",     "Minimum",       "Maximum",
          "p0",          "p1",         "p50",         "p90",           "p99",
          "p99.9",       "p100",       "tm90",        "TM(10%:90%)",   "IQM",
          "wm95",        "WM(5%:95%)", "tc90",        "TC(0.005:0.3)", "ts99",
          "TS(1:)",      "PR(:0.3)",   "PR(0.1:100)", "TM(0.01:)",     "WM(:2)"}) {
      out.push_back(Stat(text));
    }
    return out;
  }();
  return stats;
}

bool SameValue(std::optional<double> a, std::optional<double> b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return std::bit_cast<uint64_t>(*a) == std::bit_cast<uint64_t>(*b) ||
         (std::isnan(*a) && std::isnan(*b));
}

void ExpectSameAggregate(const Aggregate& got, const Aggregate& want) {
  EXPECT_EQ(got.count, want.count);
  EXPECT_EQ(std::bit_cast<uint64_t>(got.sum), std::bit_cast<uint64_t>(want.sum));
  EXPECT_EQ(std::bit_cast<uint64_t>(got.min), std::bit_cast<uint64_t>(want.min));
  EXPECT_EQ(std::bit_cast<uint64_t>(got.max), std::bit_cast<uint64_t>(want.max));
  EXPECT_TRUE(got.sketch == want.sketch);
  EXPECT_EQ(got.sketch.negative_count(), want.sketch.negative_count());
  EXPECT_EQ(got.sketch.zero_count(), want.sketch.zero_count());
  for (const Statistic& s : AllStatistics()) {
    EXPECT_TRUE(SameValue(Compute(s, got), Compute(s, want))) << ToString(s);
  }
}

Aggregate Of(const std::vector<double>& values) {
  Aggregate a;
  for (double v : values) a.Add(v);
  return a;
}

// Latency-like: 1,000 values from 2 ms to 3 s.
Aggregate Latencies() {
  Aggregate a;
  for (int i = 1; i <= 1000; ++i)
    a.Add(0.002 * std::pow(1.0075, i), static_cast<uint64_t>(i % 7 + 1));
  return a;
}

// Values 1e-12 .. 1e12: wider than a sketch keeps apart, so its low buckets are collapsed.
Aggregate Collapsed() {
  Aggregate a;
  for (int e = -12; e <= 12; ++e) a.Add(3.0 * std::pow(10.0, e), static_cast<uint64_t>(e + 13));
  return a;
}

// Calls every statistic on an aggregate a decoder accepted: must not crash.
void ComputeEverything(const Aggregate& a) {
  for (const Statistic& s : AllStatistics()) (void)Compute(s, a);
  Aggregate merged = a;
  merged.Merge(a);
  merged.Merge(Latencies());
  for (const Statistic& s : AllStatistics()) (void)Compute(s, merged);
}

// --- metric keys

TEST(RollupKeyTest, IsCompactJsonWithSortedDimensions) {
  const MetricKey key =
      MakeKey("AWS/ApiGateway", "Latency", {{"Stage", "dev"}, {"ApiName", "svc"}});
  EXPECT_EQ(EncodeMetricKey(key),
            R"({"n":"AWS/ApiGateway","m":"Latency","d":[["ApiName","svc"],["Stage","dev"]]})");
  EXPECT_EQ(EncodeMetricKey(MakeKey("ns", "name", {})), R"({"n":"ns","m":"name","d":[]})");
  // A key built without MakeKey is encoded as the same set.
  MetricKey unsorted{"AWS/ApiGateway", "Latency", {{"Stage", "dev"}, {"ApiName", "svc"}}};
  EXPECT_EQ(EncodeMetricKey(unsorted), EncodeMetricKey(key));
}

TEST(RollupKeyTest, RoundTripsAwkwardStrings) {
  const std::vector<MetricKey> keys = {
      MakeKey("AWS/Lambda", "Duration", {{"FunctionName", "svc-dev-api"}, {"Resource", "fn:Live"}}),
      MakeKey("", "", {}),
      MakeKey("ns", "name", {{"", ""}}),
      MakeKey("q\"uote", "back\\slash/", {{"tab\t", "new\nline\r"}, {"ctl\x01\x1f\x7f", "x"}}),
      MakeKey(std::string("nul\0inside", 10), "name", {{"k", std::string("\0", 1)}}),
      MakeKey("ünïcødé ✓", "名前", {{"emoji", "😀"}}),
      MakeKey("bad utf8 \xff\xfe", "\xc3(", {{"\x80", "\xed\xa0\x80"}}),
      MakeKey("dup", "names", {{"k", "b"}, {"k", "a"}}),
      MakeKey("json", R"({"n":"x","m":"y","d":[]})", {{"[", "]"}, {"{", "}"}}),
  };
  for (const MetricKey& key : keys) {
    const std::string text = EncodeMetricKey(key);
    auto decoded = DecodeMetricKey(text);
    ASSERT_TRUE(decoded.ok()) << key.ToString() << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, key) << text;
    EXPECT_EQ(EncodeMetricKey(*decoded), text);
  }
}

TEST(RollupKeyTest, RejectsHostileAndNonCanonicalText) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  const std::vector<std::string> cases = {
      "",
      " ",
      "{",
      "}",
      "null",
      "[]",
      "\"ns\"",
      "{}",
      R"({"n":"a","m":"b"})",
      R"({"n":"a","d":[]})",
      R"({"m":"b","d":[]})",
      R"({"n":1,"m":"b","d":[]})",
      R"({"n":"a","m":null,"d":[]})",
      R"({"n":"a","m":"b","d":{}})",
      R"({"n":"a","m":"b","d":[["k"]]})",
      R"({"n":"a","m":"b","d":[["k","v","w"]]})",
      R"({"n":"a","m":"b","d":[["k",1]]})",
      R"({"n":"a","m":"b","d":["k","v"]})",
      R"({"n":"a","m":"b","d":[[["k"],"v"]]})",
      // Valid JSON for a key, but not its canonical spelling.
      R"({"m":"b","n":"a","d":[]})",
      R"({"n":"a", "m":"b","d":[]})",
      R"({"n":"a","m":"b","d":[]} )",
      "\n{\"n\":\"a\",\"m\":\"b\",\"d\":[]}",
      R"({"n":"\u0061","m":"b","d":[]})",
      R"({"n":"a\/","m":"b","d":[]})",
      R"({"n":"a","m":"b","d":[["z","1"],["a","2"]]})",
      R"({"n":"a","m":"b","d":[],"x":1})",
      R"({"n":"a","n":"a","m":"b","d":[]})",
      // Not JSON at all, or broken JSON.
      R"({"n":"a","m":"b","d":[]}{})",
      R"({"n":"a","m":"b","d":[],})",
      R"({"n":"a","m":"b","d":[]} // c)",
      R"({"n":"a","m":"b","d":[[]]})",
      R"({"n":"a\q","m":"b","d":[]})",
      R"({"n":"a\u12","m":"b","d":[]})",
      std::string("{\"n\":\"a\x01\",\"m\":\"b\",\"d\":[]}"),
      std::string("{\"n\":\"a\",\"m\":\"b\",\"d\":[]}\0", 25),
      deep,
      "{\"n\":" + deep + "}",
      std::string(100000, '{'),
      std::string(100000, '"'),
  };
  for (const std::string& text : cases) {
    auto key = DecodeMetricKey(text);
    EXPECT_FALSE(key.ok()) << text.substr(0, 80);
    if (!key.ok()) {
      EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << text.substr(0, 80);
    }
  }
}

TEST(RollupKeyTest, EveryTruncatedPrefixIsInvalid) {
  const std::string text = EncodeMetricKey(
      MakeKey("AWS/ApiGateway", "5XXError", {{"ApiName", "svc \"x\""}, {"Stage", "dév\n"}}));
  for (size_t n = 0; n < text.size(); ++n) {
    auto key = DecodeMetricKey(std::string_view(text).substr(0, n));
    EXPECT_FALSE(key.ok()) << n;
    if (!key.ok()) {
      EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << n;
    }
  }
}

RC_GTEST_PROP(RollupKeyProperty, AnyKeyRoundTrips, ()) {
  const auto str = rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  const std::string ns = *str;
  const std::string name = *str;
  const auto dims = *rc::gen::container<Dimensions>(rc::gen::pair(str, str));
  const MetricKey key = MakeKey(ns, name, dims);
  auto decoded = DecodeMetricKey(EncodeMetricKey(key));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == key);
}

RC_GTEST_PROP(RollupKeyProperty, ArbitraryTextNeverCrashes, ()) {
  const std::string text = *rc::gen::container<std::string>(
      rc::gen::elementOf(std::string("{}[]\":,nmd \\u0aZ\x01\xff")));
  auto key = DecodeMetricKey(text);
  if (key.ok()) {
    RC_ASSERT(EncodeMetricKey(*key) == text);
  } else {
    RC_ASSERT(key.status().code() == StatusCode::kInvalidArgument);
  }
}

// --- aggregates

TEST(RollupAggregateTest, RoundTripKeepsEveryStatistic) {
  Aggregate reused = Latencies();
  reused.Clear();
  reused.Add(5.0);
  const std::vector<std::pair<const char*, Aggregate>> cases = {
      {"empty", Aggregate{}},
      {"cleared",
       [] {
         Aggregate a = Latencies();
         a.Clear();
         return a;
       }()},
      {"reused", reused},
      {"one value", Of({0.25})},
      {"zeros and ones",
       [] {
         Aggregate a;
         a.Add(0.0, 9000);
         a.Add(1.0, 17);
         return a;
       }()},
      {"negative zero", Of({-0.0, 0.0, 2.0})},
      {"negatives", Of({-3.0, -1.0, 0.0, 1.0, 2.5})},
      {"only negatives", Of({-3.0, -1.0})},
      {"latencies", Latencies()},
      {"collapsed", Collapsed()},
      {"extremes",
       Of({std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min(), 1.0,
           std::numeric_limits<double>::max()})},
      {"infinite sum",
       Of({std::numeric_limits<double>::max(), std::numeric_limits<double>::max()})},
      {"huge count",
       [] {
         Aggregate a;
         a.Add(7.0, uint64_t{1} << 40);
         a.Add(9.0, 3);
         return a;
       }()},
  };
  for (const auto& [name, original] : cases) {
    SCOPED_TRACE(name);
    const std::string bytes = EncodeAggregate(original);
    auto decoded = DecodeAggregate(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ExpectSameAggregate(*decoded, original);
    EXPECT_EQ(EncodeAggregate(*decoded), bytes);
  }
}

TEST(RollupAggregateTest, IsCompact) {
  Aggregate errors;  // a minute of 5XXError: 0/1 values
  errors.Add(0.0, 5000);
  errors.Add(1.0, 12);
  EXPECT_LE(EncodeAggregate(errors).size(), 40u);
  EXPECT_LE(EncodeAggregate(Aggregate{}).size(), 30u);
  // A wide latency minute: a few bytes per bucket.
  const Aggregate latencies = Latencies();
  size_t buckets = 0;
  latencies.sketch.ForEachBucketIndex([&](int32_t, uint64_t) { ++buckets; });
  EXPECT_LE(EncodeAggregate(latencies).size(), 30 + 4 * buckets);
}

TEST(RollupAggregateTest, DecodedAggregatesMergeLikeTheOriginals) {
  const std::vector<Aggregate> parts = {Latencies(), Collapsed(), Of({0.0, 1.0}),
                                        Of({-1.0}),  Aggregate{}, Of({1e-9, 1e9})};
  Aggregate want;
  Aggregate got;
  for (const Aggregate& part : parts) {
    want.Merge(part);
    auto decoded = DecodeAggregate(EncodeAggregate(part));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    got.Merge(*decoded);
  }
  ExpectSameAggregate(got, want);
}

RC_GTEST_PROP(RollupAggregateProperty, RoundTripEqualsTheOriginal, ()) {
  const auto value =
      rc::gen::map(rc::gen::tuple(rc::gen::inRange(0, 20), rc::gen::inRange(1, 1000),
                                  rc::gen::inRange(-300, 300), rc::gen::inRange(1, 5)),
                   [](const std::tuple<int, int, int, int>& t) {
                     const auto [kind, mantissa, exponent, count] = t;
                     double v = mantissa * std::pow(10.0, kind < 10 ? exponent / 30 : exponent);
                     if (kind == 0) v = 0.0;
                     if (kind == 1) v = -v;
                     return std::make_pair(v, static_cast<uint64_t>(count));
                   });
  const auto values = *rc::gen::container<std::vector<std::pair<double, uint64_t>>>(value);
  Aggregate a;
  for (const auto& [v, n] : values) a.Add(v, n);
  const std::string bytes = EncodeAggregate(a);
  auto decoded = DecodeAggregate(bytes);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(decoded->count == a.count);
  RC_ASSERT(std::bit_cast<uint64_t>(decoded->sum) == std::bit_cast<uint64_t>(a.sum));
  RC_ASSERT(decoded->min == a.min);
  RC_ASSERT(decoded->max == a.max);
  RC_ASSERT(decoded->sketch == a.sketch);
  for (const Statistic& s : AllStatistics())
    RC_ASSERT(SameValue(Compute(s, *decoded), Compute(s, a)));
  RC_ASSERT(EncodeAggregate(*decoded) == bytes);
}

// Builds aggregate bytes field by field, for hostile cases.
class Bytes {
 public:
  Bytes& U8(uint8_t b) {
    s_.push_back(static_cast<char>(b));
    return *this;
  }
  Bytes& Varint(uint64_t v) {
    while (v >= 0x80) {
      U8(static_cast<uint8_t>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    return U8(static_cast<uint8_t>(v));
  }
  Bytes& F64(double d) {
    const auto bits = std::bit_cast<uint64_t>(d);
    for (int i = 0; i < 8; ++i) U8(static_cast<uint8_t>(bits >> (8 * i)));
    return *this;
  }
  Bytes& Raw(std::string_view raw) {
    s_ += raw;
    return *this;
  }
  // version, count, sum, min, max, zeros, negatives.
  static Bytes Header(uint64_t count, double sum, double min, double max, uint64_t zeros,
                      uint64_t negatives) {
    Bytes b;
    b.U8(1).Varint(count).F64(sum).F64(min).F64(max).Varint(zeros).Varint(negatives);
    return b;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

TEST(RollupAggregateTest, HandBuiltBytesDecodeAsDocumented) {
  // 2 zeros, 1 negative, buckets 10 (x3) and 12 (x1): count 7.
  const std::string bytes = Bytes::Header(7, 3.5, -1.0, 1.1, 2, 1)
                                .Varint(2)
                                .Varint(ZigZag(10))
                                .Varint(3)
                                .Varint(2)
                                .Varint(1)
                                .str();
  auto a = DecodeAggregate(bytes);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->count, 7u);
  EXPECT_EQ(a->sum, 3.5);
  EXPECT_EQ(a->sketch.zero_count(), 2u);
  EXPECT_EQ(a->sketch.negative_count(), 1u);
  std::vector<std::pair<int32_t, uint64_t>> buckets;
  a->sketch.ForEachBucketIndex([&](int32_t i, uint64_t n) { buckets.emplace_back(i, n); });
  EXPECT_EQ(buckets, (std::vector<std::pair<int32_t, uint64_t>>{{10, 3}, {12, 1}}));
  EXPECT_EQ(EncodeAggregate(*a), bytes);
}

TEST(RollupAggregateTest, HostileBytesAreInvalid) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const int32_t top = Sketch::BucketIndex(std::numeric_limits<double>::max());
  const int32_t bottom = Sketch::BucketIndex(std::numeric_limits<double>::denorm_min());
  // One bucket at `index` with `count`, the aggregate consistent otherwise.
  auto one_bucket = [](uint64_t zigzag_index, uint64_t count) {
    return Bytes::Header(count, 1.0, 1.0, 1.0, 0, 0).Varint(1).Varint(zigzag_index).Varint(count);
  };
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"empty", ""},
      {"version 0", Bytes().U8(0).str()},
      {"version 2",
       [] {
         std::string s = Bytes::Header(0, 0, 0, 0, 0, 0).Varint(0).str();
         s[0] = 2;
         return s;
       }()},
      {"version only", Bytes().U8(1).str()},
      {"count only", Bytes().U8(1).Varint(3).str()},
      {"no bucket count", Bytes::Header(0, 0, 0, 0, 0, 0).str()},
      {"trailing byte", Bytes::Header(0, 0, 0, 0, 0, 0).Varint(0).U8(0).str()},
      {"overlong varint",
       Bytes().U8(1).Raw(std::string(10, '\x80')).U8(0).str()},
      {"varint beyond 64 bits", Bytes().U8(1).Raw(std::string(9, '\xff')).U8(2).str()},
      {"count without values", Bytes::Header(3, 0, 0, 0, 0, 0).Varint(0).str()},
      {"values without count", Bytes::Header(0, 0, 0, 0, 2, 0).Varint(0).str()},
      {"count below values", Bytes::Header(1, 0, 0, 0, 1, 1).Varint(0).str()},
      {"empty with a sum", Bytes::Header(0, 1, 0, 0, 0, 0).Varint(0).str()},
      {"empty with a maximum", Bytes::Header(0, 0, 0, 5, 0, 0).Varint(0).str()},
      {"min above max", Bytes::Header(1, 0, 2, 1, 1, 0).Varint(0).str()},
      {"NaN min", Bytes::Header(1, 0, nan, 0, 1, 0).Varint(0).str()},
      {"NaN max", Bytes::Header(1, 0, 0, nan, 1, 0).Varint(0).str()},
      {"infinite max", Bytes::Header(1, 0, 0, inf, 1, 0).Varint(0).str()},
      {"infinite min", Bytes::Header(1, 0, -inf, 0, 1, 0).Varint(0).str()},
      {"too many buckets", Bytes::Header(0, 0, 0, 0, 0, 0).Varint(Sketch::kMaxBuckets + 1).str()},
      {"huge bucket count", Bytes::Header(0, 0, 0, 0, 0, 0).Varint(~uint64_t{0}).str()},
      {"missing buckets", Bytes::Header(2, 2, 1, 1, 0, 0).Varint(2).Varint(0).Varint(2).str()},
      {"bucket without count", Bytes::Header(2, 2, 1, 1, 0, 0).Varint(1).Varint(0).str()},
      {"empty bucket", one_bucket(0, 0).str()},
      {"bucket above the range", one_bucket(ZigZag(top + 1), 1).str()},
      {"bucket below the range", one_bucket(ZigZag(bottom - 1), 1).str()},
      {"bucket index beyond int32", one_bucket(ZigZag(int64_t{1} << 33), 1).str()},
      {"bucket index 2^63", one_bucket(~uint64_t{0}, 1).str()},
      {"buckets not ascending",
       Bytes::Header(2, 2, 1, 1, 0, 0).Varint(2).Varint(0).Varint(1).Varint(0).Varint(1).str()},
      {"buckets wider than a sketch",
       Bytes::Header(2, 2, 1, 1, 0, 0)
           .Varint(2)
           .Varint(0)
           .Varint(1)
           .Varint(Sketch::kMaxBuckets)
           .Varint(1)
           .str()},
      {"buckets wider than a sketch in steps",
       [] {
         Bytes b = Bytes::Header(3, 3, 1, 1, 0, 0).Varint(3).Varint(0).Varint(1);
         b.Varint(Sketch::kMaxBuckets - 1).Varint(1).Varint(1).Varint(1);
         return b.str();
       }()},
      {"bucket past the top in steps",
       Bytes::Header(2, 2, 1, 1, 0, 0)
           .Varint(2)
           .Varint(ZigZag(top))
           .Varint(1)
           .Varint(1)
           .Varint(1)
           .str()},
      {"counts overflow",
       Bytes::Header(0, 0, 0, 0, ~uint64_t{0}, 1).Varint(0).str()},
      {"bucket counts overflow",
       Bytes::Header(0, 0, 1, 1, 0, 0)
           .Varint(2)
           .Varint(0)
           .Varint(~uint64_t{0})
           .Varint(1)
           .Varint(1)
           .str()},
      {"more values than a minute holds",
       Bytes::Header((uint64_t{1} << 48) + 1, 0, 0, 0, (uint64_t{1} << 48) + 1, 0).Varint(0).str()},
  };
  for (const auto& [name, bytes] : cases) {
    auto a = DecodeAggregate(bytes);
    EXPECT_FALSE(a.ok()) << name;
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << name;
      EXPECT_NE(a.status().message().find("aggregate"), std::string::npos) << a.status().message();
    }
  }
  // The boundaries themselves are fine.
  for (const std::string& bytes :
       {one_bucket(ZigZag(top), 1).str(), one_bucket(ZigZag(bottom), 1).str(),
        Bytes::Header(2, 2, 1, 1, 0, 0)
            .Varint(2)
            .Varint(0)
            .Varint(1)
            .Varint(Sketch::kMaxBuckets - 1)
            .Varint(1)
            .str(),
        Bytes::Header(uint64_t{1} << 48, 0, 0, 0, uint64_t{1} << 48, 0).Varint(0).str()}) {
    auto a = DecodeAggregate(bytes);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ComputeEverything(*a);
    EXPECT_EQ(EncodeAggregate(*a), bytes);
  }
}

TEST(RollupAggregateTest, EveryTruncatedPrefixIsInvalid) {
  for (const Aggregate& a : {Aggregate{}, Of({0.0, 1.0}), Latencies(), Collapsed()}) {
    const std::string bytes = EncodeAggregate(a);
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto decoded = DecodeAggregate(std::string_view(bytes).substr(0, n));
      EXPECT_FALSE(decoded.ok()) << n << " of " << bytes.size();
      if (!decoded.ok()) {
        EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST(RollupAggregateTest, EverySingleByteChangeDecodesOrFailsCleanly) {
  for (const Aggregate& a : {Of({0.0, 1.0, -2.0}), Latencies(), Collapsed()}) {
    const std::string bytes = EncodeAggregate(a);
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff, (static_cast<uint8_t>(bytes[i]) ^ 0x40)}) {
        std::string mutated = bytes;
        mutated[i] = static_cast<char>(v);
        auto decoded = DecodeAggregate(mutated);
        if (decoded.ok()) {
          ComputeEverything(*decoded);
        } else {
          EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
        }
      }
    }
  }
}

RC_GTEST_PROP(RollupAggregateProperty, ArbitraryBytesNeverCrash, ()) {
  const auto bytes = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  // Also with a valid version byte, so the decoder gets past it.
  for (const std::string& input : {bytes, "\x01" + bytes}) {
    auto decoded = DecodeAggregate(input);
    if (decoded.ok()) {
      ComputeEverything(*decoded);
    } else {
      RC_ASSERT(decoded.status().code() == StatusCode::kInvalidArgument);
    }
  }
}

// --- MinuteAggregates and ComputeFromRollups

constexpr int64_t kT0 = 1'800'000'000'000;  // a whole minute, in ms
constexpr int64_t kMinute0 = kT0 / 60'000;

TEST(RollupStoreTest, MinuteAggregatesReturnsEverySeriesWithDataInThatMinute) {
  MetricsStore store;
  const MetricKey a = MakeKey("AWS/ApiGateway", "Count", {{"ApiName", "a"}});
  const MetricKey b = MakeKey("AWS/ApiGateway", "Count", {{"ApiName", "b"}});
  const MetricKey c = MakeKey("AWS/Lambda", "Duration", {{"FunctionName", "f"}});
  store.Add(a, kT0 + 1'000, 1.0);
  store.Add(a, kT0 + 59'999, 2.0);
  store.Add(b, kT0 + 30'000, 5.0, 3);
  store.Add(a, kT0 + 60'000, 7.0);                // minute 1
  store.Add(c, kT0 + 125'000, 0.5);               // minute 2
  store.GetOrCreate(MakeKey("ns", "never", {}));  // a series without any sample

  auto m0 = store.MinuteAggregates(kMinute0);
  ASSERT_EQ(m0.size(), 2u);
  EXPECT_EQ(*m0[0].first, a);
  EXPECT_EQ(m0[0].second->count, 2u);
  EXPECT_EQ(m0[0].second->sum, 3.0);
  EXPECT_EQ(m0[0].second->max, 2.0);
  EXPECT_EQ(*m0[1].first, b);
  EXPECT_EQ(m0[1].second->count, 3u);
  EXPECT_EQ(m0[1].second->sum, 15.0);

  auto m1 = store.MinuteAggregates(kMinute0 + 1);
  ASSERT_EQ(m1.size(), 1u);
  EXPECT_EQ(*m1[0].first, a);
  EXPECT_EQ(m1[0].second->sum, 7.0);
  auto m2 = store.MinuteAggregates(kMinute0 + 2);
  ASSERT_EQ(m2.size(), 1u);
  EXPECT_EQ(*m2[0].first, c);
  EXPECT_TRUE(store.MinuteAggregates(kMinute0 - 1).empty());
  EXPECT_TRUE(store.MinuteAggregates(kMinute0 + 3).empty());

  // Series::MinuteAggregate directly, including a minute the ring has overwritten since.
  const Series* series = store.Find(a);
  ASSERT_NE(series, nullptr);
  ASSERT_NE(series->MinuteAggregate(kMinute0), nullptr);
  EXPECT_EQ(series->MinuteAggregate(kMinute0)->count, 2u);
  EXPECT_EQ(series->MinuteAggregate(kMinute0 + Series::kFullMinutes), nullptr);
  store.Add(a, kT0 + Series::kFullMinutes * 60'000, 9.0);  // same ring slot as minute 0
  EXPECT_EQ(series->MinuteAggregate(kMinute0), nullptr);
  ASSERT_NE(series->MinuteAggregate(kMinute0 + Series::kFullMinutes), nullptr);
  auto late = store.MinuteAggregates(kMinute0);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(*late[0].first, b);
  EXPECT_EQ(store.Find(MakeKey("ns", "never", {}))->MinuteAggregate(kMinute0), nullptr);
  // Non-finite values are dropped: a minute holding only those has no data.
  const MetricKey nan_only = MakeKey("ns", "nan", {});
  store.Add(nan_only, kT0 + 600'000, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(store.Find(nan_only)->MinuteAggregate(kMinute0 + 10), nullptr);
}

TEST(RollupStoreTest, ComputeFromRollupsAnswersLikeTheInMemoryMinutes) {
  MetricsStore store;
  const MetricKey key = MakeKey("AWS/ApiGateway", "Latency", {{"ApiName", "a"}});
  // 30 minutes of integer latencies (so sums are exact in any order), minute 7 empty.
  uint64_t seed = 1;
  for (int64_t s = 0; s < 30 * 60; s += 3) {
    if (s / 60 == 7) continue;
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    store.Add(key, kT0 + s * 1000, static_cast<double>(1 + (seed >> 33) % 2000));
  }
  // Persist and read back every minute the way the daemon does.
  std::map<int64_t, std::string> persisted;
  for (int64_t m = kMinute0; m < kMinute0 + 30; ++m) {
    for (const auto& [k, aggregate] : store.MinuteAggregates(m)) {
      EXPECT_EQ(*k, key);
      persisted[m] = EncodeAggregate(*aggregate);
    }
  }
  EXPECT_EQ(persisted.size(), 29u);
  EXPECT_EQ(persisted.count(kMinute0 + 7), 0u);
  // Periods over the first 15 minutes: older than the per-second sketches, so the store answers
  // from its per-minute ring, as the rollups do.
  for (int period_s : {60, 300}) {
    for (const Statistic& stat : AllStatistics()) {
      const auto want = store.Query(key, stat, kT0, kT0 + 15 * 60'000, period_s);
      ASSERT_EQ(want.size(), static_cast<size_t>(15 * 60 / period_s));
      for (size_t i = 0; i < want.size(); ++i) {
        const int64_t start_ms = kT0 + static_cast<int64_t>(i) * period_s * 1000;
        std::vector<Aggregate> minutes;
        for (int64_t m = start_ms / 60'000; m < start_ms / 60'000 + period_s / 60; ++m) {
          auto it = persisted.find(m);
          if (it == persisted.end()) continue;
          auto decoded = DecodeAggregate(it->second);
          ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
          minutes.push_back(std::move(decoded).value());
        }
        const Datapoint got = ComputeFromRollups(stat, minutes, start_ms);
        EXPECT_EQ(got.timestamp_ms, want[i].timestamp_ms);
        EXPECT_EQ(got.sample_count, want[i].sample_count) << ToString(stat) << " " << i;
        EXPECT_TRUE(SameValue(got.value, want[i].value))
            << ToString(stat) << " period " << period_s << " #" << i << ": "
            << got.value.value_or(-1) << " vs " << want[i].value.value_or(-1);
      }
    }
  }
}

TEST(RollupStoreTest, ComputeFromRollupsWithoutDataHasNoValue) {
  for (const Statistic& stat : AllStatistics()) {
    const Datapoint none = ComputeFromRollups(stat, {}, kT0);
    EXPECT_EQ(none.timestamp_ms, kT0);
    EXPECT_FALSE(none.value.has_value());
    EXPECT_EQ(none.sample_count, 0u);
    const Datapoint empty = ComputeFromRollups(stat, {Aggregate{}, Aggregate{}}, kT0);
    EXPECT_FALSE(empty.value.has_value());
  }
  const Datapoint p99 = ComputeFromRollups(Stat("p99"), {Of({1.0, 2.0}), Of({-1.0})}, kT0);
  EXPECT_EQ(p99.sample_count, 3u);
  EXPECT_FALSE(p99.value.has_value());  // a negative value: no percentiles, as in CloudWatch
  const Datapoint sum = ComputeFromRollups(Stat("Sum"), {Of({1.0, 2.0}), Of({-1.0})}, kT0);
  EXPECT_EQ(sum.value, 2.0);
}

}  // namespace
}  // namespace cutover::metrics
