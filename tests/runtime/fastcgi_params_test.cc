// Bref's FastCGI parameters for an HTTP request (src/runtime/fastcgi_params.h, table in
// aws-semantics.md section 6.2).
#include "runtime/fastcgi_params.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace cutover::runtime::fastcgi {
namespace {

std::map<std::string, std::string> AsMap(const Params& params) {
  std::map<std::string, std::string> out;
  for (const auto& [n, v] : params) out[n] = v;
  return out;
}

FastCgiHttpRequest Get() {
  FastCgiHttpRequest r;
  r.method = "get";
  r.path = "/users/42";
  r.raw_query = "a=1&b=x%20y";
  r.headers = {{"Host", "api.example.com"},
               {"Accept", "application/json"},
               {"X-Forwarded-Port", "8443"},
               {"Cookie", "s=1"}};
  r.task_root = "/data/code/abc";
  r.handler = "public/index.php";
  r.request_context_json = R"({"stage":"dev"})";
  r.invocation_context_json = R"({"awsRequestId":"r-1"})";
  return r;
}

TEST(FastCgiParamsTest, MapsARequestTheWayBrefDoes) {
  Params params = BuildBrefParams(Get());
  auto p = AsMap(params);
  EXPECT_EQ(p.size(), params.size()) << "a name is sent twice";
  std::map<std::string, std::string> expected = {
      {"GATEWAY_INTERFACE", "FastCGI/1.0"},
      {"REQUEST_METHOD", "GET"},
      {"REQUEST_URI", "/users/42?a=1&b=x%20y"},
      {"SCRIPT_FILENAME", "/data/code/abc/public/index.php"},
      {"SCRIPT_NAME", "/index.php"},
      {"DOCUMENT_ROOT", "/data/code/abc/public"},
      {"SERVER_SOFTWARE", "bref"},
      {"REMOTE_ADDR", "127.0.0.1"},
      {"REMOTE_PORT", "8443"},
      {"SERVER_ADDR", "127.0.0.1"},
      {"SERVER_PORT", "8443"},
      {"SERVER_NAME", "api.example.com"},
      {"SERVER_PROTOCOL", "HTTP/1.1"},
      {"CONTENT_TYPE", ""},
      {"CONTENT_LENGTH", "0"},
      {"PATH_INFO", "/users/42"},
      {"QUERY_STRING", "a=1&b=x%20y"},
      {"LAMBDA_INVOCATION_CONTEXT", R"({"awsRequestId":"r-1"})"},
      {"LAMBDA_REQUEST_CONTEXT", R"({"stage":"dev"})"},
      {"HTTP_HOST", "api.example.com"},
      {"HTTP_ACCEPT", "application/json"},
      {"HTTP_X_FORWARDED_PORT", "8443"},
      {"HTTP_COOKIE", "s=1"},
  };
  EXPECT_EQ(p, expected);
}

TEST(FastCgiParamsTest, CustomVariablesComeBeforeTheStandardOnes) {
  Params params = BuildBrefParams(Get());
  std::vector<std::string> names;
  for (const auto& [n, v] : params) names.push_back(n);
  ASSERT_GE(names.size(), 5u);
  EXPECT_EQ(names[0], "PATH_INFO");
  EXPECT_EQ(names[1], "QUERY_STRING");
  EXPECT_EQ(names[2], "LAMBDA_INVOCATION_CONTEXT");
  EXPECT_EQ(names[3], "LAMBDA_REQUEST_CONTEXT");
  EXPECT_EQ(names[4], "HTTP_HOST");
  EXPECT_EQ(names.back(), "CONTENT_LENGTH");
}

TEST(FastCgiParamsTest, WithoutQueryOrHeadersTheDefaultsApply) {
  FastCgiHttpRequest r;
  r.method = "DELETE";
  r.path = "/";
  r.task_root = "/task/";
  r.handler = "index.php";
  r.protocol = "";
  auto p = AsMap(BuildBrefParams(r));
  EXPECT_EQ(p["REQUEST_URI"], "/");
  EXPECT_EQ(p["QUERY_STRING"], "");
  EXPECT_EQ(p["SERVER_NAME"], "localhost");
  EXPECT_EQ(p["SERVER_PORT"], "80");
  EXPECT_EQ(p["REMOTE_PORT"], "80");
  EXPECT_EQ(p["SERVER_PROTOCOL"], "HTTP/1.1");
  EXPECT_EQ(p["SCRIPT_FILENAME"], "/task/index.php");
  EXPECT_EQ(p["SCRIPT_NAME"], "/index.php");
  EXPECT_EQ(p["DOCUMENT_ROOT"], "/task");
  EXPECT_EQ(p["CONTENT_TYPE"], "");
  EXPECT_EQ(p["LAMBDA_REQUEST_CONTEXT"], "{}");
  r.default_server_port = 8080;
  EXPECT_EQ(AsMap(BuildBrefParams(r))["SERVER_PORT"], "8080");
}

TEST(FastCgiParamsTest, ContentTypeDefaultsToFormOnlyWhenABodyComesWithoutOne) {
  FastCgiHttpRequest r = Get();
  r.method = "POST";
  r.body_size = 7;
  auto p = AsMap(BuildBrefParams(r));
  EXPECT_EQ(p["CONTENT_TYPE"], "application/x-www-form-urlencoded");
  EXPECT_EQ(p["CONTENT_LENGTH"], "7");
  EXPECT_EQ(p.count("HTTP_CONTENT_TYPE"), 0u);

  r.headers.emplace_back("content-type", "application/json");
  r.headers.emplace_back("Content-Length", "7");
  p = AsMap(BuildBrefParams(r));
  EXPECT_EQ(p["CONTENT_TYPE"], "application/json");
  // As in Bref, the header loop passes them as HTTP_* too.
  EXPECT_EQ(p["HTTP_CONTENT_TYPE"], "application/json");
  EXPECT_EQ(p["HTTP_CONTENT_LENGTH"], "7");
}

TEST(FastCgiParamsTest, ARepeatedHeaderKeepsItsLastValueAtItsFirstPlace) {
  FastCgiHttpRequest r = Get();
  r.headers = {{"X-Multi", "one"},
               {"Host", "first.example"},
               {"x-multi", "two"},
               {"Host", "second.example"},
               {"X-MULTI", "three"}};
  Params params = BuildBrefParams(r);
  auto p = AsMap(params);
  EXPECT_EQ(p["HTTP_X_MULTI"], "three");
  EXPECT_EQ(p["HTTP_HOST"], "second.example");
  // SERVER_NAME reads the first Host value, as Bref's getServerName() does.
  EXPECT_EQ(p["SERVER_NAME"], "first.example");
  EXPECT_EQ(params[4].first, "HTTP_X_MULTI");
  EXPECT_EQ(params[5].first, "HTTP_HOST");
}

TEST(FastCgiParamsTest, HeaderNamesBecomeUpperCaseWithUnderscores) {
  EXPECT_EQ(HttpParamName("Content-Type"), "HTTP_CONTENT_TYPE");
  EXPECT_EQ(HttpParamName("x-amzn-trace-id"), "HTTP_X_AMZN_TRACE_ID");
  EXPECT_EQ(HttpParamName("A1"), "HTTP_A1");
}

TEST(FastCgiParamsTest, TheResultEncodesAsAFastCgiRequest) {
  FastCgiHttpRequest r = Get();
  r.body_size = 3;
  Params params = BuildBrefParams(r);
  Result<EncodedRequest> encoded = EncodeRequest(1, false, params, "abc");
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
}

}  // namespace
}  // namespace cutover::runtime::fastcgi
