#include "gateway/proxy_event.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/core.h>

#include <boost/json.hpp>
#include <exception>

#include "gateway/http_util.h"

// Behaviour choices where the reference leaves room (see also tests/gateway/testdata/):
//
// - Events are written straight into one reserved std::string (no DOM): this runs once per request.
// - 1.0 `path`, `requestContext.path` and 2.0 `rawPath` are the path as received, percent-encoding
//   kept (REST does the same; HTTP API would decode rawPath, which loses '?' and '%2F' - we keep it
//   raw so the handler can always rebuild the URL). `pathParameters` values are percent-decoded
//   ('+' stays '+'), as REST and HTTP API both deliver them.
// - Query keys and values are percent-decoded with '+' as space; `rawQueryString` is untouched.
// - 1.0 header names keep the client's spelling; names are grouped case-insensitively and the first
//   spelling seen is used. 2.0 names are lower-cased, the Cookie header moves to `cookies`.
// - Absent maps: 1.0 writes null (headers, multiValueHeaders, queryStringParameters,
//   multiValueQueryStringParameters, pathParameters, stageVariables); 2.0 omits cookies,
//   queryStringParameters, pathParameters, stageVariables and an empty body, as HTTP API does.
// - 2.0 `requestContext.stage` is "$default": the Serverless Framework deploys `httpApi` events to
//   HTTP API's $default stage, so that is what a function sees on AWS. 1.0 uses RouteInfo::stage.
// - Responses: `statusCode` must be a JSON number with an integral value in [100, 599] (a string
//   "200" is rejected). Header values may be strings, numbers or booleans (written as text); null
//   values are skipped; objects and arrays are malformed. Unknown top-level keys are ignored. 2.0
//   ignores `multiValueHeaders` (HTTP API has none).

namespace cutover::gateway {
namespace {

namespace json = boost::json;

constexpr std::string_view kAccountId = "000000000000";
constexpr std::string_view kProtocol = "HTTP/1.1";
constexpr std::string_view kMalformed = "Malformed Lambda proxy response: ";

// A minimal streaming JSON writer over one string; commas are placed automatically.
class JsonOut {
 public:
  explicit JsonOut(size_t reserve) { out_.reserve(reserve); }

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  void Key(std::string_view key) {
    Separate();
    AppendJsonString(&out_, key);
    out_.push_back(':');
    need_comma_ = false;
  }
  void String(std::string_view value) {
    Separate();
    AppendJsonString(&out_, value);
    need_comma_ = true;
  }
  void Null() { Raw("null"); }
  void Bool(bool value) { Raw(value ? "true" : "false"); }
  void Int(int64_t value) {
    Separate();
    fmt::format_to(std::back_inserter(out_), "{}", value);
    need_comma_ = true;
  }

  void Field(std::string_view key, std::string_view value) {
    Key(key);
    String(value);
  }
  void NullField(std::string_view key) {
    Key(key);
    Null();
  }

  std::string Take() { return std::move(out_); }

 private:
  void Separate() {
    if (need_comma_) out_.push_back(',');
  }
  void Open(char c) {
    Separate();
    out_.push_back(c);
    need_comma_ = false;
  }
  void Close(char c) {
    out_.push_back(c);
    need_comma_ = true;
  }
  void Raw(std::string_view text) {
    Separate();
    out_.append(text);
    need_comma_ = true;
  }

  std::string out_;
  bool need_comma_ = false;
};

size_t EstimateSize(const ProxyRequest& request) {
  size_t size =
      1024 + request.path.size() * 3 + request.raw_query.size() * 4 + request.body.size() * 4 / 3;
  for (const auto& [name, value] : request.headers) size += 2 * (name.size() + value.size()) + 16;
  return size;
}

// True when an entry before `i` has the same name (case-insensitive for headers): `i` is then
// already covered by that entry's group.
bool HeaderSeenBefore(const HeaderList& headers, size_t i) {
  for (size_t j = 0; j < i; ++j) {
    if (EqualsIgnoreCase(headers[j].first, headers[i].first)) return true;
  }
  return false;
}

bool ParamSeenBefore(const std::vector<std::pair<std::string, std::string>>& params, size_t i) {
  for (size_t j = 0; j < i; ++j) {
    if (params[j].first == params[i].first) return true;
  }
  return false;
}

const std::string* LastHeader(const HeaderList& headers, std::string_view name) {
  for (size_t i = headers.size(); i-- > 0;) {
    if (EqualsIgnoreCase(headers[i].first, name)) return &headers[i].second;
  }
  return nullptr;
}

// "abc.execute-api.example.com:3000" -> "abc".
std::string_view DomainPrefix(std::string_view domain) {
  const size_t end = domain.find_first_of(".:");
  return end == std::string_view::npos ? domain : domain.substr(0, end);
}

std::string_view DomainName(const RouteInfo& route) {
  return route.domain_name.empty() ? std::string_view("localhost")
                                   : std::string_view(route.domain_name);
}

std::string_view RequestPath(const ProxyRequest& request) {
  return request.path.empty() ? std::string_view("/") : std::string_view(request.path);
}

// A short stable id for the resource, like API Gateway's 6-character resourceId (FNV-1a, base 36).
std::string ResourceId(std::string_view resource_path) {
  uint64_t hash = 1469598103934665603ULL;
  for (const char c : resource_path) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id(6, '0');
  for (char& c : id) {
    c = kDigits[hash % 36];
    hash /= 36;
  }
  return id;
}

void WriteBody(JsonOut* out, const ProxyRequest& request, bool null_when_empty) {
  if (request.body.empty()) {
    if (null_when_empty) out->NullField("body");
    out->Key("isBase64Encoded");
    out->Bool(false);
    return;
  }
  const bool binary = !IsValidUtf8(request.body);
  if (binary) {
    out->Field("body", Base64Encode(request.body));
  } else {
    out->Field("body", request.body);
  }
  out->Key("isBase64Encoded");
  out->Bool(binary);
}

void WritePathParameters(JsonOut* out, const RouteInfo& route, bool null_when_empty) {
  if (route.path_params.empty()) {
    if (null_when_empty) out->NullField("pathParameters");
    return;
  }
  out->Key("pathParameters");
  out->BeginObject();
  for (const auto& [name, value] : route.path_params) {
    out->Field(name, PercentDecode(value, /*plus_is_space=*/false));
  }
  out->EndObject();
}

std::string RouteKeyV2(const router::RouteSpec* spec) {
  if (spec == nullptr) return "$default";
  if (spec->path == "$default") return spec->path;
  return spec->method + " " + spec->path;
}

// ---- responses ----

Status Malformed(std::string_view why) {
  return InvalidArgument(fmt::format("{}{}", kMalformed, why));
}

// Header values: strings as-is; numbers and booleans as their JSON text. `ok` is false for arrays
// and objects; `skip` is true for null.
std::string ScalarText(const json::value& v, bool* ok, bool* skip) {
  *ok = true;
  *skip = false;
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
      return fmt::format("{}", v.get_int64());
    case json::kind::uint64:
      return fmt::format("{}", v.get_uint64());
    case json::kind::double_:
      return fmt::format("{}", v.get_double());
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::null:
      *skip = true;
      return {};
    default:
      *ok = false;
      return {};
  }
}

Result<int> StatusCodeOf(const json::value& v) {
  int64_t code = 0;
  if (const int64_t* i = v.if_int64()) {
    code = *i;
  } else if (const uint64_t* u = v.if_uint64()) {
    code = *u > 1000 ? 1000 : static_cast<int64_t>(*u);
  } else if (const double* d = v.if_double()) {
    if (!(*d >= 100 && *d < 600) || *d != static_cast<double>(static_cast<int64_t>(*d))) {
      return Malformed("statusCode must be an integer between 100 and 599");
    }
    code = static_cast<int64_t>(*d);
  } else {
    return Malformed("statusCode must be a number");
  }
  if (code < 100 || code > 599) return Malformed("statusCode must be between 100 and 599");
  return static_cast<int>(code);
}

bool InMultiValue(const json::object* multi, std::string_view name) {
  if (multi == nullptr) return false;
  for (const auto& entry : *multi) {
    if (EqualsIgnoreCase(entry.key(), name)) return true;
  }
  return false;
}

// Maps {statusCode, headers, multiValueHeaders (1.0), cookies (2.0), body, isBase64Encoded}.
Result<ProxyResponse> MapObject(const json::object& obj, bool v2) {
  ProxyResponse response;
  const json::value* status = obj.if_contains("statusCode");
  if (status == nullptr) return Malformed("statusCode is missing");
  CUTOVER_ASSIGN_OR_RETURN(response.status, StatusCodeOf(*status));

  const json::object* multi = nullptr;
  if (!v2) {
    if (const json::value* v = obj.if_contains("multiValueHeaders");
        v != nullptr && !v->is_null()) {
      multi = v->if_object();
      if (multi == nullptr) return Malformed("multiValueHeaders must be an object");
    }
  }
  if (const json::value* v = obj.if_contains("headers"); v != nullptr && !v->is_null()) {
    const json::object* headers = v->if_object();
    if (headers == nullptr) return Malformed("headers must be an object");
    for (const auto& entry : *headers) {
      bool ok;
      bool skip;
      std::string text = ScalarText(entry.value(), &ok, &skip);
      if (!ok)
        return Malformed(
            fmt::format("header '{}' must be a string", std::string_view(entry.key())));
      if (skip || InMultiValue(multi, entry.key())) continue;
      response.headers.emplace_back(std::string(entry.key()), std::move(text));
    }
  }
  if (multi != nullptr) {
    for (const auto& entry : *multi) {
      if (entry.value().is_null()) continue;
      const json::array* values = entry.value().if_array();
      if (values == nullptr) {
        return Malformed(
            fmt::format("multiValueHeaders '{}' must be an array", std::string_view(entry.key())));
      }
      for (const json::value& item : *values) {
        bool ok;
        bool skip;
        std::string text = ScalarText(item, &ok, &skip);
        if (!ok) {
          return Malformed(fmt::format("multiValueHeaders '{}' must hold strings",
                                       std::string_view(entry.key())));
        }
        if (!skip) response.headers.emplace_back(std::string(entry.key()), std::move(text));
      }
    }
  }
  if (v2) {
    if (const json::value* v = obj.if_contains("cookies"); v != nullptr && !v->is_null()) {
      const json::array* cookies = v->if_array();
      if (cookies == nullptr) return Malformed("cookies must be an array");
      for (const json::value& cookie : *cookies) {
        const json::string* text = cookie.if_string();
        if (text == nullptr) return Malformed("cookies must hold strings");
        response.headers.emplace_back("set-cookie", std::string(*text));
      }
    }
  }

  bool base64 = false;
  if (const json::value* v = obj.if_contains("isBase64Encoded"); v != nullptr && !v->is_null()) {
    const bool* flag = v->if_bool();
    if (flag == nullptr) return Malformed("isBase64Encoded must be a boolean");
    base64 = *flag;
  }
  if (const json::value* v = obj.if_contains("body"); v != nullptr && !v->is_null()) {
    const json::string* body = v->if_string();
    if (body == nullptr) return Malformed("body must be a string");
    if (base64) {
      if (!Base64Decode(*body, &response.body)) return Malformed("body is not valid base64");
    } else {
      response.body.assign(body->data(), body->size());
    }
  }
  return response;
}

Result<json::value> ParsePayload(std::string_view payload) {
  // Deep enough for any real response; bounded because destroying a value recurses.
  json::parse_options options;
  options.max_depth = 512;
  boost::system::error_code ec;
  json::value parsed = json::parse(payload, ec, json::storage_ptr(), options);
  if (ec) return Malformed(fmt::format("not JSON ({})", ec.message()));
  return parsed;
}

std::string_view TrimSpace(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// Opens requestContext with the fields both formats start with.
void BeginRequestContext(JsonOut& out, const RouteInfo& route) {
  const std::string_view domain = DomainName(route);
  out.BeginObject();
  out.Field("accountId", kAccountId);
  out.Field("apiId", route.api_id);
  out.Field("domainName", domain);
  out.Field("domainPrefix", DomainPrefix(domain));
}

// event.requestContext of format 1.0.
void WriteRequestContextV1(JsonOut* o, const ProxyRequest& request, const RouteInfo& route,
                           std::string_view resource, std::string_view path) {
  JsonOut& out = *o;
  const std::string* user_agent = LastHeader(request.headers, "user-agent");
  BeginRequestContext(out, route);
  out.Field("extendedRequestId", request.request_id);
  out.Field("httpMethod", request.method);
  out.Key("identity");
  out.BeginObject();
  for (const std::string_view key :
       {"accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
        "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId",
        "principalOrgId"}) {
    out.NullField(key);
  }
  out.Field("sourceIp", request.source_ip);
  out.NullField("user");
  out.Key("userAgent");
  if (user_agent != nullptr) {
    out.String(*user_agent);
  } else {
    out.Null();
  }
  out.NullField("userArn");
  out.NullField("clientCert");
  out.EndObject();
  out.Key("path");
  if (route.stage.empty()) {
    out.String(path);
  } else {
    std::string staged;
    staged.reserve(route.stage.size() + path.size() + 1);
    staged.push_back('/');
    staged.append(route.stage);
    staged.append(path);
    out.String(staged);
  }
  out.Field("protocol", kProtocol);
  out.Field("requestId", request.request_id);
  out.Field("requestTime", FormatClfTime(request.request_time_ms));
  out.Key("requestTimeEpoch");
  out.Int(request.request_time_ms);
  out.Field("resourceId", ResourceId(resource));
  out.Field("resourcePath", resource);
  out.Field("stage", route.stage);
  out.EndObject();
}

// event.requestContext of format 2.0.
void WriteRequestContextV2(JsonOut* o, const ProxyRequest& request, const RouteInfo& route,
                           std::string_view route_key, std::string_view path) {
  JsonOut& out = *o;
  const std::string* user_agent = LastHeader(request.headers, "user-agent");
  BeginRequestContext(out, route);
  out.Key("http");
  out.BeginObject();
  out.Field("method", request.method);
  out.Field("path", path);
  out.Field("protocol", kProtocol);
  out.Field("sourceIp", request.source_ip);
  out.Field("userAgent", user_agent != nullptr ? std::string_view(*user_agent) : "");
  out.EndObject();
  out.Field("requestId", request.request_id);
  out.Field("routeKey", route_key);
  out.Field("stage", "$default");
  out.Field("time", FormatClfTime(request.request_time_ms));
  out.Key("timeEpoch");
  out.Int(request.request_time_ms);
  out.EndObject();
}

}  // namespace

std::string BuildRequestContext(const ProxyRequest& request, const RouteInfo& route, bool v2) {
  JsonOut out(512);
  const std::string_view path = RequestPath(request);
  if (v2) {
    WriteRequestContextV2(&out, request, route, RouteKeyV2(route.route), path);
  } else {
    const router::RouteSpec* spec = route.route;
    WriteRequestContextV1(&out, request, route,
                          spec != nullptr ? std::string_view(spec->path) : "/", path);
  }
  return out.Take();
}

std::string BuildEventV1(const ProxyRequest& request, const RouteInfo& route) {
  const router::RouteSpec* spec = route.route;
  const std::string_view resource = spec != nullptr ? std::string_view(spec->path) : "/";
  const std::string_view path = RequestPath(request);
  const std::vector<std::pair<std::string, std::string>> query =
      ParseQueryString(request.raw_query);

  JsonOut out(EstimateSize(request));
  out.BeginObject();
  out.Field("resource", resource);
  out.Field("path", path);
  out.Field("httpMethod", request.method);

  // headers: last value wins; multiValueHeaders: every value in order.
  if (request.headers.empty()) {
    out.NullField("headers");
    out.NullField("multiValueHeaders");
  } else {
    out.Key("headers");
    out.BeginObject();
    for (size_t i = 0; i < request.headers.size(); ++i) {
      if (HeaderSeenBefore(request.headers, i)) continue;
      out.Field(request.headers[i].first, *LastHeader(request.headers, request.headers[i].first));
    }
    out.EndObject();
    out.Key("multiValueHeaders");
    out.BeginObject();
    for (size_t i = 0; i < request.headers.size(); ++i) {
      if (HeaderSeenBefore(request.headers, i)) continue;
      out.Key(request.headers[i].first);
      out.BeginArray();
      for (size_t k = i; k < request.headers.size(); ++k) {
        if (EqualsIgnoreCase(request.headers[k].first, request.headers[i].first)) {
          out.String(request.headers[k].second);
        }
      }
      out.EndArray();
    }
    out.EndObject();
  }

  if (query.empty()) {
    out.NullField("queryStringParameters");
    out.NullField("multiValueQueryStringParameters");
  } else {
    out.Key("queryStringParameters");
    out.BeginObject();
    for (size_t i = 0; i < query.size(); ++i) {
      if (ParamSeenBefore(query, i)) continue;
      const std::string* last = &query[i].second;
      for (size_t k = i + 1; k < query.size(); ++k) {
        if (query[k].first == query[i].first) last = &query[k].second;
      }
      out.Field(query[i].first, *last);
    }
    out.EndObject();
    out.Key("multiValueQueryStringParameters");
    out.BeginObject();
    for (size_t i = 0; i < query.size(); ++i) {
      if (ParamSeenBefore(query, i)) continue;
      out.Key(query[i].first);
      out.BeginArray();
      for (size_t k = i; k < query.size(); ++k) {
        if (query[k].first == query[i].first) out.String(query[k].second);
      }
      out.EndArray();
    }
    out.EndObject();
  }

  WritePathParameters(&out, route, /*null_when_empty=*/true);
  out.NullField("stageVariables");

  out.Key("requestContext");
  WriteRequestContextV1(&out, request, route, resource, path);

  WriteBody(&out, request, /*null_when_empty=*/true);
  out.EndObject();
  return out.Take();
}

std::string BuildEventV2(const ProxyRequest& request, const RouteInfo& route) {
  const std::string route_key = RouteKeyV2(route.route);
  const std::string_view path = RequestPath(request);
  const std::vector<std::pair<std::string, std::string>> query =
      ParseQueryString(request.raw_query);

  JsonOut out(EstimateSize(request));
  out.BeginObject();
  out.Field("version", "2.0");
  out.Field("routeKey", route_key);
  out.Field("rawPath", path);
  out.Field("rawQueryString", request.raw_query);

  // cookies: every Cookie header, split on ';' with surrounding spaces dropped.
  bool any_cookie = false;
  for (const auto& [name, value] : request.headers) {
    if (!EqualsIgnoreCase(name, "cookie")) continue;
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(';', start);
      if (end == std::string::npos) end = value.size();
      const std::string_view cookie = TrimSpace(std::string_view(value).substr(start, end - start));
      if (!cookie.empty()) {
        if (!any_cookie) {
          out.Key("cookies");
          out.BeginArray();
          any_cookie = true;
        }
        out.String(cookie);
      }
      start = end + 1;
    }
  }
  if (any_cookie) out.EndArray();

  // headers: lower-case names, duplicates joined with ',', Cookie moved to `cookies`.
  out.Key("headers");
  out.BeginObject();
  std::string joined;
  for (size_t i = 0; i < request.headers.size(); ++i) {
    const std::string& name = request.headers[i].first;
    if (EqualsIgnoreCase(name, "cookie") || HeaderSeenBefore(request.headers, i)) continue;
    joined.assign(request.headers[i].second);
    for (size_t k = i + 1; k < request.headers.size(); ++k) {
      if (EqualsIgnoreCase(request.headers[k].first, name)) {
        joined.push_back(',');
        joined.append(request.headers[k].second);
      }
    }
    out.Field(AsciiLower(name), joined);
  }
  out.EndObject();

  if (!query.empty()) {
    out.Key("queryStringParameters");
    out.BeginObject();
    for (size_t i = 0; i < query.size(); ++i) {
      if (ParamSeenBefore(query, i)) continue;
      joined.assign(query[i].second);
      for (size_t k = i + 1; k < query.size(); ++k) {
        if (query[k].first == query[i].first) {
          joined.push_back(',');
          joined.append(query[k].second);
        }
      }
      out.Field(query[i].first, joined);
    }
    out.EndObject();
  }

  out.Key("requestContext");
  WriteRequestContextV2(&out, request, route, route_key, path);

  WritePathParameters(&out, route, /*null_when_empty=*/false);
  WriteBody(&out, request, /*null_when_empty=*/false);
  out.EndObject();
  return out.Take();
}

Result<ProxyResponse> MapResponseV1(std::string_view payload) {
  try {
    CUTOVER_ASSIGN_OR_RETURN(json::value parsed, ParsePayload(payload));
    const json::object* obj = parsed.if_object();
    if (obj == nullptr) return Malformed("not a JSON object");
    return MapObject(*obj, /*v2=*/false);
  } catch (const std::exception& e) {
    return Malformed(e.what());
  }
}

Result<ProxyResponse> MapResponseV2(std::string_view payload) {
  try {
    CUTOVER_ASSIGN_OR_RETURN(json::value parsed, ParsePayload(payload));
    if (const json::object* obj = parsed.if_object();
        obj != nullptr && obj->contains("statusCode")) {
      return MapObject(*obj, /*v2=*/true);
    }
    // Valid JSON without statusCode: API Gateway answers 200 application/json with the value as the
    // body; a JSON string contributes its contents, anything else its JSON text.
    ProxyResponse response;
    response.status = 200;
    response.headers.emplace_back("content-type", "application/json");
    if (const json::string* text = parsed.if_string()) {
      response.body.assign(text->data(), text->size());
    } else {
      response.body.assign(TrimSpace(payload));
    }
    return response;
  } catch (const std::exception& e) {
    return Malformed(e.what());
  }
}

Status CheckSendable(const ProxyResponse& response) {
  if (response.status < 200 || response.status > 599) {
    return InvalidArgument(fmt::format(
        "Malformed Lambda proxy response: statusCode {} is not a final HTTP status",
        response.status));
  }
  auto is_tchar = [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  };
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), [&](char c) {
          return c != '\0' && is_tchar(static_cast<unsigned char>(c));
        })) {
      return InvalidArgument("Malformed Lambda proxy response: invalid header name");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument(fmt::format(
          "Malformed Lambda proxy response: header {} has a line break or NUL in its value", name));
    }
  }
  return Status::Ok();
}

}  // namespace cutover::gateway
