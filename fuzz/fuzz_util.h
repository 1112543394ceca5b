// Small helpers shared by the fuzz targets. Header-only; fuzz targets only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace cutover::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A broken invariant is a crash: libFuzzer saves the input as an artifact.
[[noreturn]] inline void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %s %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

#define CUTOVER_FUZZ_CHECK(cond, detail) \
  do {                                   \
    if (!(cond)) ::cutover::fuzz::Fail(#cond, (detail)); \
  } while (false)

}  // namespace cutover::fuzz
