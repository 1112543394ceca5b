// Bref's event <-> php-fpm mapping for the Invoke API (src/runtime/fpm_event.h) and the generated
// php-fpm configuration (src/runtime/fpm_pool.h).
#include "runtime/fpm_event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "runtime/fpm_pool.h"

namespace cutover::runtime {
namespace {

namespace json = boost::json;

std::string HeaderValue(const fastcgi::FastCgiHttpRequest& r, std::string_view name) {
  std::string last;
  for (const auto& [n, v] : r.headers) {
    if (n == name) last = v;
  }
  return last;
}

TEST(FpmEventTest, DecodesAFormat1EventWithMultiValueFields) {
  auto r = HttpRequestFromEvent(R"({
    "httpMethod": "POST", "path": "/users/1",
    "headers": {"Content-Type": "ignored-when-multi"},
    "multiValueHeaders": {"Content-Type": ["application/json"], "X-A": ["1", "2"]},
    "queryStringParameters": {"q": "last"},
    "multiValueQueryStringParameters": {"q": ["a b", "c&d"], "e": ["é"]},
    "requestContext": {"stage": "dev", "protocol": "HTTP/2.0"},
    "body": "{\"k\":1}", "isBase64Encoded": false})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->v2);
  EXPECT_TRUE(r->multi_value_headers);
  EXPECT_EQ(r->request.method, "POST");
  EXPECT_EQ(r->request.path, "/users/1");
  EXPECT_EQ(r->request.raw_query, "q=a%20b&q=c%26d&e=%C3%A9");
  EXPECT_EQ(HeaderValue(r->request, "content-type"), "application/json");
  EXPECT_EQ(HeaderValue(r->request, "x-a"), "2");
  EXPECT_EQ(r->request.protocol, "HTTP/2.0");
  EXPECT_EQ(json::parse(r->request.request_context_json).at("stage").as_string(), "dev");
  EXPECT_EQ(r->body, R"({"k":1})");
  EXPECT_EQ(r->request.body_size, r->body.size());
}

TEST(FpmEventTest, DecodesAFormat2EventWithCookiesAndBase64Body) {
  auto r = HttpRequestFromEvent(R"({
    "version": "2.0", "rawPath": "/v2/x", "rawQueryString": "a=1&a=2",
    "cookies": ["s=1", "t=2"], "headers": {"Host": "h"},
    "requestContext": {"http": {"method": "PUT"}},
    "body": "AAEC/w==", "isBase64Encoded": true})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->v2);
  EXPECT_EQ(r->request.method, "PUT");
  EXPECT_EQ(r->request.path, "/v2/x");
  EXPECT_EQ(r->request.raw_query, "a=1&a=2");
  EXPECT_EQ(HeaderValue(r->request, "cookie"), "s=1; t=2");
  EXPECT_EQ(HeaderValue(r->request, "host"), "h");
  EXPECT_EQ(r->body, std::string("\x00\x01\x02\xff", 4));
}

TEST(FpmEventTest, RejectsWhatIsNotAnHttpEvent) {
  for (const char* bad : {R"({"hello":"world"})", "[]", "not json", R"({"httpMethod":7})",
                          R"({"version":"2.0","rawPath":"/"})",
                          R"({"httpMethod":"GET","body":"@@","isBase64Encoded":true})"}) {
    EXPECT_FALSE(HttpRequestFromEvent(bad).ok()) << bad;
  }
  EXPECT_TRUE(IsWarmerEvent(R"({"warmer":true})"));
  EXPECT_FALSE(IsWarmerEvent(R"({"warmer":false})"));
  EXPECT_FALSE(IsWarmerEvent(R"({"httpMethod":"GET"})"));
}

fastcgi::CgiResponse Cgi() {
  fastcgi::CgiResponse c;
  c.status = 201;
  c.headers = {{"content-type", "text/plain"},
               {"Set-Cookie", "a=1"},
               {"set-cookie", "b=2"},
               {"X-Many", "1"},
               {"x-many", "2"}};
  c.body = "hi";
  return c;
}

TEST(FpmEventTest, ResponseFormat1SingleValueKeepsTheLast) {
  json::object o = json::parse(ProxyResponseFromCgi(Cgi(), false, false, false)).as_object();
  EXPECT_EQ(o["statusCode"].as_int64(), 201);
  EXPECT_EQ(o["isBase64Encoded"].as_bool(), false);
  EXPECT_EQ(o["body"].as_string(), "hi");
  json::object h = o["headers"].as_object();
  EXPECT_EQ(h["Content-Type"].as_string(), "text/plain");
  EXPECT_EQ(h["Set-Cookie"].as_string(), "b=2");
  EXPECT_EQ(h["X-Many"].as_string(), "2");
  EXPECT_FALSE(o.contains("multiValueHeaders"));
}

TEST(FpmEventTest, ResponseFormat1MultiValueKeepsEveryValue) {
  json::object o = json::parse(ProxyResponseFromCgi(Cgi(), false, true, false)).as_object();
  json::object h = o["multiValueHeaders"].as_object();
  EXPECT_EQ(h["Set-Cookie"].as_array().size(), 2u);
  EXPECT_EQ(h["X-Many"].as_array()[1].as_string(), "2");
}

TEST(FpmEventTest, ResponseFormat2SplitsCookiesAndJoinsTheRest) {
  json::object o = json::parse(ProxyResponseFromCgi(Cgi(), true, false, true)).as_object();
  EXPECT_EQ(o["cookies"].as_array().size(), 2u);
  EXPECT_EQ(o["headers"].as_object()["X-Many"].as_string(), "1, 2");
  EXPECT_FALSE(o["headers"].as_object().contains("Set-Cookie"));
  EXPECT_EQ(o["isBase64Encoded"].as_bool(), true);
  EXPECT_EQ(o["body"].as_string(), "aGk=");
}

TEST(FpmConfigTest, SizesThePoolFromConcurrency) {
  FpmConfigInputs in;
  in.pool_name = "fn";
  in.pid_file = "/d/fpm/x/php-fpm.pid";
  in.socket = "/d/fpm/x/php-fpm.sock";
  in.max_children = 4;
  in.timeout_seconds = 28;
  std::string text = FpmConfigText(in);
  EXPECT_NE(text.find("listen = /d/fpm/x/php-fpm.sock\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pm = static\npm.max_children = 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("clear_env = no\n"), std::string::npos);
  EXPECT_NE(text.find("catch_workers_output = yes\n"), std::string::npos);
  EXPECT_NE(text.find("request_terminate_timeout = 28s\n"), std::string::npos);
  in.max_children = 100;
  text = FpmConfigText(in);
  EXPECT_NE(text.find("pm = dynamic\npm.max_children = 100\n"), std::string::npos) << text;
  EXPECT_EQ(FpmChildrenFor(0), 1);
  EXPECT_EQ(FpmChildrenFor(10), 10);
  EXPECT_EQ(FpmChildrenFor(5000), 256);
}

}  // namespace
}  // namespace cutover::runtime
