// The route matcher: RouteTable::Build over route templates and RouteTable::Match over request
// paths, plus the weighted version pick.
//
// Input, one item per line:
//   R METHOD PATH    a REST (`http`) route        H METHOD PATH   an HTTP API (`httpApi`) route
//   M METHOD PATH    a request to match           W WEIGHT        the alias weight for PickVersion
// Invariants: Build and Match are deterministic and do not depend on the order the routes are
// given in; a match names the route's method (or ANY/$default) and one path parameter per
// `{param}` of its template, in order.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "router/route_table.h"

namespace cutover::fuzz {
namespace {

struct Input {
  std::vector<router::RouteSpec> routes;
  std::vector<std::pair<std::string, std::string>> requests;
  std::vector<double> weights;
};

Input Decode(std::string_view text) {
  Input in;
  auto target = std::make_shared<router::FunctionTarget>();
  target->service = "svc";
  target->function_name = "svc-dev-fn";
  target->primary_version = 1;
  target->additional_version = 2;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.size() < 2 || line[1] != ' ') continue;
    const char kind = line[0];
    std::string_view rest = line.substr(2);
    size_t space = rest.find(' ');
    std::string first(rest.substr(0, space));
    std::string second(space == std::string_view::npos ? std::string_view() : rest.substr(space + 1));
    if (kind == 'R' || kind == 'H') {
      router::RouteSpec spec;
      spec.kind = kind == 'R' ? router::ApiKind::kRest : router::ApiKind::kHttpApi;
      spec.method = first;
      spec.path = second;
      spec.target = target;
      in.routes.push_back(std::move(spec));
    } else if (kind == 'M') {
      in.requests.emplace_back(first, second);
    } else if (kind == 'W') {
      in.weights.push_back(std::strtod(first.c_str(), nullptr));
    }
  }
  return in;
}

size_t ParamCount(std::string_view path) {
  size_t n = 0;
  for (char c : path) n += c == '{';
  return n;
}

}  // namespace
}  // namespace cutover::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cutover;
  if (size > 4096) return 0;  // hundreds of routes say nothing more than tens
  fuzz::Input in = fuzz::Decode(fuzz::AsView(data, size));

  for (double weight : in.weights) {
    router::FunctionTarget t;
    t.primary_version = 7;
    t.additional_version = 8;
    t.additional_weight = weight;
    for (uint64_t r : {uint64_t{0}, uint64_t{1} << 63, ~uint64_t{0}, uint64_t{12345}}) {
      uint32_t v = router::PickVersion(t, r);
      CUTOVER_FUZZ_CHECK(v == 7 || v == 8, std::to_string(weight));
    }
  }

  std::vector<router::RouteSpec> reversed(in.routes.rbegin(), in.routes.rend());
  auto table = router::RouteTable::Build(std::move(in.routes));
  auto table_reversed = router::RouteTable::Build(std::move(reversed));
  CUTOVER_FUZZ_CHECK(table.ok() == table_reversed.ok(), table.status().ToString());
  if (!table.ok()) return 0;

  for (const auto& [method, path] : in.requests) {
    auto match = (*table)->Match(method, path);
    auto again = (*table)->Match(method, path);
    auto other = (*table_reversed)->Match(method, path);
    CUTOVER_FUZZ_CHECK(match.has_value() == again.has_value(), path);
    CUTOVER_FUZZ_CHECK(match.has_value() == other.has_value(), path);
    if (!match) continue;
    const router::RouteSpec& route = *match->route;
    CUTOVER_FUZZ_CHECK(route.method == other->route->method && route.path == other->route->path,
                       route.path + " vs " + other->route->path);
    CUTOVER_FUZZ_CHECK(match->path_params == other->path_params, path);
    CUTOVER_FUZZ_CHECK(match->path_params == again->path_params, path);
    CUTOVER_FUZZ_CHECK(route.method == "ANY" || route.path == "$default" || route.method == method,
                       route.method + " " + route.path + " for " + method);
    CUTOVER_FUZZ_CHECK(match->path_params.size() == fuzz::ParamCount(route.path),
                       route.path + " for " + path);
  }
  return 0;
}
