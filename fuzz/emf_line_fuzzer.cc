// CloudWatch Embedded Metric Format lines from function output: LooksLikeEmf (the cheap filter
// every log line passes through) and ParseEmfLine (the control tick's parser).
//
// Invariants from metrics/emf.h: a line the filter rejects never parses; a parsed line yields at
// most kMaxEmfDatumsPerLine datums, each with 1..kMaxEmfValuesPerMetric finite values, at most
// kMaxEmfDimensionsPerSet dimensions, a namespace outside "AWS/" and a unit.
#include <cmath>
#include <string>

#include "fuzz_util.h"
#include "metrics/emf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cutover;
  const std::string_view line = fuzz::AsView(data, size);
  const bool looks = metrics::LooksLikeEmf(line);
  auto parsed = metrics::ParseEmfLine(line, /*default_timestamp_ms=*/1700000000000);
  if (!parsed.ok()) return 0;
  CUTOVER_FUZZ_CHECK(looks, std::string(line));
  CUTOVER_FUZZ_CHECK(parsed->size() <= metrics::kMaxEmfDatumsPerLine, "");
  for (const metrics::EmfDatum& d : *parsed) {
    CUTOVER_FUZZ_CHECK(!d.values.empty() && d.values.size() <= metrics::kMaxEmfValuesPerMetric, "");
    for (double v : d.values) CUTOVER_FUZZ_CHECK(std::isfinite(v), "");
    CUTOVER_FUZZ_CHECK(!d.unit.empty(), "");
    CUTOVER_FUZZ_CHECK(!d.key.ns.starts_with("AWS/"), d.key.ns);
    CUTOVER_FUZZ_CHECK(d.key.dims.size() <= metrics::kMaxEmfDimensionsPerSet, d.key.ToString());
  }
  return 0;
}
