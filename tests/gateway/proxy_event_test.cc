#include "gateway/proxy_event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "router/route_table.h"

namespace cutover::gateway {
namespace {

namespace json = boost::json;

constexpr int64_t kRequestTimeMs = 1583349317135;  // 04/Mar/2020:19:15:17.135 +0000

std::string ReadTestData(const std::string& name) {
  const std::string path = std::string(CUTOVER_SOURCE_DIR) + "/tests/gateway/testdata/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

json::value ParseOrFail(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << ec.message() << "\n" << text;
  return value;
}

// The text of a JSON string value, or a marker that makes the comparison fail.
std::string S(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "<not a string: " + json::serialize(v) + ">";
}

// Compares parsed JSON (key order does not matter) and prints both sides on a mismatch.
void ExpectJsonEq(std::string_view actual, const std::string& golden_file) {
  const json::value want = ParseOrFail(ReadTestData(golden_file));
  const json::value got = ParseOrFail(actual);
  EXPECT_EQ(got, want) << golden_file << "\n got: " << json::serialize(got)
                       << "\nwant: " << json::serialize(want);
}

// Builds a one-route table, matches the request against it and returns the RouteInfo the gateway
// would pass. The table is kept alive by `table`.
RouteInfo Routed(std::shared_ptr<const router::RouteTable>* table, router::ApiKind kind,
                 std::string method, std::string path_template, const ProxyRequest& request) {
  auto target = std::make_shared<router::FunctionTarget>();
  target->service = "bref-canary-demo";
  target->function_key = "website";
  auto built = router::RouteTable::Build(
      {router::RouteSpec{kind, std::move(method), std::move(path_template), target}});
  EXPECT_TRUE(built.ok()) << built.status().ToString();
  *table = *built;
  auto match = (*table)->Match(request.method, request.path);
  EXPECT_TRUE(match.has_value()) << request.method << " " << request.path;
  RouteInfo info;
  if (match) {
    info.route = match->route;
    info.path_params = match->path_params;
  }
  info.stage = "dev";
  info.api_id = kind == router::ApiKind::kRest ? "abc123" : "h77x1";
  return info;
}

ProxyRequest Request(std::string method, std::string path, std::string query, HeaderList headers,
                     std::string body, std::string request_id) {
  ProxyRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.raw_query = std::move(query);
  request.headers = std::move(headers);
  request.body = std::move(body);
  request.source_ip = "127.0.0.1";
  request.request_id = std::move(request_id);
  request.request_time_ms = kRequestTimeMs;
  return request;
}

TEST(ProxyEventV1Test, GetWithParamsMultiValueHeadersAndQuery) {
  ProxyRequest request = Request("GET", "/users/a%20b", "name=x+y&tag=1&tag=2&flag&e%3Dq=a%26b",
                                 {{"Host", "api.example.com"},
                                  {"User-Agent", "curl/8.0"},
                                  {"Accept", "text/html"},
                                  {"X-Multi", "one"},
                                  {"x-multi", "two"}},
                                 "", "req-1");
  request.source_ip = "203.0.113.7";
  std::shared_ptr<const router::RouteTable> table;
  RouteInfo route = Routed(&table, router::ApiKind::kRest, "GET", "/users/{id}", request);
  route.domain_name = "api.example.com";
  ExpectJsonEq(BuildEventV1(request, route), "event_v1_get_params.json");
}

TEST(ProxyEventV1Test, RootWithoutHeadersOrQueryHasNullMaps) {
  const ProxyRequest request =
      Request("POST", "/", "", {}, "{\"greeting\": \"h\xC3\xA9llo\"}\n\ttab", "req-root");
  std::shared_ptr<const router::RouteTable> table;
  const RouteInfo route = Routed(&table, router::ApiKind::kRest, "ANY", "/", request);
  ExpectJsonEq(BuildEventV1(request, route), "event_v1_root_no_maps.json");
}

TEST(ProxyEventV1Test, BinaryBodyIsBase64Encoded) {
  const ProxyRequest request =
      Request("PUT", "/a/b/c", "", {{"Content-Type", "application/octet-stream"}},
              std::string("\xff\x00\x01hello", 8), "req-bin");
  std::shared_ptr<const router::RouteTable> table;
  const RouteInfo route = Routed(&table, router::ApiKind::kRest, "ANY", "/{proxy+}", request);
  ExpectJsonEq(BuildEventV1(request, route), "event_v1_proxy_binary.json");
}

TEST(ProxyEventV2Test, GetWithCookiesJoinedHeadersAndQuery) {
  ProxyRequest request = Request("GET", "/items/42", "a=1&a=2&b=x%2By&c=d+e",
                                 {{"Host", "api.example.com"},
                                  {"User-Agent", "Mozilla/5.0"},
                                  {"Cookie", "s=1; theme=dark"},
                                  {"Accept", "a"},
                                  {"cookie", "x=y"},
                                  {"ACCEPT", "b"},
                                  {"X-Trace", "t"}},
                                 "", "req-2");
  request.source_ip = "198.51.100.9";
  std::shared_ptr<const router::RouteTable> table;
  RouteInfo route = Routed(&table, router::ApiKind::kHttpApi, "GET", "/items/{id}", request);
  route.domain_name = "api.example.com";
  ExpectJsonEq(BuildEventV2(request, route), "event_v2_get_cookies.json");
}

TEST(ProxyEventV2Test, DefaultRouteOmitsAbsentMaps) {
  const ProxyRequest request =
      Request("POST", "/anything/deep", "",
              {{"Host", "localhost:3000"}, {"Content-Type", "application/json"}},
              "{\"hello\":\"world\"}", "req-3");
  std::shared_ptr<const router::RouteTable> table;
  RouteInfo route = Routed(&table, router::ApiKind::kHttpApi, "ANY", "$default", request);
  route.domain_name = "localhost:3000";
  ExpectJsonEq(BuildEventV2(request, route), "event_v2_default_post.json");
}

TEST(ProxyEventV2Test, BinaryBodyIsBase64Encoded) {
  const ProxyRequest request =
      Request("PUT", "/upload/img.png", "", {{"Content-Type", "image/png"}},
              std::string("\x89PNG\r\n\x1a\n", 8), "req-4");
  std::shared_ptr<const router::RouteTable> table;
  const RouteInfo route = Routed(&table, router::ApiKind::kHttpApi, "ANY", "/{proxy+}", request);
  ExpectJsonEq(BuildEventV2(request, route), "event_v2_proxy_binary.json");
}

TEST(ProxyEventTest, PathParametersArePercentDecodedButPlusIsKept) {
  const ProxyRequest request = Request("GET", "/f/a%2Fb+c%40d", "", {}, "", "r");
  std::shared_ptr<const router::RouteTable> table;
  const RouteInfo route = Routed(&table, router::ApiKind::kRest, "GET", "/f/{name}", request);
  for (const std::string& event : {BuildEventV1(request, route), BuildEventV2(request, route)}) {
    const json::value parsed = ParseOrFail(event);
    EXPECT_EQ(S(parsed.at("pathParameters").at("name")), "a/b+c@d");
  }
  EXPECT_EQ(S(ParseOrFail(BuildEventV1(request, route)).at("path")), "/f/a%2Fb+c%40d");
  EXPECT_EQ(S(ParseOrFail(BuildEventV2(request, route)).at("rawPath")), "/f/a%2Fb+c%40d");
}

TEST(ProxyEventTest, HostileBytesStillProduceValidJson) {
  const ProxyRequest request =
      Request("GET", "/x", "q=%FF%00%22&%E2%82=1",
              {{"X-Bad", std::string("a\xff\"\\\x01z", 6)}, {"X-Quote", "say \"hi\"\n"}}, "", "r");
  std::shared_ptr<const router::RouteTable> table;
  const RouteInfo route = Routed(&table, router::ApiKind::kRest, "GET", "/x", request);
  const json::value v1 = ParseOrFail(BuildEventV1(request, route));
  EXPECT_EQ(S(v1.at("headers").at("X-Bad")), "a\xEF\xBF\xBD\"\\\x01z");
  EXPECT_EQ(S(v1.at("headers").at("X-Quote")), "say \"hi\"\n");
  EXPECT_EQ(S(v1.at("queryStringParameters").at("q")), std::string("\xEF\xBF\xBD\0\"", 5));
  const json::value v2 = ParseOrFail(BuildEventV2(request, route));
  EXPECT_EQ(S(v2.at("headers").at("x-quote")), "say \"hi\"\n");
}

TEST(ProxyEventTest, UserAgentIsTheLastValue) {
  const ProxyRequest request =
      Request("GET", "/x", "", {{"user-agent", "first"}, {"User-Agent", "second"}}, "", "r");
  std::shared_ptr<const router::RouteTable> table;
  const RouteInfo route = Routed(&table, router::ApiKind::kRest, "GET", "/x", request);
  const json::value v1 = ParseOrFail(BuildEventV1(request, route));
  EXPECT_EQ(S(v1.at("requestContext").at("identity").at("userAgent")), "second");
  EXPECT_EQ(S(v1.at("headers").at("user-agent")), "second");  // first spelling seen
  const json::value v2 = ParseOrFail(BuildEventV2(request, route));
  EXPECT_EQ(S(v2.at("requestContext").at("http").at("userAgent")), "second");
  EXPECT_EQ(S(v2.at("headers").at("user-agent")), "first,second");
}

// ---- responses ----

std::string HexToBytes(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

void RunResponseCases(const std::string& file, Result<ProxyResponse> (*map)(std::string_view)) {
  const json::value doc = ParseOrFail(ReadTestData(file));
  const json::array& cases = doc.at("cases").as_array();
  ASSERT_FALSE(cases.empty());
  for (const json::value& entry : cases) {
    const json::object& c = entry.as_object();
    const std::string name(c.at("name").as_string());
    const std::string payload =
        c.contains("raw") ? std::string(c.at("raw").as_string()) : json::serialize(c.at("payload"));
    const Result<ProxyResponse> result = map(payload);
    if (c.contains("error")) {
      ASSERT_FALSE(result.ok()) << file << ": " << name;
      EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << name;
      EXPECT_NE(result.status().message().find("Malformed Lambda proxy response"),
                std::string::npos)
          << name << ": " << result.status().message();
      continue;
    }
    ASSERT_TRUE(result.ok()) << file << ": " << name << ": " << result.status().ToString();
    const json::object& expect = c.at("expect").as_object();
    EXPECT_EQ(result->status, expect.at("status").as_int64()) << name;
    HeaderList want_headers;
    for (const json::value& h : expect.at("headers").as_array()) {
      want_headers.emplace_back(std::string(h.as_array().at(0).as_string()),
                                std::string(h.as_array().at(1).as_string()));
    }
    EXPECT_EQ(result->headers, want_headers) << name;
    const std::string want_body = expect.contains("body_hex")
                                      ? HexToBytes(expect.at("body_hex").as_string())
                                      : std::string(expect.at("body").as_string());
    EXPECT_EQ(result->body, want_body) << name;
  }
}

TEST(ProxyResponseV1Test, GoldenCases) { RunResponseCases("responses_v1.json", &MapResponseV1); }

TEST(ProxyResponseV2Test, GoldenCases) { RunResponseCases("responses_v2.json", &MapResponseV2); }

TEST(ProxyResponseV1Test, StatusCodeMissingIsRejected) {
  const auto result = MapResponseV1(R"({"body": "hello"})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST(ProxyResponseV2Test, PlainStringIsWrappedAs200Json) {
  const auto result = MapResponseV2(R"("Hello from Lambda!")");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "Hello from Lambda!");
  EXPECT_EQ(result->headers, (HeaderList{{"content-type", "application/json"}}));
}

TEST(ProxyResponseV2Test, ObjectWithoutStatusCodeIsWrappedAsItsJsonText) {
  const auto result = MapResponseV2(R"({"message":"hi"})");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, R"({"message":"hi"})");
}

TEST(ProxyResponseTest, DeeplyNestedPayloadIsRejectedNotThrown) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(MapResponseV1(deep).ok());
  EXPECT_FALSE(MapResponseV2(deep).ok());
  // Reasonable nesting is fine.
  const std::string nested = std::string(100, '[') + std::string(100, ']');
  const auto wrapped = MapResponseV2(nested);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->body, nested);
}

}  // namespace
}  // namespace cutover::gateway
