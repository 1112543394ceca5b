// Small pure text helpers for the HTTP edge: percent-decoding, query-string splitting, base64,
// UTF-8 validation, JSON string escaping and the Common Log Format timestamp API Gateway puts in
// events.
//
// Every function is pure and thread-safe; none throws (allocation failure aside). Used by
// proxy_event.cc and, later, the gateway server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base64.h"

namespace cutover::gateway {

// Decodes %XX escapes. When `plus_is_space` is set (query strings, form encoding) '+' becomes ' '.
// A '%' not followed by two hex digits is kept literally, as API Gateway and most servers do.
std::string PercentDecode(std::string_view text, bool plus_is_space);

// Splits a raw query string ("a=1&b=x%20y&a=2&flag") into decoded (key, value) pairs in order.
// Empty pieces ("a=1&&b") are skipped; a piece without '=' has the value "". Keys and values are
// percent-decoded with '+' as space.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view raw_query);

// Base64 lives in common (the runtime's FastCGI event mapping needs it too).
using ::cutover::Base64Decode;
using ::cutover::Base64Encode;

// True when `bytes` is well-formed UTF-8 (no overlong forms, no surrogates, nothing above
// U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// Appends `text` as a JSON string literal, quotes included. Control characters are escaped; bytes
// that are not valid UTF-8 become U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string* out, std::string_view text);

// "04/Mar/2020:19:15:17 +0000" for an epoch-milliseconds instant (UTC).
std::string FormatClfTime(int64_t epoch_ms);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string AsciiLower(std::string_view text);

}  // namespace cutover::gateway
