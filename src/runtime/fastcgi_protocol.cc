#include "runtime/fastcgi_protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace cutover::runtime::fastcgi {
namespace {

uint32_t ReadLength(const uint8_t* p, size_t* used) {
  if ((p[0] & 0x80) == 0) {
    *used = 1;
    return p[0];
  }
  *used = 4;
  return (static_cast<uint32_t>(p[0] & 0x7f) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

void AppendLength(std::string& out, size_t length) {
  if (length <= 127) {
    out.push_back(static_cast<char>(length));
    return;
  }
  out.push_back(static_cast<char>(0x80 | ((length >> 24) & 0x7f)));
  out.push_back(static_cast<char>((length >> 16) & 0xff));
  out.push_back(static_cast<char>((length >> 8) & 0xff));
  out.push_back(static_cast<char>(length & 0xff));
}

void AppendHeader(std::string& out, RecordType type, uint16_t request_id, size_t content_length,
                  uint8_t padding) {
  uint8_t header[kHeaderSize];
  EncodeHeader({kVersion1, static_cast<uint8_t>(type), request_id,
                static_cast<uint16_t>(content_length), padding},
               header);
  out.append(reinterpret_cast<const char*>(header), kHeaderSize);
}

std::string DescribeHeader(const RecordHeader& h) {
  return fmt::format("{} record (type {}, request id {}, {} content bytes)", RecordTypeName(h.type),
                     h.type, h.request_id, h.content_length);
}

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpaceOrTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrTab(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A printable excerpt of untrusted bytes for an error message.
std::string Excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  if (s.size() > 60) out += "...";
  return out;
}

}  // namespace

std::string_view RecordTypeName(uint8_t type) {
  switch (type) {
    case 1:
      return "BEGIN_REQUEST";
    case 2:
      return "ABORT_REQUEST";
    case 3:
      return "END_REQUEST";
    case 4:
      return "PARAMS";
    case 5:
      return "STDIN";
    case 6:
      return "STDOUT";
    case 7:
      return "STDERR";
    case 8:
      return "DATA";
    case 9:
      return "GET_VALUES";
    case 10:
      return "GET_VALUES_RESULT";
    case 11:
      return "UNKNOWN_TYPE";
    default:
      return "unknown";
  }
}

std::string_view ProtocolStatusName(uint8_t status) {
  switch (status) {
    case 0:
      return "REQUEST_COMPLETE";
    case 1:
      return "CANT_MPX_CONN";
    case 2:
      return "OVERLOADED";
    case 3:
      return "UNKNOWN_ROLE";
    default:
      return "unknown";
  }
}

void EncodeHeader(const RecordHeader& h, uint8_t* out) {
  out[0] = h.version;
  out[1] = h.type;
  out[2] = static_cast<uint8_t>(h.request_id >> 8);
  out[3] = static_cast<uint8_t>(h.request_id & 0xff);
  out[4] = static_cast<uint8_t>(h.content_length >> 8);
  out[5] = static_cast<uint8_t>(h.content_length & 0xff);
  out[6] = h.padding_length;
  out[7] = 0;  // reserved
}

RecordHeader DecodeHeader(const uint8_t* in) {
  RecordHeader h;
  h.version = in[0];
  h.type = in[1];
  h.request_id = static_cast<uint16_t>((in[2] << 8) | in[3]);
  h.content_length = static_cast<uint16_t>((in[4] << 8) | in[5]);
  h.padding_length = in[6];
  return h;
}

void AppendRecord(std::string& out, RecordType type, uint16_t request_id,
                  std::string_view content) {
  CUTOVER_CHECK(content.size() <= kMaxContentLength);
  uint8_t padding = PaddingFor(content.size());
  AppendHeader(out, type, request_id, content.size(), padding);
  out.append(content);
  out.append(padding, '\0');
}

// ---- Name-value pairs ----------------------------------------------------------------------

size_t NameValueSize(std::string_view name, std::string_view value) {
  return (name.size() <= 127 ? 1 : 4) + (value.size() <= 127 ? 1 : 4) + name.size() + value.size();
}

void AppendNameValue(std::string& out, std::string_view name, std::string_view value) {
  CUTOVER_CHECK(name.size() <= kMaxNameValueLength && value.size() <= kMaxNameValueLength);
  AppendLength(out, name.size());
  AppendLength(out, value.size());
  out.append(name);
  out.append(value);
}

Result<Params> DecodeNameValues(std::string_view data) {
  Params out;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t pos = 0;
  const size_t end = data.size();
  while (pos < end) {
    size_t lengths[2];
    for (size_t& length : lengths) {
      if (pos >= end || ((p[pos] & 0x80) != 0 && end - pos < 4)) {
        return InvalidArgument(fmt::format(
            "name-value pair at byte {}: length runs past the end ({} bytes)", pos, end));
      }
      size_t used = 0;
      length = ReadLength(p + pos, &used);
      pos += used;
    }
    if (lengths[0] > end - pos || lengths[1] > end - pos - lengths[0]) {
      return InvalidArgument(fmt::format(
          "name-value pair at byte {}: name {} + value {} bytes run past the end ({} bytes)", pos,
          lengths[0], lengths[1], end));
    }
    out.emplace_back(std::string(data.substr(pos, lengths[0])),
                     std::string(data.substr(pos + lengths[0], lengths[1])));
    pos += lengths[0] + lengths[1];
  }
  return out;
}

// ---- Requests ------------------------------------------------------------------------------

void EncodedRequest::AddFraming(std::string_view bytes) {
  if (!segments_.empty() && !segments_.back().in_body) {
    segments_.back().size += bytes.size();
  } else {
    segments_.push_back({false, framing_.size(), bytes.size()});
  }
  framing_.append(bytes);
  size_ += bytes.size();
}

void EncodedRequest::AddBody(size_t offset, size_t size) {
  segments_.push_back({true, offset, size});
  size_ += size;
}

std::vector<std::string_view> EncodedRequest::Views() const {
  std::vector<std::string_view> views;
  views.reserve(segments_.size());
  for (const Segment& s : segments_) {
    const std::string& source = s.in_body ? body_ : framing_;
    views.emplace_back(source.data() + s.offset, s.size);
  }
  return views;
}

std::string EncodedRequest::Flatten() const {
  std::string out;
  out.reserve(size_);
  for (std::string_view v : Views()) out.append(v);
  return out;
}

Result<EncodedRequest> EncodeRequest(uint16_t request_id, bool keep_conn, const Params& params,
                                     std::string body) {
  EncodedRequest r;
  r.body_ = std::move(body);

  // BEGIN_REQUEST: role (2 bytes), flags, 5 reserved bytes.
  const uint16_t role = static_cast<uint16_t>(Role::kResponder);
  const char begin[8] = {static_cast<char>(role >> 8),
                         static_cast<char>(role & 0xff),
                         static_cast<char>(keep_conn ? kKeepConn : 0),
                         0,
                         0,
                         0,
                         0,
                         0};
  std::string framing;
  AppendRecord(framing, RecordType::kBeginRequest, request_id, std::string_view(begin, 8));

  // PARAMS: whole pairs packed into records of at most kMaxContentLength bytes.
  std::string content;
  auto flush = [&] {
    if (content.empty()) return;
    AppendRecord(framing, RecordType::kParams, request_id, content);
    content.clear();
  };
  for (const auto& [name, value] : params) {
    size_t size = NameValueSize(name, value);
    if (size > kMaxContentLength) {
      return InvalidArgument(fmt::format(
          "FastCGI parameter {} is {} bytes encoded; one PARAMS record holds at most {}",
          Excerpt(name), size, kMaxContentLength));
    }
    if (content.size() + size > kMaxContentLength) flush();
    AppendNameValue(content, name, value);
  }
  flush();
  AppendRecord(framing, RecordType::kParams, request_id, {});

  // STDIN: record headers in the framing, content straight from the body.
  const size_t body_size = r.body_.size();
  for (size_t offset = 0; offset < body_size; offset += kStdinChunk) {
    size_t n = std::min(kStdinChunk, body_size - offset);
    uint8_t padding = PaddingFor(n);
    AppendHeader(framing, RecordType::kStdin, request_id, n, padding);
    r.AddFraming(framing);
    framing.clear();
    r.AddBody(offset, n);
    framing.append(padding, '\0');
  }
  AppendRecord(framing, RecordType::kStdin, request_id, {});
  r.AddFraming(framing);
  return r;
}

std::string EncodeGetValues(const std::vector<std::string>& names) {
  std::string content;
  for (const std::string& name : names) AppendNameValue(content, name, {});
  std::string out;
  CUTOVER_CHECK(content.size() <= kMaxContentLength);
  AppendRecord(out, RecordType::kGetValues, kNullRequestId, content);
  return out;
}

// ---- Responses -----------------------------------------------------------------------------

ResponseParser::ResponseParser(uint16_t request_id, ResponseLimits limits)
    : request_id_(request_id), limits_(limits) {}

Status ResponseParser::Fail(Status status) {
  error_ = std::move(status);
  return error_;
}

Status ResponseParser::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    switch (state_) {
      case State::kHeader: {
        size_t n = std::min(kHeaderSize - header_fill_, bytes.size());
        std::memcpy(header_bytes_ + header_fill_, bytes.data(), n);
        header_fill_ += n;
        bytes_seen_ += n;
        bytes.remove_prefix(n);
        if (header_fill_ == kHeaderSize) {
          header_fill_ = 0;
          CUTOVER_RETURN_IF_ERROR(OnHeader());
        }
        break;
      }
      case State::kContent: {
        size_t n = std::min(content_left_, bytes.size());
        content_left_ -= n;
        bytes_seen_ += n;
        std::string_view piece = bytes.substr(0, n);
        bytes.remove_prefix(n);
        CUTOVER_RETURN_IF_ERROR(OnContent(piece));
        if (content_left_ == 0) {
          state_ = padding_left_ > 0 ? State::kPadding : done_ ? State::kDone : State::kHeader;
        }
        break;
      }
      case State::kPadding: {
        size_t n = std::min(padding_left_, bytes.size());
        padding_left_ -= n;
        bytes_seen_ += n;
        bytes.remove_prefix(n);
        if (padding_left_ == 0) state_ = done_ ? State::kDone : State::kHeader;
        break;
      }
      case State::kDone:
        return Fail(InvalidArgument(
            fmt::format("{} bytes after END_REQUEST (at byte {})", bytes.size(), bytes_seen_)));
    }
  }
  return Status::Ok();
}

Status ResponseParser::OnHeader() {
  current_ = DecodeHeader(header_bytes_);
  const RecordHeader& h = current_;
  const size_t at = bytes_seen_ - kHeaderSize;
  if (h.version != kVersion1) {
    return Fail(InvalidArgument(
        fmt::format("record at byte {}: FastCGI version {}, expected 1", at, h.version)));
  }
  if (h.request_id != request_id_) {
    return Fail(InvalidArgument(fmt::format("record at byte {}: {} for request id {}, expected {}",
                                            at, DescribeHeader(h), h.request_id, request_id_)));
  }
  switch (static_cast<RecordType>(h.type)) {
    case RecordType::kStdout:
    case RecordType::kStderr: {
      bool& closed =
          h.type == static_cast<uint8_t>(RecordType::kStdout) ? stdout_closed_ : stderr_closed_;
      if (closed && h.content_length > 0) {
        return Fail(InvalidArgument(fmt::format("record at byte {}: {} after the end of its stream",
                                                at, DescribeHeader(h))));
      }
      if (h.content_length == 0) closed = true;
      if (h.type == static_cast<uint8_t>(RecordType::kStdout) &&
          stdout_.size() + h.content_length > limits_.max_stdout) {
        return Fail(TooLarge(fmt::format("FastCGI STDOUT exceeds {} bytes", limits_.max_stdout)));
      }
      break;
    }
    case RecordType::kEndRequest:
      if (h.content_length != 8) {
        return Fail(InvalidArgument(fmt::format(
            "record at byte {}: {}; END_REQUEST carries 8 bytes", at, DescribeHeader(h))));
      }
      end_body_.clear();
      break;
    default:
      return Fail(InvalidArgument(fmt::format(
          "record at byte {}: unexpected {} from the application", at, DescribeHeader(h))));
  }
  content_left_ = h.content_length;
  padding_left_ = h.padding_length;
  if (content_left_ > 0) {
    state_ = State::kContent;
  } else {
    state_ = padding_left_ > 0 ? State::kPadding : State::kHeader;
  }
  return Status::Ok();
}

Status ResponseParser::OnContent(std::string_view content) {
  switch (static_cast<RecordType>(current_.type)) {
    case RecordType::kStdout:
      stdout_.append(content);
      return Status::Ok();
    case RecordType::kStderr: {
      size_t room = limits_.max_stderr - std::min(limits_.max_stderr, stderr_.size());
      size_t keep = std::min(room, content.size());
      stderr_.append(content.substr(0, keep));
      stderr_dropped_ += content.size() - keep;
      return Status::Ok();
    }
    case RecordType::kEndRequest: {
      end_body_.append(content);
      if (content_left_ > 0) return Status::Ok();
      const auto* b = reinterpret_cast<const uint8_t*>(end_body_.data());
      app_status_ = (static_cast<uint32_t>(b[0]) << 24) | (static_cast<uint32_t>(b[1]) << 16) |
                    (static_cast<uint32_t>(b[2]) << 8) | static_cast<uint32_t>(b[3]);
      protocol_status_ = b[4];
      done_ = true;
      return Status::Ok();
    }
    default:
      return Fail(Internal("FastCGI parser: content for an unchecked record type"));
  }
}

Status ResponseParser::FinishAtEof() const {
  if (!error_.ok()) return error_;
  if (done_ && state_ == State::kDone) return Status::Ok();
  if (done_) {
    return Unavailable(fmt::format(
        "FastCGI response truncated in END_REQUEST padding after {} bytes", bytes_seen_));
  }
  std::string_view where = state_ == State::kHeader && header_fill_ == 0 ? "between records"
                           : state_ == State::kHeader                    ? "in a record header"
                           : state_ == State::kContent                   ? "in record content"
                                                                         : "in record padding";
  return Unavailable(fmt::format(
      "FastCGI response truncated {} after {} bytes: the connection closed before END_REQUEST",
      where, bytes_seen_));
}

// ---- CGI response --------------------------------------------------------------------------

Result<CgiResponse> ParseCgiResponse(std::string stdout_data) {
  CgiResponse response;
  std::string_view data(stdout_data);
  size_t pos = 0;
  bool have_status = false;
  bool have_location = false;
  size_t body_start = std::string::npos;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view line = data.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (line.empty()) {
      body_start = pos;
      break;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgument(fmt::format("CGI header line without a colon: \"{}\"", Excerpt(line)));
    }
    std::string_view name = line.substr(0, colon);
    if (name.empty()) {
      return InvalidArgument(fmt::format("CGI header line without a name: \"{}\"", Excerpt(line)));
    }
    for (char c : name) {
      auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f) {
        return InvalidArgument(
            fmt::format("CGI header name \"{}\" holds whitespace or control bytes", Excerpt(name)));
      }
    }
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Status")) {
      bool digits = value.size() >= 3 && std::all_of(value.begin(), value.begin() + 3,
                                                     [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || (value.size() > 3 && !IsSpaceOrTab(value[3])) || value[0] == '0') {
        return InvalidArgument(
            fmt::format("CGI Status \"{}\" is not a status code", Excerpt(value)));
      }
      response.status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
      have_status = true;
      continue;
    }
    if (EqualsIgnoreCase(name, "Location")) have_location = true;
    response.headers.emplace_back(std::string(name), std::string(value));
  }
  if (body_start == std::string::npos) {
    return InvalidArgument(fmt::format(
        "CGI response has no empty line ending its headers ({} bytes)", stdout_data.size()));
  }
  if (!have_status && have_location) response.status = 302;
  stdout_data.erase(0, body_start);
  response.body = std::move(stdout_data);
  return response;
}

}  // namespace cutover::runtime::fastcgi
