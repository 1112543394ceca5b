#include "metrics/rollup.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <boost/json.hpp>
#include <cmath>
#include <exception>
#include <limits>
#include <utility>

namespace cutover::metrics {
namespace {

namespace json = boost::json;

constexpr uint8_t kAggregateFormatVersion = 1;
// The most values a decoded aggregate may hold (2^48, far beyond any real minute), so that merging
// the 21,600 minutes of 15 days can never overflow a count.
constexpr uint64_t kMaxCount = uint64_t{1} << 48;

// --- metric keys

// The canonical text of (ns, name, dims) with dims already sorted.
std::string SerializeKey(const std::string& ns, const std::string& name, const Dimensions& dims) {
  json::array d;
  d.reserve(dims.size());
  for (const auto& [k, v] : dims) d.push_back(json::array{json::string(k), json::string(v)});
  json::object o;
  o.reserve(3);
  o.emplace("n", json::string(ns));
  o.emplace("m", json::string(name));
  o.emplace("d", std::move(d));
  return json::serialize(o);
}

Status BadKey(std::string_view why) {
  return InvalidArgument(fmt::format("invalid metric key: {}", why));
}

Result<MetricKey> ParseKey(std::string_view text) {
  json::parse_options options;
  options.allow_invalid_utf8 = true;  // the encoder writes other bytes as they are
  options.max_depth = 4;
  boost::system::error_code ec;
  json::monotonic_resource resource;
  json::value doc = json::parse(text, ec, &resource, options);
  if (ec) return BadKey(fmt::format("not JSON: {}", ec.message()));
  const json::object* root = doc.if_object();
  if (root == nullptr) return BadKey("not a JSON object");
  const json::value* n = root->if_contains("n");
  const json::value* m = root->if_contains("m");
  const json::value* d = root->if_contains("d");
  if (n == nullptr || !n->is_string()) return BadKey("\"n\" (namespace) is not a string");
  if (m == nullptr || !m->is_string()) return BadKey("\"m\" (metric name) is not a string");
  if (d == nullptr || !d->is_array()) return BadKey("\"d\" (dimensions) is not an array");
  Dimensions dims;
  dims.reserve(d->get_array().size());
  for (const json::value& pair : d->get_array()) {
    const json::array* p = pair.if_array();
    if (p == nullptr || p->size() != 2 || !(*p)[0].is_string() || !(*p)[1].is_string()) {
      return BadKey("a dimension is not a [name, value] pair of strings");
    }
    dims.emplace_back(std::string((*p)[0].get_string()), std::string((*p)[1].get_string()));
  }
  MetricKey key =
      MakeKey(std::string(n->get_string()), std::string(m->get_string()), std::move(dims));
  // One metric, one spelling: member order, escapes, spaces and dimension order must be the
  // encoder's, or the store would hold the same metric under two keys.
  if (SerializeKey(key.ns, key.name, key.dims) != text) return BadKey("not in canonical form");
  return key;
}

// --- aggregates

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutDouble(std::string& out, double d) {
  const auto bits = std::bit_cast<uint64_t>(d);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1); }

// Reads the format above; every read reports truncation instead of running past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool Byte(uint8_t* out) {
    if (pos_ >= bytes_.size()) return false;
    *out = static_cast<uint8_t>(bytes_[pos_++]);
    return true;
  }
  // LEB128, at most 10 bytes, no bits beyond 64.
  bool Varint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = 0;
      if (!Byte(&b)) return false;
      if (shift == 63 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;
  }
  bool Double(double* out) {
    if (bytes_.size() - pos_ < 8) return false;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) {
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += 8;
    *out = std::bit_cast<double>(bits);
    return true;
  }
  bool AtEnd() const { return pos_ == bytes_.size(); }
  size_t position() const { return pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

Status BadAggregate(std::string_view why) {
  return InvalidArgument(fmt::format("invalid metric rollup aggregate: {}", why));
}

Status Truncated(const Reader& r, std::string_view what) {
  return BadAggregate(fmt::format("truncated or malformed {} at byte {}", what, r.position()));
}

// The bucket indices of finite positive doubles: the only ones a Sketch ever holds.
int32_t LowestBucketIndex() {
  static const int32_t index = Sketch::BucketIndex(std::numeric_limits<double>::denorm_min());
  return index;
}
int32_t HighestBucketIndex() {
  static const int32_t index = Sketch::BucketIndex(std::numeric_limits<double>::max());
  return index;
}

bool AddWouldOverflow(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b;
}

Result<Aggregate> ParseAggregate(std::string_view bytes) {
  Reader r(bytes);
  uint8_t version = 0;
  if (!r.Byte(&version)) return BadAggregate("empty");
  if (version != kAggregateFormatVersion) {
    return BadAggregate(fmt::format("unknown format version {}", version));
  }
  Aggregate a;
  uint64_t zeros = 0;
  uint64_t negatives = 0;
  uint64_t buckets = 0;
  if (!r.Varint(&a.count)) return Truncated(r, "count");
  if (!r.Double(&a.sum) || !r.Double(&a.min) || !r.Double(&a.max)) {
    return Truncated(r, "sum/min/max");
  }
  if (!r.Varint(&zeros) || !r.Varint(&negatives)) return Truncated(r, "zero/negative counts");
  if (!r.Varint(&buckets)) return Truncated(r, "bucket count");
  if (buckets > Sketch::kMaxBuckets) {
    return BadAggregate(
        fmt::format("{} buckets, more than a sketch holds ({})", buckets, Sketch::kMaxBuckets));
  }
  if (AddWouldOverflow(zeros, negatives)) return BadAggregate("counts overflow");
  uint64_t total = zeros + negatives;

  // Validate every bucket before adding any, so the sketch never sees a bad one. Each bucket takes
  // at least two bytes, which bounds the list by the input as well as by kMaxBuckets.
  struct Bucket {
    int32_t index;
    uint64_t count;
  };
  std::vector<Bucket> list;
  list.reserve(std::min<uint64_t>(buckets, (bytes.size() - r.position()) / 2));
  const int64_t lowest = LowestBucketIndex();
  const int64_t highest = HighestBucketIndex();
  int64_t first = 0;
  int64_t previous = 0;
  for (uint64_t i = 0; i < buckets; ++i) {
    uint64_t raw = 0;
    uint64_t count = 0;
    if (!r.Varint(&raw)) return Truncated(r, "bucket index");
    if (!r.Varint(&count)) return Truncated(r, "bucket count");
    int64_t index = 0;
    if (i == 0) {
      if (raw > (uint64_t{1} << 40)) return BadAggregate("bucket index out of range");
      index = UnZigZag(raw);
      first = index;
    } else {
      if (raw == 0 || raw >= Sketch::kMaxBuckets) {
        return BadAggregate("buckets out of order or further apart than a sketch holds");
      }
      index = previous + static_cast<int64_t>(raw);
      if (index - first >= static_cast<int64_t>(Sketch::kMaxBuckets)) {
        return BadAggregate("buckets span more than a sketch holds");
      }
    }
    if (index < lowest || index > highest) {
      return BadAggregate(fmt::format("bucket index {} out of range", index));
    }
    if (count == 0) return BadAggregate("empty bucket");
    if (AddWouldOverflow(total, count)) return BadAggregate("counts overflow");
    total += count;
    previous = index;
    list.push_back(Bucket{static_cast<int32_t>(index), count});
  }
  if (!r.AtEnd()) return BadAggregate(fmt::format("trailing bytes at byte {}", r.position()));
  if (total != a.count) {
    return BadAggregate(
        fmt::format("count {} is not the sum of the sketch's counts ({})", a.count, total));
  }
  if (a.count > kMaxCount) {
    return BadAggregate(fmt::format("count {} is more than a minute can hold", a.count));
  }
  if (a.count == 0) {
    if (a.sum != 0.0 || a.min != 0.0 || a.max != 0.0) {
      return BadAggregate("an empty aggregate with a non-zero sum, minimum or maximum");
    }
  } else if (!std::isfinite(a.min) || !std::isfinite(a.max) || a.min > a.max) {
    return BadAggregate("minimum and maximum are not finite with minimum <= maximum");
  }

  // All valid: build the sketch (nothing collapses: the span fits in kMaxBuckets).
  a.sketch.Add(0.0, zeros);
  a.sketch.Add(-1.0, negatives);
  for (const Bucket& b : list) a.sketch.AddToBucket(b.index, b.count);
  return a;
}

}  // namespace

std::string EncodeMetricKey(const MetricKey& key) {
  if (std::is_sorted(key.dims.begin(), key.dims.end())) {
    return SerializeKey(key.ns, key.name, key.dims);
  }
  Dimensions sorted = key.dims;
  std::sort(sorted.begin(), sorted.end());
  return SerializeKey(key.ns, key.name, sorted);
}

Result<MetricKey> DecodeMetricKey(std::string_view text) {
  // Boost.JSON reports malformed input through the error code; what may still throw is
  // allocation: caught so that no stored byte can take the daemon down.
  try {
    return ParseKey(text);
  } catch (const std::exception& e) {
    return BadKey(fmt::format("cannot parse: {}", e.what()));
  }
}

std::string EncodeAggregate(const Aggregate& aggregate) {
  std::string out;
  out.reserve(48);
  out.push_back(static_cast<char>(kAggregateFormatVersion));
  PutVarint(out, aggregate.count);
  PutDouble(out, aggregate.sum);
  PutDouble(out, aggregate.min);
  PutDouble(out, aggregate.max);
  PutVarint(out, aggregate.sketch.zero_count());
  PutVarint(out, aggregate.sketch.negative_count());
  size_t buckets = 0;
  aggregate.sketch.ForEachBucketIndex([&](int32_t, uint64_t) { ++buckets; });
  PutVarint(out, buckets);
  bool first = true;
  int32_t previous = 0;
  aggregate.sketch.ForEachBucketIndex([&](int32_t index, uint64_t count) {
    PutVarint(out, first ? ZigZag(index) : static_cast<uint64_t>(index - previous));
    PutVarint(out, count);
    first = false;
    previous = index;
  });
  return out;
}

Result<Aggregate> DecodeAggregate(std::string_view bytes) { return ParseAggregate(bytes); }

Datapoint ComputeFromRollups(const Statistic& statistic, const std::vector<Aggregate>& minutes,
                             int64_t period_start_ms) {
  Aggregate total;
  for (const Aggregate& a : minutes) total.Merge(a);
  Datapoint dp;
  dp.timestamp_ms = period_start_ms;
  dp.sample_count = total.count;
  if (total.count > 0) dp.value = Compute(statistic, total);
  return dp;
}

}  // namespace cutover::metrics
