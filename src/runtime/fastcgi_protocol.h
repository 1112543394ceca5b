// FastCGI 1.0 wire format, written from the specification (fastcgi-archives, "FastCGI
// Specification", Open Market 1996): record headers, name-value pairs, request encoding, an
// incremental response parser and the CGI response (RFC 3875 section 6) carried in FCGI_STDOUT.
//
// Everything here is pure: no I/O, no clock, no globals. Decoders take untrusted bytes and answer
// a Status for malformed input; they never read out of bounds and never crash, so they can be fed
// to a fuzzer directly. fastcgi_client.h does the I/O; fastcgi_params.h builds the parameters.
//
// Only what a web server needs of the protocol is here: the RESPONDER role, one request per
// connection at a time (request id 1 unless the caller says otherwise), optional FCGI_KEEP_CONN.
//
// Thread-safety: free functions are reentrant; an EncodedRequest and a ResponseParser are plain
// values, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cutover::runtime::fastcgi {

inline constexpr uint8_t kVersion1 = 1;
inline constexpr size_t kHeaderSize = 8;
inline constexpr size_t kMaxContentLength = 65535;
// Request id 0 is reserved for management records (GET_VALUES and its answers).
inline constexpr uint16_t kNullRequestId = 0;
// FCGI_BEGIN_REQUEST flags.
inline constexpr uint8_t kKeepConn = 1;

enum class RecordType : uint8_t {
  kBeginRequest = 1,
  kAbortRequest = 2,
  kEndRequest = 3,
  kParams = 4,
  kStdin = 5,
  kStdout = 6,
  kStderr = 7,
  kData = 8,
  kGetValues = 9,
  kGetValuesResult = 10,
  kUnknownType = 11,
};

enum class Role : uint16_t { kResponder = 1, kAuthorizer = 2, kFilter = 3 };

enum class ProtocolStatus : uint8_t {
  kRequestComplete = 0,
  kCantMpxConn = 1,
  kOverloaded = 2,
  kUnknownRole = 3,
};

std::string_view RecordTypeName(uint8_t type);
std::string_view ProtocolStatusName(uint8_t status);

// The 8-byte record header. `type` is kept raw so a decoder can report an unknown one.
struct RecordHeader {
  uint8_t version = kVersion1;
  uint8_t type = 0;
  uint16_t request_id = 0;
  uint16_t content_length = 0;
  uint8_t padding_length = 0;
};

// Writes the header into out[0..8).
void EncodeHeader(const RecordHeader& header, uint8_t* out);
// Reads the header from in[0..8); no validation. REQUIRES: 8 readable bytes.
RecordHeader DecodeHeader(const uint8_t* in);

// Padding that brings `content_length` to a multiple of 8 (the specification's recommendation).
constexpr uint8_t PaddingFor(size_t content_length) {
  return static_cast<uint8_t>((8 - content_length % 8) % 8);
}

// Appends one record (header, content, padding) to `out`.
// REQUIRES: content.size() <= kMaxContentLength.
void AppendRecord(std::string& out, RecordType type, uint16_t request_id, std::string_view content);

// ---- Name-value pairs ----------------------------------------------------------------------

using Param = std::pair<std::string, std::string>;
using Params = std::vector<Param>;

// The largest name or value length the encoding can carry (31 bits).
inline constexpr size_t kMaxNameValueLength = 0x7fffffff;

// Bytes AppendNameValue writes: 1-byte lengths up to 127, 4-byte lengths from 128.
size_t NameValueSize(std::string_view name, std::string_view value);
// REQUIRES: name.size() and value.size() <= kMaxNameValueLength.
void AppendNameValue(std::string& out, std::string_view name, std::string_view value);
// Decodes a complete name-value stream (the concatenated content of PARAMS or GET_VALUES_RESULT
// records). Fails on a length that runs past the end of `data`.
Result<Params> DecodeNameValues(std::string_view data);

// ---- Requests ------------------------------------------------------------------------------

// A request as a sequence of byte ranges, so a large body is written straight from the string the
// caller handed over (no copy): framing bytes live in `framing()`, STDIN content in `body()`.
// Views() must be taken again after the object moves.
class EncodedRequest {
 public:
  struct Segment {
    bool in_body = false;  // false: a range of framing(), true: a range of body()
    size_t offset = 0;
    size_t size = 0;
  };

  const std::string& framing() const { return framing_; }
  const std::string& body() const { return body_; }
  const std::vector<Segment>& segments() const { return segments_; }
  // Total bytes on the wire.
  size_t size() const { return size_; }
  // The segments as views into this object, in wire order.
  std::vector<std::string_view> Views() const;
  // The whole request in one string (tests, small requests).
  std::string Flatten() const;

 private:
  friend Result<EncodedRequest> EncodeRequest(uint16_t, bool, const Params&, std::string);
  void AddFraming(std::string_view bytes);
  void AddBody(size_t offset, size_t size);

  std::string framing_;
  std::string body_;
  std::vector<Segment> segments_;
  size_t size_ = 0;
};

// STDIN records carry at most this much content: the largest multiple of 8 that fits, so every
// full record needs no padding.
inline constexpr size_t kStdinChunk = 65528;

// BEGIN_REQUEST (RESPONDER, FCGI_KEEP_CONN when `keep_conn`), the PARAMS stream packed into records
// of at most kMaxContentLength bytes and closed by an empty PARAMS record, then `body` as STDIN
// records closed by an empty STDIN record.
//
// A name-value pair is never split across two PARAMS records: php-fpm decodes each PARAMS record
// on its own and rejects a pair that straddles records, although the specification allows it. A
// pair that does not fit into one record (over 65535 bytes) is therefore InvalidArgument, as
// nginx refuses it too.
Result<EncodedRequest> EncodeRequest(uint16_t request_id, bool keep_conn, const Params& params,
                                     std::string body);

// A FCGI_GET_VALUES management record asking for `names` (e.g. FCGI_MAX_CONNS).
std::string EncodeGetValues(const std::vector<std::string>& names);

// ---- Responses -----------------------------------------------------------------------------

struct ResponseLimits {
  // FCGI_STDOUT bytes accepted: Lambda's 6 MB response limit plus room for the CGI headers.
  size_t max_stdout = 6 * 1024 * 1024 + 64 * 1024;
  // FCGI_STDERR bytes kept; the rest is dropped (and counted), the request does not fail for it.
  size_t max_stderr = 64 * 1024;
};

// Consumes the bytes of one connection, in any chunking, for one request id, and collects its
// STDOUT and STDERR streams until FCGI_END_REQUEST.
//
// Rejected (InvalidArgument unless noted, with the offending record in the message): a version
// other than 1; a record for another request id (including management records: this client sends
// none); a record type a responder must not send to a web server; an END_REQUEST body that is not
// 8 bytes; stream data after that stream's empty end record; any byte after END_REQUEST; STDOUT
// over the limit (TooLarge); EOF before END_REQUEST (Unavailable, "truncated"). After the first
// error every later call returns the same error.
class ResponseParser {
 public:
  explicit ResponseParser(uint16_t request_id = 1, ResponseLimits limits = {});

  // Consumes all of `bytes`.
  Status Feed(std::string_view bytes);
  // The peer closed the connection. OK only when END_REQUEST was seen.
  Status FinishAtEof() const;

  // END_REQUEST was read whole, its padding included (and no error): the connection holds no
  // byte of this response any more, so it may carry the next request.
  bool done() const { return done_ && state_ == State::kDone && error_.ok(); }
  const Status& error() const { return error_; }
  uint32_t app_status() const { return app_status_; }
  uint8_t protocol_status() const { return protocol_status_; }
  // Bytes consumed so far.
  size_t bytes_seen() const { return bytes_seen_; }

  const std::string& stdout_data() const { return stdout_; }
  const std::string& stderr_data() const { return stderr_; }
  std::string TakeStdout() { return std::move(stdout_); }
  std::string TakeStderr() { return std::move(stderr_); }
  // STDERR bytes dropped past max_stderr.
  size_t stderr_dropped() const { return stderr_dropped_; }

 private:
  Status Fail(Status status);
  Status OnHeader();
  Status OnContent(std::string_view content);

  enum class State { kHeader, kContent, kPadding, kDone };

  const uint16_t request_id_;
  const ResponseLimits limits_;
  State state_ = State::kHeader;
  uint8_t header_bytes_[kHeaderSize] = {};
  size_t header_fill_ = 0;
  RecordHeader current_;
  size_t content_left_ = 0;
  size_t padding_left_ = 0;
  std::string end_body_;  // END_REQUEST content, gathered across chunks
  bool stdout_closed_ = false;
  bool stderr_closed_ = false;
  bool done_ = false;
  uint32_t app_status_ = 0;
  uint8_t protocol_status_ = 0;
  size_t bytes_seen_ = 0;
  std::string stdout_;
  std::string stderr_;
  size_t stderr_dropped_ = 0;
  Status error_;
};

// ---- CGI response (the content of FCGI_STDOUT) ---------------------------------------------

struct CgiResponse {
  int status = 200;
  // In the order the script sent them, names as given; `Status` itself is not included. Repeated
  // headers (Set-Cookie) stay separate entries.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // binary-safe
};

// Header lines up to the first empty line, each ended by "\r\n" or "\n"; then the body. `Status:
// 404 Not Found` sets the status (three digits, 100..999); without it a `Location` header means
// 302, else 200. Header values are trimmed of spaces and tabs. Fails (InvalidArgument) when there
// is no empty line, a line has no colon, a name is empty or holds whitespace or control bytes, or
// Status is not a number.
Result<CgiResponse> ParseCgiResponse(std::string stdout_data);

}  // namespace cutover::runtime::fastcgi
