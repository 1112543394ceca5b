#include "runtime/fpm_event.h"

#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <vector>

#include "common/base64.h"

namespace cutover::runtime {
namespace {

namespace json = boost::json;

const json::value* Field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// http_build_query(..., PHP_QUERY_RFC3986): everything but unreserved characters is escaped.
void AppendRfc3986(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

void AppendPair(std::string& query, std::string_view key, std::string_view value) {
  if (!query.empty()) query.push_back('&');
  AppendRfc3986(query, key);
  query.push_back('=');
  AppendRfc3986(query, value);
}

// "content-type" -> "Content-Type".
std::string Capitalize(std::string_view name) {
  std::string out = Lower(name);
  bool start = true;
  for (char& c : out) {
    if (start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    start = c == '-';
  }
  return out;
}

}  // namespace

Result<EventHttpRequest> HttpRequestFromEvent(std::string_view event_json) {
  constexpr std::string_view kNotHttp =
      "This handler expected to be invoked with a API Gateway or ALB event";
  boost::system::error_code ec;
  json::value root = json::parse(event_json, ec);
  if (ec || !root.is_object()) return InvalidArgument(std::string(kNotHttp));
  const json::object& event = root.as_object();

  EventHttpRequest out;
  fastcgi::FastCgiHttpRequest& req = out.request;
  out.v2 = StringField(event, "version") == "2.0";
  const json::value* context_value = Field(event, "requestContext");
  const json::object* context =
      context_value && context_value->is_object() ? &context_value->as_object() : nullptr;
  if (out.v2) {
    const json::value* http = context ? Field(*context, "http") : nullptr;
    if (http && http->is_object()) req.method = StringField(http->as_object(), "method");
    req.path = StringField(event, "rawPath");
  } else {
    req.method = StringField(event, "httpMethod");
    req.path = StringField(event, "path");
  }
  if (req.method.empty()) return InvalidArgument(std::string(kNotHttp));
  if (req.path.empty()) req.path = "/";
  if (context) {
    req.request_context_json = json::serialize(*context);
    std::string protocol = StringField(*context, "protocol");
    if (!protocol.empty()) req.protocol = protocol;
  }

  // Headers, lower-cased as Bref does.
  const json::value* multi = Field(event, "multiValueHeaders");
  if (multi && multi->is_object()) {
    out.multi_value_headers = true;
    for (const auto& [name, values] : multi->as_object()) {
      if (!values.is_array()) continue;
      for (const json::value& v : values.as_array()) {
        if (v.is_string()) req.headers.emplace_back(Lower(name), std::string(v.as_string()));
      }
    }
  } else if (const json::value* single = Field(event, "headers"); single && single->is_object()) {
    for (const auto& [name, v] : single->as_object()) {
      if (v.is_string()) req.headers.emplace_back(Lower(name), std::string(v.as_string()));
    }
  }
  if (const json::value* cookies = Field(event, "cookies"); cookies && cookies->is_array()) {
    std::string joined;
    for (const json::value& c : cookies->as_array()) {
      if (!c.is_string()) continue;
      if (!joined.empty()) joined += "; ";
      joined += c.as_string();
    }
    if (!joined.empty()) req.headers.emplace_back("cookie", std::move(joined));
  }

  // Query string.
  if (out.v2) {
    req.raw_query = StringField(event, "rawQueryString");
  } else if (const json::value* mq = Field(event, "multiValueQueryStringParameters");
             mq && mq->is_object()) {
    for (const auto& [key, values] : mq->as_object()) {
      if (!values.is_array()) continue;
      for (const json::value& v : values.as_array()) {
        if (v.is_string()) AppendPair(req.raw_query, key, v.as_string());
      }
    }
  } else if (const json::value* q = Field(event, "queryStringParameters"); q && q->is_object()) {
    for (const auto& [key, v] : q->as_object()) {
      if (v.is_string()) AppendPair(req.raw_query, key, v.as_string());
    }
  }

  // Body.
  std::string body = StringField(event, "body");
  const json::value* b64 = Field(event, "isBase64Encoded");
  if (b64 && b64->is_bool() && b64->as_bool()) {
    if (!Base64Decode(body, &out.body)) {
      return InvalidArgument("the event's body is not valid base64 (isBase64Encoded)");
    }
  } else {
    out.body = std::move(body);
  }
  req.body_size = out.body.size();
  return out;
}

bool IsWarmerEvent(std::string_view event_json) {
  boost::system::error_code ec;
  json::value root = json::parse(event_json, ec);
  if (ec || !root.is_object()) return false;
  const json::value* warmer = Field(root.as_object(), "warmer");
  return warmer && warmer->is_bool() && warmer->as_bool();
}

std::string ProxyResponseFromCgi(const fastcgi::CgiResponse& response, bool v2,
                                 bool multi_value_headers, bool binary_responses) {
  // Names in first-seen order, each with its values in order.
  std::vector<std::pair<std::string, std::vector<std::string>>> headers;
  std::map<std::string, size_t> index;
  for (const auto& [name, value] : response.headers) {
    std::string key = Capitalize(name);
    auto [it, inserted] = index.emplace(key, headers.size());
    if (inserted) headers.emplace_back(key, std::vector<std::string>{});
    headers[it->second].second.push_back(value);
  }

  json::object out;
  out["isBase64Encoded"] = binary_responses;
  out["statusCode"] = response.status;
  if (v2) {
    json::array cookies;
    json::object h;
    for (const auto& [name, values] : headers) {
      if (name == "Set-Cookie") {
        for (const auto& v : values) cookies.emplace_back(v);
        continue;
      }
      std::string joined;
      for (const auto& v : values) {
        if (!joined.empty()) joined += ", ";
        joined += v;
      }
      h[name] = joined;
    }
    out["cookies"] = std::move(cookies);
    out["headers"] = std::move(h);
  } else if (multi_value_headers) {
    json::object h;
    for (const auto& [name, values] : headers) {
      json::array a;
      for (const auto& v : values) a.emplace_back(v);
      h[name] = std::move(a);
    }
    out["multiValueHeaders"] = std::move(h);
  } else {
    json::object h;
    for (const auto& [name, values] : headers) h[name] = values.back();
    out["headers"] = std::move(h);
  }
  out["body"] = binary_responses ? Base64Encode(response.body) : response.body;
  return json::serialize(out);
}

}  // namespace cutover::runtime
