// http / httpApi events: string and object forms, normalisation, duplicate routes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "test_util.h"

namespace cutover::config {
namespace {

using testing::ParseError;
using testing::ParseOk;
using ::testing::StartsWith;

// A service whose single function `api` has the given events block (starting at line 8).
std::string WithEvents(const std::string& events) {
  return "service: demo\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  api:\n"
         "    handler: handler.hello\n    events:\n" +
         events;
}

std::vector<std::pair<std::string, std::string>> Routes(const ServiceSpec& spec) {
  std::vector<std::pair<std::string, std::string>> routes;
  for (const FunctionSpec& function : spec.functions) {
    for (const HttpEvent& event : function.events) routes.emplace_back(event.method, event.path);
  }
  return routes;
}

using Route = std::pair<std::string, std::string>;

TEST(EventsTest, ReadsHttpStringForms) {
  ServiceSpec spec = ParseOk(WithEvents(R"(      - http: 'ANY /'
      - http: 'ANY /{proxy+}'
      - http: 'GET hello'
      - http: post /users/{id}/
)"));
  EXPECT_THAT(Routes(spec),
              ::testing::ElementsAre(Route{"ANY", "/"}, Route{"ANY", "/{proxy+}"},
                                     Route{"GET", "/hello"}, Route{"POST", "/users/{id}"}));
  for (const HttpEvent& event : spec.functions[0].events) EXPECT_EQ(event.kind, ApiKind::kRest);
  EXPECT_EQ(spec.functions[0].events[2].where.line, 11);
  EXPECT_EQ(spec.functions[0].events[2].where.column, 15);
}

TEST(EventsTest, ReadsHttpObjectForm) {
  ServiceSpec spec = ParseOk(WithEvents(R"(      - http:
          path: users/{id}
          method: delete
          cors: true
)"));
  EXPECT_THAT(Routes(spec), ::testing::ElementsAre(Route{"DELETE", "/users/{id}"}));
  EXPECT_THAT(spec.notices, ::testing::ElementsAre(
                                "serverless.yml:12:11: ignoring functions.api.events.http.cors "
                                "(cutover does not act on it)"));
}

TEST(EventsTest, ReadsHttpApiForms) {
  ServiceSpec spec = ParseOk(WithEvents(R"(      - httpApi: 'GET /x'
      - httpApi:
          method: put
          path: /items/{id}
      - httpApi:
          method: '*'
          path: /any
      - httpApi: '*'
)"));
  EXPECT_THAT(Routes(spec), ::testing::ElementsAre(Route{"GET", "/x"}, Route{"PUT", "/items/{id}"},
                                                   Route{"ANY", "/any"}, Route{"ANY", "$default"}));
  for (const HttpEvent& event : spec.functions[0].events) EXPECT_EQ(event.kind, ApiKind::kHttpApi);
}

TEST(EventsTest, RejectsMalformedHttpEvents) {
  EXPECT_EQ(ParseError(WithEvents("      - http: /only-a-path\n")),
            "serverless.yml:9:15: http event must look like 'METHOD /path', got '/only-a-path'");
  EXPECT_EQ(ParseError(WithEvents("      - httpApi: GET /a extra\n")),
            "serverless.yml:9:18: httpApi event must look like 'METHOD /path' or '*', got 'GET /a "
            "extra'");
  EXPECT_EQ(ParseError(WithEvents("      - http: FETCH /\n")),
            "serverless.yml:9:15: unknown HTTP method 'FETCH' (use GET, POST, PUT, PATCH, DELETE, "
            "OPTIONS, HEAD or ANY)");
  EXPECT_EQ(
      ParseError(WithEvents("      - http: GET /a/{proxy+}/b\n")),
      "serverless.yml:9:15: path '/a/{proxy+}/b': the greedy parameter '{proxy+}' must be the "
      "last segment");
  EXPECT_EQ(ParseError(WithEvents("      - http: GET /a/{id\n")),
            "serverless.yml:9:15: path '/a/{id' has a malformed parameter '{id' (use {name} or a "
            "final {name+})");
  EXPECT_EQ(ParseError(WithEvents("      - http: GET /a//b\n")),
            "serverless.yml:9:15: path '/a//b' has an empty segment");
  EXPECT_EQ(ParseError(WithEvents("      - http:\n          path: /a\n")),
            "serverless.yml:10:11: http event of function 'api' needs both 'method' and 'path'");
  EXPECT_EQ(ParseError(WithEvents("      - http:\n          path: /a\n          methd: GET\n")),
            "serverless.yml:11:11: unknown key 'methd' in the http event of function 'api' (did "
            "you mean 'method'?)");
  EXPECT_EQ(ParseError(WithEvents("      - http: [GET, /]\n")),
            "serverless.yml:9:15: http event must be 'METHOD /path' or a mapping with method and "
            "path, got a list");
}

TEST(EventsTest, RejectsUnknownEventTypesAndShapes) {
  EXPECT_EQ(ParseError(WithEvents("      - htp: GET /\n")),
            "serverless.yml:9:9: unknown event type 'htp' in function 'api' (did you mean "
            "'http'?)");
  EXPECT_EQ(ParseError(WithEvents("      - GET /\n")),
            "serverless.yml:9:9: each event must be a mapping with one event type (e.g. '- http: "
            "GET /'), got 'GET /'");
  EXPECT_EQ(ParseError(WithEvents("      - http: GET /\n        sqs: arn\n")),
            "serverless.yml:9:9: each event must be a mapping with one event type (e.g. '- http: "
            "GET /'), got a mapping");
}

TEST(EventsTest, RejectsRouteDeclaredTwiceWithTheSameShape) {
  std::string message = ParseError(R"(service: demo
provider:
  name: aws
  runtime: nodejs20.x
functions:
  one:
    handler: handler.one
    events:
      - http: GET /a/{x}
  two:
    handler: handler.two
    events:
      - http: GET /a/{y}/
)");
  EXPECT_EQ(message,
            "serverless.yml:13:15: route 'GET /a/{y}' of function 'two' is already declared at "
            "line 9 (function 'one')");
}

TEST(EventsTest, RejectsAnyDeclaredTwiceAndHttpApiCatchAllTwice) {
  EXPECT_EQ(ParseError(WithEvents("      - http: ANY /{proxy+}\n      - http: ANY /{path+}\n")),
            "serverless.yml:10:15: route 'ANY /{path+}' of function 'api' is already declared at "
            "line 9 (function 'api')");
  EXPECT_EQ(ParseError(WithEvents("      - httpApi: '*'\n      - httpApi: '*'\n")),
            "serverless.yml:10:18: route 'ANY $default' of function 'api' is already declared at "
            "line 9 (function 'api')");
}

TEST(EventsTest, RejectsTheSameRouteAcrossHttpAndHttpApi) {
  // One gateway serves both kinds, so they share one route table.
  EXPECT_THAT(ParseError(WithEvents("      - http: GET /a\n      - httpApi: GET /a\n")),
              StartsWith("serverless.yml:10:18: route 'GET /a' of function 'api' is already "
                         "declared at line 9"));
}

TEST(EventsTest, AllowsDifferentMethodsOnOnePath) {
  ServiceSpec spec = ParseOk(WithEvents(R"(      - http: GET /a
      - http: ANY /a
      - http: POST /a/{id}
      - http: GET /a/{id}
      - http: GET /a/{id}/b
)"));
  EXPECT_EQ(spec.functions[0].events.size(), 5u);
}

TEST(EventsTest, AcceptsEmptyEvents) {
  ServiceSpec spec = ParseOk(WithEvents(""));
  EXPECT_TRUE(spec.functions[0].events.empty());
}

}  // namespace
}  // namespace cutover::config
