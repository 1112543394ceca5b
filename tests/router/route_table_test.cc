#include "router/route_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cutover::router {
namespace {

using ::testing::HasSubstr;
using Params = std::vector<std::pair<std::string, std::string>>;

std::shared_ptr<const FunctionTarget> Target(std::string service, std::string function_key) {
  auto target = std::make_shared<FunctionTarget>();
  target->service = std::move(service);
  target->stage = "dev";
  target->function_key = function_key;
  target->function_name = target->service + "-dev-" + function_key;
  target->qualifier = "Live";
  target->is_alias = true;
  target->primary_version = 1;
  return target;
}

RouteSpec Route(std::string method, std::string path, std::string function_key = "website",
                ApiKind kind = ApiKind::kRest, std::string service = "bref-canary-demo") {
  return RouteSpec{kind, std::move(method), std::move(path),
                   Target(std::move(service), std::move(function_key))};
}

std::shared_ptr<const RouteTable> MustBuild(std::vector<RouteSpec> routes) {
  auto table = RouteTable::Build(std::move(routes));
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return table.ok() ? *table : RouteTable::Empty();
}

// "GET /users/{id}" for the matched route, or "" for no match.
std::string MatchKey(const RouteTable& table, std::string_view method, std::string_view path,
                     Params* params = nullptr) {
  auto match = table.Match(method, path);
  if (!match) return "";
  if (params != nullptr) *params = match->path_params;
  if (match->route->path == "$default") return "$default";
  return match->route->method + " " + match->route->path;
}

struct MatchCase {
  std::string method;
  std::string path;
  std::string want;  // route key, "" for no match
  Params params;
};

TEST(RouteTableTest, MatchesLikeApiGateway) {
  auto table = MustBuild({
      Route("ANY", "/"),
      Route("ANY", "/{proxy+}"),
      Route("GET", "/users/{id}"),
      Route("POST", "/users/{id}"),
      Route("GET", "/users/me"),
      Route("ANY", "/users/{id}/files/{path+}"),
      Route("GET", "/static/{file+}"),
      Route("ANY", "/static/img/{file+}"),
      Route("GET", "/a/{x}/c"),
      Route("GET", "/a/b/{y}"),
  });
  const std::vector<MatchCase> cases = {
      {"GET", "/", "ANY /", {}},
      {"POST", "/", "ANY /", {}},
      {"GET", "/hello", "ANY /{proxy+}", {{"proxy", "hello"}}},
      {"DELETE", "/a/b/c/d", "ANY /{proxy+}", {{"proxy", "a/b/c/d"}}},
      {"GET", "/users/7", "GET /users/{id}", {{"id", "7"}}},
      {"POST", "/users/7", "POST /users/{id}", {{"id", "7"}}},
      // No PUT on /users/{id}: the greedy catch-all takes it.
      {"PUT", "/users/7", "ANY /{proxy+}", {{"proxy", "users/7"}}},
      // Literal beats {param} at the same position.
      {"GET", "/users/me", "GET /users/me", {}},
      {"POST", "/users/me", "POST /users/{id}", {{"id", "me"}}},
      // Trailing slash is not significant.
      {"GET", "/users/7/", "GET /users/{id}", {{"id", "7"}}},
      {"GET", "/users/7///", "GET /users/{id}", {{"id", "7"}}},
      {"GET",
       "/users/7/files/a/b.txt",
       "ANY /users/{id}/files/{path+}",
       {{"id", "7"}, {"path", "a/b.txt"}}},
      // Greedy needs at least one segment.
      {"GET", "/users/7/files", "ANY /{proxy+}", {{"proxy", "users/7/files"}}},
      {"GET", "/users/7/files/", "ANY /{proxy+}", {{"proxy", "users/7/files"}}},
      // Longest literal prefix wins among greedy routes.
      {"GET", "/static/css/site.css", "GET /static/{file+}", {{"file", "css/site.css"}}},
      {"GET", "/static/img/logo.png", "ANY /static/img/{file+}", {{"file", "logo.png"}}},
      {"POST", "/static/css/site.css", "ANY /{proxy+}", {{"proxy", "static/css/site.css"}}},
      // Leftmost literal decides between two {param} shapes.
      {"GET", "/a/b/c", "GET /a/b/{y}", {{"y", "c"}}},
      {"GET", "/a/z/c", "GET /a/{x}/c", {{"x", "z"}}},
      // Parameters are the raw text; literals compare percent-decoded.
      {"GET", "/users/a%20b", "GET /users/{id}", {{"id", "a%20b"}}},
      {"GET", "/users/m%65", "GET /users/me", {}},
      // An empty segment is not a parameter value.
      {"GET", "/users//x", "ANY /{proxy+}", {{"proxy", "users//x"}}},
  };
  for (const MatchCase& c : cases) {
    Params params;
    EXPECT_EQ(MatchKey(*table, c.method, c.path, &params), c.want) << c.method << " " << c.path;
    EXPECT_EQ(params, c.params) << c.method << " " << c.path;
  }
}

TEST(RouteTableTest, GreedyProxyDoesNotMatchRoot) {
  auto table = MustBuild({Route("ANY", "/{proxy+}")});
  EXPECT_EQ(MatchKey(*table, "GET", "/"), "");
  EXPECT_EQ(MatchKey(*table, "GET", ""), "");
  EXPECT_EQ(MatchKey(*table, "GET", "//"), "");
  EXPECT_EQ(MatchKey(*table, "GET", "/x"), "ANY /{proxy+}");
}

TEST(RouteTableTest, RootAndProxyLikeTheSeed) {
  // serverless.yml of the seed: `http: 'ANY /'` and `http: 'ANY /{proxy+}'`.
  auto table = MustBuild({Route("ANY", "/"), Route("ANY", "/{proxy+}")});
  Params params;
  EXPECT_EQ(MatchKey(*table, "GET", "/", &params), "ANY /");
  EXPECT_TRUE(params.empty());
  EXPECT_EQ(MatchKey(*table, "POST", "/lucky/number", &params), "ANY /{proxy+}");
  EXPECT_EQ(params, (Params{{"proxy", "lucky/number"}}));
}

TEST(RouteTableTest, MethodSpecificBeatsAny) {
  auto table =
      MustBuild({Route("ANY", "/items", "any"), Route("GET", "/items", "get"),
                 Route("ANY", "/{p+}", "any-greedy"), Route("GET", "/{p+}", "get-greedy")});
  EXPECT_EQ(MatchKey(*table, "GET", "/items"), "GET /items");
  EXPECT_EQ(MatchKey(*table, "POST", "/items"), "ANY /items");
  EXPECT_EQ(MatchKey(*table, "GET", "/other"), "GET /{p+}");
  EXPECT_EQ(MatchKey(*table, "PATCH", "/other"), "ANY /{p+}");
}

TEST(RouteTableTest, ExactBeatsGreedy) {
  // Even an ANY exact route beats a method-specific greedy one: the path shape decides first.
  auto table = MustBuild({Route("GET", "/{proxy+}"), Route("ANY", "/health")});
  EXPECT_EQ(MatchKey(*table, "GET", "/health"), "ANY /health");
  EXPECT_EQ(MatchKey(*table, "GET", "/healthz"), "GET /{proxy+}");
}

TEST(RouteTableTest, MethodWithoutRouteDoesNotMatch) {
  auto table = MustBuild({Route("GET", "/users/{id}")});
  EXPECT_EQ(MatchKey(*table, "POST", "/users/1"), "");
  EXPECT_EQ(MatchKey(*table, "GET", "/users"), "");
  EXPECT_EQ(MatchKey(*table, "GET", "/users/1/x"), "");
}

TEST(RouteTableTest, DefaultRouteMatchesEverythingAtLowestPriority) {
  auto table = MustBuild({
      Route("GET", "/pets/dog/1", "a", ApiKind::kHttpApi),
      Route("GET", "/pets/dog/{id}", "b", ApiKind::kHttpApi),
      Route("GET", "/pets/{proxy+}", "c", ApiKind::kHttpApi),
      Route("ANY", "/{proxy+}", "d", ApiKind::kHttpApi),
      Route("ANY", "$default", "e", ApiKind::kHttpApi),
  });
  // The example table of the HTTP API routing documentation.
  EXPECT_EQ(MatchKey(*table, "GET", "/pets/dog/1"), "GET /pets/dog/1");
  EXPECT_EQ(MatchKey(*table, "GET", "/pets/dog/2"), "GET /pets/dog/{id}");
  EXPECT_EQ(MatchKey(*table, "GET", "/pets/cat/1"), "GET /pets/{proxy+}");
  EXPECT_EQ(MatchKey(*table, "POST", "/test/5"), "ANY /{proxy+}");
  // Only $default covers the root.
  Params params{{"stale", "x"}};
  EXPECT_EQ(MatchKey(*table, "GET", "/", &params), "$default");
  EXPECT_TRUE(params.empty());
}

TEST(RouteTableTest, DefaultAloneMatchesAnyMethodAndPath) {
  // `httpApi: '*'` arrives as path "*" and becomes "$default".
  auto table = MustBuild({Route("*", "*", "app", ApiKind::kHttpApi)});
  EXPECT_EQ(table->routes()[0].path, "$default");
  for (const char* path : {"/", "", "/a", "/a/b/c/", "/%20"}) {
    for (const char* method : {"GET", "POST", "OPTIONS"}) {
      EXPECT_EQ(MatchKey(*table, method, path), "$default") << method << " " << path;
    }
  }
  EXPECT_FALSE(table->has_rest_routes());
}

TEST(RouteTableTest, CanonicalizesMethodAndPath) {
  auto table = MustBuild({Route("get", "users/{id}/"), Route("post", "/")});
  EXPECT_EQ(table->routes()[0].method, "GET");
  EXPECT_EQ(table->routes()[0].path, "/users/{id}");
  EXPECT_EQ(table->routes()[1].path, "/");
  EXPECT_EQ(MatchKey(*table, "GET", "/users/3"), "GET /users/{id}");
  EXPECT_EQ(MatchKey(*table, "POST", "/"), "POST /");
  EXPECT_TRUE(table->has_rest_routes());
}

TEST(RouteTableTest, MatchPointsIntoTheTable) {
  auto table = MustBuild({Route("GET", "/a", "first"), Route("GET", "/b", "second")});
  auto match = table->Match("GET", "/b");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->route, &table->routes()[1]);
  EXPECT_EQ(match->route->target->function_key, "second");
}

TEST(RouteTableTest, EmptyTableMatchesNothing) {
  auto table = RouteTable::Empty();
  EXPECT_FALSE(table->Match("GET", "/").has_value());
  EXPECT_TRUE(table->routes().empty());
  EXPECT_FALSE(table->has_rest_routes());
}

TEST(RouteTableTest, RejectsSameMethodAndShape) {
  auto result = RouteTable::Build({Route("GET", "/a/{x}", "alpha", ApiKind::kRest, "svc-one"),
                                   Route("GET", "/a/{y}", "beta", ApiKind::kRest, "svc-two")});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(result.status().message(), HasSubstr("svc-one"));
  EXPECT_THAT(result.status().message(), HasSubstr("alpha"));
  EXPECT_THAT(result.status().message(), HasSubstr("svc-two"));
  EXPECT_THAT(result.status().message(), HasSubstr("beta"));
}

TEST(RouteTableTest, CollisionCases) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> routes;  // (method, path)
    bool collides;
  };
  const std::vector<Case> cases = {
      {{{"ANY", "/{proxy+}"}, {"ANY", "/{path+}"}}, true},
      {{{"GET", "/a"}, {"get", "/a/"}}, true},
      {{{"ANY", "$default"}, {"GET", "*"}}, true},
      {{{"GET", "/a"}, {"ANY", "/a"}}, false},
      {{{"GET", "/a"}, {"POST", "/a"}}, false},
      {{{"GET", "/a/{x}"}, {"GET", "/a/b"}}, false},
      {{{"GET", "/a/{x}"}, {"GET", "/a/{x+}"}}, false},
      {{{"GET", "/a/{x}"}, {"GET", "/b/{x}"}}, false},
      {{{"ANY", "/"}, {"ANY", "/{proxy+}"}, {"ANY", "$default"}}, false},
  };
  for (const Case& c : cases) {
    std::vector<RouteSpec> specs;
    for (const auto& [method, path] : c.routes) specs.push_back(Route(method, path));
    auto result = RouteTable::Build(std::move(specs));
    EXPECT_EQ(!result.ok(), c.collides) << c.routes[0].second << " / " << c.routes[1].second;
    if (!result.ok()) {
      EXPECT_EQ(result.status().code(), StatusCode::kAlreadyExists);
    }
  }
}

TEST(RouteTableTest, RejectsMalformedTemplates) {
  for (const char* path : {"/a/{proxy+}/b", "/a/{x", "/a/x}", "/a/{}", "/a/{+}", "/a/b{c}",
                           "/a/{b}c", "/a//b", "/{x}/{x}", "/{x}/{x+}", "/{a b}"}) {
    auto result = RouteTable::Build({Route("GET", path)});
    ASSERT_FALSE(result.ok()) << path;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(result.status().message(), HasSubstr(path));
  }
}

TEST(RouteTableTest, RejectsRouteWithoutTarget) {
  auto result = RouteTable::Build({RouteSpec{ApiKind::kRest, "GET", "/", nullptr}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST(RouteTableTest, HasRestRoutesWhenAnyHttpEventExists) {
  auto mixed = MustBuild({Route("GET", "/a", "f", ApiKind::kHttpApi), Route("GET", "/b")});
  EXPECT_TRUE(mixed->has_rest_routes());
  auto http_only = MustBuild({Route("GET", "/a", "f", ApiKind::kHttpApi)});
  EXPECT_FALSE(http_only->has_rest_routes());
}

}  // namespace
}  // namespace cutover::router
