// RouteTable: the immutable map from (method, path) to the function that serves it, with the alias weights
// in force. Built by the control loop (deploy/publisher), published through RouteTableSnapshot, read by
// gateway workers without locks. A RouteTable never changes after Build(); a weight change is a new table.
//
// Matching follows API Gateway: `{param}` matches one segment, a trailing greedy `{name+}` matches one or
// more segments (so `/{proxy+}` does not match `/`), a method-specific route beats `ANY` on the same path,
// and a route without a greedy segment beats a greedy one. Among greedy routes the longest literal prefix
// wins. Trailing slashes are not significant ("/a/" matches "/a").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cutover::router {

enum class ApiKind { kRest, kHttpApi };

// Which versions serve a function's traffic, and with what weight. An alias is a primary version plus at
// most one additional version with weight in [0, 1]; the primary gets the rest. A function without an
// alias is served from one version (additional_version == 0).
struct FunctionTarget {
  std::string service;         // "bref-canary-demo"
  std::string stage;           // "dev"
  std::string api_name;        // REST ApiName: provider.apiName or "${stage}-${service}"
  std::string function_key;    // "website"
  std::string function_name;   // deployed name, "bref-canary-demo-dev-website"
  std::string qualifier;       // alias name ("Live") or the version number as text
  bool is_alias = false;
  uint32_t primary_version = 0;
  uint32_t additional_version = 0;  // 0 = none
  double additional_weight = 0.0;
  int timeout_ms = 6000;            // the function's timeout
};

struct RouteSpec {
  ApiKind kind = ApiKind::kRest;
  std::string method;  // upper-case or "ANY"
  std::string path;    // template, "/users/{id}"
  std::shared_ptr<const FunctionTarget> target;
};

struct RouteMatch {
  const RouteSpec* route = nullptr;
  // Parameter name (without braces or '+') -> the matched text, in path order.
  std::vector<std::pair<std::string, std::string>> path_params;
};

class RouteTable final {
 public:
  // Fails with InvalidArgument when a path template is malformed (greedy segment not last, unbalanced
  // braces) and AlreadyExists when two routes have the same method and the same path shape
  // ("/a/{x}" and "/a/{y}" collide); the message names both targets' services and functions.
  static Result<std::shared_ptr<const RouteTable>> Build(std::vector<RouteSpec> routes);
  static std::shared_ptr<const RouteTable> Empty();

  // `path` is the raw path without the query string. Thread-safe (const).
  std::optional<RouteMatch> Match(std::string_view method, std::string_view path) const;

  const std::vector<RouteSpec>& routes() const { return routes_; }
  // True when any REST (`http`) route exists: an unmatched request then gets REST's 403, else HTTP
  // API's 404.
  bool has_rest_routes() const { return has_rest_; }

 private:
  struct Compiled;
  RouteTable() = default;

  std::vector<RouteSpec> routes_;
  std::shared_ptr<const Compiled> compiled_;
  bool has_rest_ = false;
};

// Picks the version that serves one invocation. `random` is uniform over uint64_t; passing it in makes the
// split exact in tests. Returns additional_version with probability additional_weight.
uint32_t PickVersion(const FunctionTarget& target, uint64_t random);

}  // namespace cutover::router
