// Standard base64 (RFC 4648 section 4). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace cutover {

// With padding.
std::string Base64Encode(std::string_view bytes);
// Accepts padded or unpadded standard base64; ASCII whitespace is ignored. False on any other
// character, on misplaced padding, or on a length that cannot come from the encoder.
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace cutover
