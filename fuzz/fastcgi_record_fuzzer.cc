// The FastCGI decoders that read what php-fpm sends: ResponseParser (records of one connection, in
// any chunking), ParseCgiResponse (the CGI answer in FCGI_STDOUT) and DecodeNameValues.
//
// The first input byte picks the chunk size; the rest are the connection's bytes. Invariants: the
// parser's result does not depend on the chunking; STDOUT and STDERR stay within their limits; an
// error is sticky; decoded name-value pairs encode and decode back to themselves.
#include <algorithm>
#include <string>

#include "fuzz_util.h"
#include "runtime/fastcgi_protocol.h"

namespace cutover::fuzz {
namespace {

namespace fcgi = runtime::fastcgi;

// Small limits, so the fuzzer reaches the TooLarge and dropped-STDERR paths.
constexpr fcgi::ResponseLimits kLimits{.max_stdout = 4096, .max_stderr = 256};

struct Outcome {
  bool ok = false;
  std::string error;
  bool done = false;
  std::string out, err;
  uint32_t app_status = 0;
  uint8_t protocol_status = 0;
  size_t dropped = 0;
};

Outcome Run(std::string_view bytes, size_t chunk) {
  fcgi::ResponseParser parser(1, kLimits);
  Status status = Status::Ok();
  for (size_t i = 0; i < bytes.size() && status.ok(); i += chunk) {
    status = parser.Feed(bytes.substr(i, chunk));
    CUTOVER_FUZZ_CHECK(parser.stdout_data().size() <= kLimits.max_stdout, "");
    CUTOVER_FUZZ_CHECK(parser.stderr_data().size() <= kLimits.max_stderr, "");
    CUTOVER_FUZZ_CHECK(parser.bytes_seen() <= i + chunk, "");
  }
  if (!status.ok()) {
    // Sticky: every later call answers the same error.
    Status again = parser.Feed("x");
    CUTOVER_FUZZ_CHECK(again.code() == status.code() && again.message() == status.message(),
                       again.message());
    CUTOVER_FUZZ_CHECK(!parser.done(), status.message());
  }
  Outcome o;
  Status eof = status.ok() ? parser.FinishAtEof() : status;
  o.ok = eof.ok();
  o.error = eof.message();
  o.done = parser.done();
  CUTOVER_FUZZ_CHECK(o.ok == o.done, o.error);
  o.out = parser.stdout_data();
  o.err = parser.stderr_data();
  o.app_status = parser.app_status();
  o.protocol_status = parser.protocol_status();
  o.dropped = parser.stderr_dropped();
  return o;
}

}  // namespace
}  // namespace cutover::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cutover;
  namespace fcgi = runtime::fastcgi;
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const std::string_view bytes = fuzz::AsView(data + 1, size - 1);

  fuzz::Outcome whole = fuzz::Run(bytes, std::max<size_t>(bytes.size(), 1));
  fuzz::Outcome chunked = fuzz::Run(bytes, chunk);
  CUTOVER_FUZZ_CHECK(whole.ok == chunked.ok, whole.error + " | " + chunked.error);
  if (whole.ok) {
    CUTOVER_FUZZ_CHECK(whole.out == chunked.out && whole.err == chunked.err &&
                           whole.app_status == chunked.app_status &&
                           whole.protocol_status == chunked.protocol_status &&
                           whole.dropped == chunked.dropped,
                       "");
    auto cgi = fcgi::ParseCgiResponse(whole.out);
    if (cgi.ok()) {
      CUTOVER_FUZZ_CHECK(cgi->status >= 100 && cgi->status <= 999, std::to_string(cgi->status));
    }
  }
  // The connection bytes as a CGI answer and as a name-value stream, too.
  auto cgi = fcgi::ParseCgiResponse(std::string(bytes));
  if (cgi.ok()) {
    CUTOVER_FUZZ_CHECK(cgi->status >= 100 && cgi->status <= 999, std::to_string(cgi->status));
  }
  auto params = fcgi::DecodeNameValues(bytes);
  if (params.ok()) {
    std::string encoded;
    for (const auto& [name, value] : *params) fcgi::AppendNameValue(encoded, name, value);
    auto back = fcgi::DecodeNameValues(encoded);
    CUTOVER_FUZZ_CHECK(back.ok() && *back == *params, "");
  }
  return 0;
}
