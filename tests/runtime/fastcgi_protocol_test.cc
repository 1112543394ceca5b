// FastCGI records, name-value pairs, request encoding, the response parser and the CGI response
// parser (src/runtime/fastcgi_protocol.h). Malformed input must come back as a Status, never as a
// crash or a read past the buffer.
#include "runtime/fastcgi_protocol.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/random.h"

namespace cutover::runtime::fastcgi {
namespace {

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::string Record(uint8_t type, uint16_t id, std::string_view content, uint8_t padding = 0,
                   uint8_t version = kVersion1) {
  uint8_t header[kHeaderSize];
  EncodeHeader({version, type, id, static_cast<uint16_t>(content.size()), padding}, header);
  std::string out(reinterpret_cast<const char*>(header), kHeaderSize);
  out.append(content);
  out.append(padding, '\x55');
  return out;
}

std::string Out(std::string_view s, uint16_t id = 1) {
  return Record(static_cast<uint8_t>(RecordType::kStdout), id, s, PaddingFor(s.size()));
}
std::string Err(std::string_view s, uint16_t id = 1) {
  return Record(static_cast<uint8_t>(RecordType::kStderr), id, s, PaddingFor(s.size()));
}
std::string End(uint32_t app_status = 0, uint8_t protocol_status = 0, uint16_t id = 1) {
  std::string body =
      Bytes({static_cast<int>(app_status >> 24), static_cast<int>((app_status >> 16) & 0xff),
             static_cast<int>((app_status >> 8) & 0xff), static_cast<int>(app_status & 0xff),
             protocol_status, 0, 0, 0});
  return Record(static_cast<uint8_t>(RecordType::kEndRequest), id, body);
}

// A well-formed answer: stdout in two records, stderr interleaved, both streams closed.
std::string ValidResponse() {
  return Out("Status: 201 Created\r\nContent-Type: text/plain\r\n") + Err("warn") +
         Out("\r\nhello") + Err("ing\n") + Out("") + Err("") + End(7);
}

// A parsed view of the records of an encoded request.
struct ParsedRecord {
  RecordHeader header;
  std::string content;
};

std::vector<ParsedRecord> SplitRecords(std::string_view wire) {
  std::vector<ParsedRecord> out;
  while (!wire.empty()) {
    EXPECT_GE(wire.size(), kHeaderSize);
    if (wire.size() < kHeaderSize) break;
    RecordHeader h = DecodeHeader(reinterpret_cast<const uint8_t*>(wire.data()));
    size_t total = kHeaderSize + h.content_length + h.padding_length;
    EXPECT_GE(wire.size(), total);
    if (wire.size() < total) break;
    out.push_back({h, std::string(wire.substr(kHeaderSize, h.content_length))});
    wire.remove_prefix(total);
  }
  return out;
}

// ---- Records -------------------------------------------------------------------------------

TEST(FastCgiRecordTest, HeaderRoundTripsEveryField) {
  RecordHeader h{kVersion1, static_cast<uint8_t>(RecordType::kStderr), 0xBEEF, 65535, 7};
  uint8_t wire[kHeaderSize];
  EncodeHeader(h, wire);
  EXPECT_EQ(wire[0], 1);
  EXPECT_EQ(wire[1], 7);
  EXPECT_EQ(wire[2], 0xBE);
  EXPECT_EQ(wire[3], 0xEF);
  EXPECT_EQ(wire[4], 0xFF);
  EXPECT_EQ(wire[5], 0xFF);
  EXPECT_EQ(wire[6], 7);
  EXPECT_EQ(wire[7], 0);
  RecordHeader back = DecodeHeader(wire);
  EXPECT_EQ(back.version, h.version);
  EXPECT_EQ(back.type, h.type);
  EXPECT_EQ(back.request_id, h.request_id);
  EXPECT_EQ(back.content_length, h.content_length);
  EXPECT_EQ(back.padding_length, h.padding_length);
}

TEST(FastCgiRecordTest, RecordsArePaddedToEightBytes) {
  for (size_t n : {0, 1, 5, 7, 8, 9, 65535}) {
    std::string out;
    AppendRecord(out, RecordType::kStdin, 1, std::string(n, 'a'));
    EXPECT_EQ(out.size() % 8, 0u) << n;
    EXPECT_EQ(out.size(), kHeaderSize + n + PaddingFor(n)) << n;
    RecordHeader h = DecodeHeader(reinterpret_cast<const uint8_t*>(out.data()));
    EXPECT_EQ(h.content_length, n);
    EXPECT_EQ(h.padding_length, PaddingFor(n));
  }
  EXPECT_EQ(PaddingFor(0), 0);
  EXPECT_EQ(PaddingFor(5), 3);
  EXPECT_EQ(PaddingFor(65535), 1);
}

// ---- Name-value pairs ----------------------------------------------------------------------

TEST(FastCgiNameValueTest, LengthsUpTo127TakeOneByteFrom128FourBytes) {
  std::string out;
  AppendNameValue(out, std::string(127, 'n'), std::string(128, 'v'));
  ASSERT_EQ(out.size(), 1 + 4 + 127 + 128u);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 127);
  EXPECT_EQ(out.substr(1, 4), Bytes({0x80, 0, 0, 128}));
  EXPECT_EQ(NameValueSize(std::string(127, 'n'), std::string(128, 'v')), out.size());

  std::string big;
  AppendNameValue(big, "N", std::string(0x12345, 'v'));
  EXPECT_EQ(big.substr(0, 5), Bytes({1, 0x80, 0x01, 0x23, 0x45}));
}

TEST(FastCgiNameValueTest, RoundTripsAtTheBoundaries) {
  Params params;
  for (size_t n : {0, 1, 126, 127, 128, 129, 255, 256, 65535, 65536, 200000}) {
    params.emplace_back(std::string(n % 300, 'k') + std::to_string(n), std::string(n, 'x'));
  }
  params.emplace_back("", "");
  params.emplace_back(std::string("bin\0ary", 7), std::string("\x80\xff\0", 3));
  std::string wire;
  for (const auto& [n, v] : params) AppendNameValue(wire, n, v);
  Result<Params> back = DecodeNameValues(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, params);
}

TEST(FastCgiNameValueTest, TruncatedPairsAreRejected) {
  std::string wire;
  AppendNameValue(wire, std::string(200, 'n'), std::string(300, 'v'));
  // Every proper prefix except the empty one is a truncated pair.
  for (size_t cut = 1; cut < wire.size(); ++cut) {
    Result<Params> r = DecodeNameValues(std::string_view(wire).substr(0, cut));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  // A 4-byte length claiming 2^31-1 bytes.
  Result<Params> huge = DecodeNameValues(Bytes({0xff, 0xff, 0xff, 0xff, 0, 'a'}));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("run past the end"), std::string::npos);
}

// ---- Requests ------------------------------------------------------------------------------

TEST(FastCgiRequestTest, EncodesBeginParamsAndStdinWithTerminators) {
  Params params = {{"REQUEST_METHOD", "POST"}, {"SCRIPT_FILENAME", "/app/index.php"}};
  Result<EncodedRequest> r = EncodeRequest(1, true, params, "a=1&b=2");
  ASSERT_TRUE(r.ok());
  std::vector<ParsedRecord> records = SplitRecords(r->Flatten());
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].header.type, static_cast<uint8_t>(RecordType::kBeginRequest));
  EXPECT_EQ(records[0].content, Bytes({0, 1, kKeepConn, 0, 0, 0, 0, 0}));
  EXPECT_EQ(records[1].header.type, static_cast<uint8_t>(RecordType::kParams));
  EXPECT_EQ(*DecodeNameValues(records[1].content), params);
  EXPECT_EQ(records[2].header.type, static_cast<uint8_t>(RecordType::kParams));
  EXPECT_EQ(records[2].content, "");
  EXPECT_EQ(records[3].header.type, static_cast<uint8_t>(RecordType::kStdin));
  EXPECT_EQ(records[3].content, "a=1&b=2");
  EXPECT_EQ(records[4].header.type, static_cast<uint8_t>(RecordType::kStdin));
  EXPECT_EQ(records[4].content, "");
  for (const auto& rec : records) {
    EXPECT_EQ(rec.header.version, 1);
    EXPECT_EQ(rec.header.request_id, 1);
  }
  EXPECT_EQ(r->size(), r->Flatten().size());
}

TEST(FastCgiRequestTest, WithoutKeepConnTheFlagIsClear) {
  Result<EncodedRequest> r = EncodeRequest(9, false, {}, "");
  ASSERT_TRUE(r.ok());
  std::vector<ParsedRecord> records = SplitRecords(r->Flatten());
  ASSERT_EQ(records.size(), 3u);  // BEGIN, empty PARAMS, empty STDIN
  EXPECT_EQ(records[0].content, Bytes({0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(records[0].header.request_id, 9);
}

TEST(FastCgiRequestTest, ParamsAreSplitIntoRecordsWithoutSplittingAPair) {
  Params params;
  for (int i = 0; i < 7; ++i)
    params.emplace_back("HTTP_X_" + std::to_string(i), std::string(30000, 'a' + i));
  Result<EncodedRequest> r = EncodeRequest(1, false, params, "");
  ASSERT_TRUE(r.ok());
  std::string stream;
  int param_records = 0;
  for (const auto& rec : SplitRecords(r->Flatten())) {
    if (rec.header.type != static_cast<uint8_t>(RecordType::kParams) || rec.content.empty())
      continue;
    ++param_records;
    EXPECT_LE(rec.content.size(), kMaxContentLength);
    // Each record decodes on its own (php-fpm needs that).
    EXPECT_TRUE(DecodeNameValues(rec.content).ok());
    stream += rec.content;
  }
  EXPECT_EQ(param_records, 4);  // two 30 KB pairs per record
  EXPECT_EQ(*DecodeNameValues(stream), params);
}

TEST(FastCgiRequestTest, APairLargerThanOneRecordIsRejected) {
  Params params = {{"HTTP_BIG", std::string(65535, 'x')}};
  Result<EncodedRequest> r = EncodeRequest(1, false, params, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("HTTP_BIG"), std::string::npos);
  // The largest pair that fits: 1 + 4 + 8 + 65522 = 65535 bytes.
  Params fits = {{"HTTP_BIG", std::string(65522, 'x')}};
  EXPECT_TRUE(EncodeRequest(1, false, fits, "").ok());
}

TEST(FastCgiRequestTest, LargeBodyIsStreamedInRecordsWithoutACopy) {
  std::string body(5 * 1024 * 1024 + 3, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 31 + 7);
  const std::string expected = body;
  const char* data = body.data();
  Result<EncodedRequest> r = EncodeRequest(1, false, {{"A", "B"}}, std::move(body));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body().data(), data);  // moved, not copied
  // The body's bytes are referenced from it, never copied into the framing.
  EXPECT_LT(r->framing().size(), 4096u);
  std::string stdin_stream;
  int stdin_records = 0;
  for (const auto& rec : SplitRecords(r->Flatten())) {
    if (rec.header.type != static_cast<uint8_t>(RecordType::kStdin)) continue;
    ++stdin_records;
    EXPECT_LE(rec.content.size(), kMaxContentLength);
    stdin_stream += rec.content;
  }
  EXPECT_EQ(stdin_records, static_cast<int>((expected.size() + kStdinChunk - 1) / kStdinChunk) + 1);
  EXPECT_EQ(stdin_stream, expected);
  size_t total = 0;
  for (std::string_view v : r->Views()) total += v.size();
  EXPECT_EQ(total, r->size());
}

TEST(FastCgiRequestTest, GetValuesIsAManagementRecord) {
  std::string wire = EncodeGetValues({"FCGI_MAX_CONNS", "FCGI_MPXS_CONNS"});
  std::vector<ParsedRecord> records = SplitRecords(wire);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].header.type, static_cast<uint8_t>(RecordType::kGetValues));
  EXPECT_EQ(records[0].header.request_id, kNullRequestId);
  Params expected = {{"FCGI_MAX_CONNS", ""}, {"FCGI_MPXS_CONNS", ""}};
  EXPECT_EQ(*DecodeNameValues(records[0].content), expected);
}

// ---- Response parser -----------------------------------------------------------------------

TEST(FastCgiResponseParserTest, DemultiplexesStdoutAndStderr) {
  ResponseParser p;
  ASSERT_TRUE(p.Feed(ValidResponse()).ok());
  EXPECT_TRUE(p.done());
  EXPECT_TRUE(p.FinishAtEof().ok());
  EXPECT_EQ(p.stdout_data(), "Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nhello");
  EXPECT_EQ(p.stderr_data(), "warning\n");
  EXPECT_EQ(p.app_status(), 7u);
  EXPECT_EQ(p.protocol_status(), 0);
  EXPECT_EQ(p.bytes_seen(), ValidResponse().size());
}

TEST(FastCgiResponseParserTest, AnyChunkingGivesTheSameResult) {
  const std::string wire = ValidResponse();
  for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    ResponseParser p;
    for (size_t pos = 0; pos < wire.size(); pos += chunk) {
      ASSERT_TRUE(p.Feed(std::string_view(wire).substr(pos, chunk)).ok()) << chunk;
    }
    ASSERT_TRUE(p.done()) << chunk;
    EXPECT_EQ(p.stderr_data(), "warning\n");
    EXPECT_EQ(p.stdout_data(), "Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nhello");
  }
  Random random(42);
  for (int round = 0; round < 200; ++round) {
    ResponseParser p;
    size_t pos = 0;
    while (pos < wire.size()) {
      size_t n = random.Next() % 17;  // zero-length feeds included
      ASSERT_TRUE(p.Feed(std::string_view(wire).substr(pos, n)).ok());
      pos += n;
    }
    EXPECT_TRUE(p.done());
  }
}

// Found by fuzz/fastcgi_record_fuzzer: done() was true as soon as END_REQUEST's 8 content bytes
// arrived, while its padding was still on the wire. The client then completes the request and may
// keep the connection, whose next response would start with the stale padding.
TEST(FastCgiResponseParserTest, DoneOnlyAfterEndRequestPadding) {
  const std::string end = End(0);
  std::string padded = Record(static_cast<uint8_t>(RecordType::kEndRequest), 1,
                              std::string_view(end).substr(kHeaderSize), /*padding=*/25);
  const std::string wire = Out("") + padded;
  const size_t before_padding = wire.size() - 25;
  ResponseParser p;
  ASSERT_TRUE(p.Feed(std::string_view(wire).substr(0, before_padding + 3)).ok());
  EXPECT_FALSE(p.done());
  EXPECT_NE(p.FinishAtEof().message().find("END_REQUEST padding"), std::string::npos);
  ASSERT_TRUE(p.Feed(std::string_view(wire).substr(before_padding + 3)).ok());
  EXPECT_TRUE(p.done());
  EXPECT_TRUE(p.FinishAtEof().ok());
}

TEST(FastCgiResponseParserTest, EndRequestReportsProtocolStatus) {
  ResponseParser p;
  ASSERT_TRUE(p.Feed(End(0, static_cast<uint8_t>(ProtocolStatus::kOverloaded))).ok());
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.protocol_status(), 2);
  EXPECT_EQ(ProtocolStatusName(p.protocol_status()), "OVERLOADED");
}

TEST(FastCgiResponseParserTest, LargeStdoutAcrossManyRecords) {
  std::string wire;
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string piece(65535, static_cast<char>('a' + i % 26));
    expected += piece;
    wire += Out(piece);
  }
  wire += Out("") + End();
  ResponseParser p(1, ResponseLimits{.max_stdout = 100 * 65535});
  ASSERT_TRUE(p.Feed(wire).ok());
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.stdout_data(), expected);
}

struct MalformedCase {
  std::string name;
  std::string wire;
  StatusCode code;
  std::string message_part;
};

TEST(FastCgiResponseParserTest, MalformedInputIsRejectedWithAClearStatus) {
  const uint8_t kStdout = static_cast<uint8_t>(RecordType::kStdout);
  std::vector<MalformedCase> cases = {
      {"bad version", Record(kStdout, 1, "x", 7, /*version=*/2), StatusCode::kInvalidArgument,
       "version 2"},
      {"other request id", Out("x", 2), StatusCode::kInvalidArgument, "request id 2"},
      {"management record", Record(static_cast<uint8_t>(RecordType::kGetValuesResult), 0, ""),
       StatusCode::kInvalidArgument, "request id 0"},
      {"unknown type", Record(42, 1, "x"), StatusCode::kInvalidArgument, "unexpected unknown"},
      {"request record from the app", Record(static_cast<uint8_t>(RecordType::kParams), 1, ""),
       StatusCode::kInvalidArgument, "unexpected PARAMS"},
      {"short END_REQUEST", Record(static_cast<uint8_t>(RecordType::kEndRequest), 1, "1234"),
       StatusCode::kInvalidArgument, "END_REQUEST carries 8 bytes"},
      {"long END_REQUEST",
       Record(static_cast<uint8_t>(RecordType::kEndRequest), 1, std::string(16, '\0')),
       StatusCode::kInvalidArgument, "END_REQUEST carries 8 bytes"},
      {"stdout after its end", Out("a") + Out("") + Out("b"), StatusCode::kInvalidArgument,
       "after the end of its stream"},
      {"stderr after its end", Err("") + Err("b"), StatusCode::kInvalidArgument,
       "after the end of its stream"},
      {"bytes after END_REQUEST", End() + "x", StatusCode::kInvalidArgument, "after END_REQUEST"},
      {"record after END_REQUEST", End() + Out(""), StatusCode::kInvalidArgument,
       "after END_REQUEST"},
      {"stdout over the limit", Out(std::string(1000, 'x')) + Out(std::string(100, 'x')),
       StatusCode::kTooLarge, "exceeds 1024 bytes"},
  };
  for (const auto& c : cases) {
    ResponseParser p(1, ResponseLimits{.max_stdout = 1024});
    Status st = p.Feed(c.wire);
    ASSERT_FALSE(st.ok()) << c.name;
    EXPECT_EQ(st.code(), c.code) << c.name << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.message_part), std::string::npos)
        << c.name << ": " << st.ToString();
    EXPECT_FALSE(p.done()) << c.name;
    // The error sticks.
    EXPECT_EQ(p.Feed(Out("more")).message(), st.message()) << c.name;
    EXPECT_FALSE(p.FinishAtEof().ok()) << c.name;
  }
}

TEST(FastCgiResponseParserTest, EveryTruncationIsRejectedAtEof) {
  const std::string wire = ValidResponse();
  for (size_t cut = 0; cut < wire.size(); ++cut) {
    ResponseParser p;
    ASSERT_TRUE(p.Feed(std::string_view(wire).substr(0, cut)).ok()) << cut;
    Status st = p.FinishAtEof();
    ASSERT_FALSE(st.ok()) << cut;
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << cut;
    EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.ToString();
  }
  ResponseParser p;
  ASSERT_TRUE(p.Feed(Out("half")).ok());
  EXPECT_NE(p.FinishAtEof().message().find("between records"), std::string::npos);
  ASSERT_TRUE(p.Feed(Out("x").substr(0, 3)).ok());
  EXPECT_NE(p.FinishAtEof().message().find("in a record header"), std::string::npos);
}

TEST(FastCgiResponseParserTest, StderrPastItsLimitIsDroppedNotFatal) {
  ResponseParser p(1, ResponseLimits{.max_stdout = 1024, .max_stderr = 10});
  ASSERT_TRUE(p.Feed(Err("0123456") + Err("789abcdef") + Out("\n") + Out("") + End()).ok());
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.stderr_data(), "0123456789");
  EXPECT_EQ(p.stderr_dropped(), 6u);
}

// Random bytes and random mutations of a valid answer: whatever happens is a Status.
TEST(FastCgiResponseParserTest, SurvivesRandomAndMutatedInput) {
  Random random(7);
  const std::string valid = ValidResponse();
  int rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string wire;
    if (round % 2 == 0) {
      wire.resize(random.Next() % 200);
      for (char& c : wire) c = static_cast<char>(random.Next());
      // Make some headers plausible so the parser gets past the first check.
      if (wire.size() > 8 && round % 4 == 0) {
        wire[0] = 1;
        wire[2] = 0;
        wire[3] = 1;
      }
    } else {
      wire = valid;
      int flips = 1 + static_cast<int>(random.Next() % 4);
      for (int i = 0; i < flips; ++i) {
        wire[random.Next() % wire.size()] = static_cast<char>(random.Next());
      }
      if (random.Next() % 3 == 0) wire.resize(random.Next() % wire.size());
    }
    ResponseParser p(1, ResponseLimits{.max_stdout = 4096, .max_stderr = 64});
    size_t pos = 0;
    Status st;
    while (pos < wire.size() && st.ok()) {
      size_t n = 1 + random.Next() % 32;
      st = p.Feed(std::string_view(wire).substr(pos, n));
      pos += n;
    }
    if (!st.ok() || !p.FinishAtEof().ok()) ++rejected;
    EXPECT_LE(p.stdout_data().size(), 4096u);
    EXPECT_LE(p.stderr_data().size(), 64u);
    if (p.done()) (void)ParseCgiResponse(p.TakeStdout());
    if (round % 10 == 0) (void)ParseCgiResponse(wire);
    (void)DecodeNameValues(wire);
  }
  EXPECT_GT(rejected, 10000);
}

// ---- CGI response --------------------------------------------------------------------------

TEST(CgiResponseTest, StatusHeaderSetsTheCodeAndIsNotForwarded) {
  Result<CgiResponse> r =
      ParseCgiResponse("Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\nmissing");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);
  ASSERT_EQ(r->headers.size(), 1u);
  EXPECT_EQ(r->headers[0], (std::pair<std::string, std::string>{"Content-Type", "text/html"}));
  EXPECT_EQ(r->body, "missing");

  r = ParseCgiResponse("status:503\r\n\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(r->body.empty());
}

TEST(CgiResponseTest, DefaultIs200AndLocationAloneIs302) {
  EXPECT_EQ(ParseCgiResponse("Content-Type: text/plain\r\n\r\nok")->status, 200);
  Result<CgiResponse> r = ParseCgiResponse("Location: /next\r\n\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->headers[0].second, "/next");
  EXPECT_EQ(ParseCgiResponse("Location: /next\r\nStatus: 301 Moved\r\n\r\n")->status, 301);
}

TEST(CgiResponseTest, RepeatedHeadersStayInOrderWithNamesAsGiven) {
  Result<CgiResponse> r = ParseCgiResponse(
      "Set-Cookie: a=1\r\nX-Custom-HEADER:  spaced value \t\r\nset-cookie: b=2\r\n"
      "Set-Cookie: c=3; Path=/\r\n\r\n");
  ASSERT_TRUE(r.ok());
  std::vector<std::pair<std::string, std::string>> expected = {{"Set-Cookie", "a=1"},
                                                               {"X-Custom-HEADER", "spaced value"},
                                                               {"set-cookie", "b=2"},
                                                               {"Set-Cookie", "c=3; Path=/"}};
  EXPECT_EQ(r->headers, expected);
}

TEST(CgiResponseTest, AcceptsBareNewlines) {
  Result<CgiResponse> r = ParseCgiResponse("Status: 201\nA: 1\r\nB: 2\n\nbody\nline\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->headers.size(), 2u);
  EXPECT_EQ(r->body, "body\nline\r\n");
}

TEST(CgiResponseTest, BodyIsBinarySafe) {
  std::string body;
  for (int i = 0; i < 256; ++i) body.push_back(static_cast<char>(i));
  body += "\r\n\r\n";
  body += std::string("\0\0\0", 3);
  Result<CgiResponse> r = ParseCgiResponse("Content-Type: application/octet-stream\r\n\r\n" + body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, body);
  EXPECT_EQ(ParseCgiResponse("\r\n")->body, "");
  EXPECT_EQ(ParseCgiResponse("\n\x01\x02")->body, "\x01\x02");
}

TEST(CgiResponseTest, MalformedHeadersAreRejected) {
  struct Case {
    std::string input;
    std::string message_part;
  };
  std::vector<Case> cases = {
      {"", "no empty line"},
      {"Content-Type: text/plain\r\nbody without blank line", "no empty line"},
      {"Content-Type: text/plain\r\n", "no empty line"},
      {"no colon here\r\n\r\n", "without a colon"},
      {": value\r\n\r\n", "without a name"},
      {"Bad Name: x\r\n\r\n", "whitespace or control"},
      {"Status: abc\r\n\r\n", "not a status code"},
      {"Status: 20\r\n\r\n", "not a status code"},
      {"Status: 2000\r\n\r\n", "not a status code"},
      {"Status: 099 Low\r\n\r\n", "not a status code"},
  };
  for (const auto& c : cases) {
    Result<CgiResponse> r = ParseCgiResponse(c.input);
    ASSERT_FALSE(r.ok()) << c.input;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << r.status().ToString();
  }
}

}  // namespace
}  // namespace cutover::runtime::fastcgi
