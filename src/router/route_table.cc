#include "router/route_table.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

// How matching works. Build() compiles each template once into segments (literal, {param},
// {greedy+}) and sorts the routes into priority order, so Match() returns the first route that
// matches:
//
//   1. routes without a greedy segment, then greedy routes, then "$default";
//   2. position by position, literal beats {param} beats {greedy+} (so among greedy routes the
//      longest literal prefix wins, and "/pets/dog" beats "/pets/{id}");
//   3. on the same path shape, a method-specific route beats ANY.
//
// Two matching routes can only tie on (1) and (2) if they have the same shape, because a literal
// position has to equal the request's segment; on the same shape only the method differs, which (3)
// decides. The same sort puts identical (method, shape) pairs next to each other, which is how
// Build() finds collisions.
//
// Canonical forms (stored back into routes(), since RouteMatch::route points at them): the method
// is upper-cased and "*" becomes "ANY"; a path gets a leading '/', loses trailing '/', and "*"
// becomes "$default". The "$default" route matches any method and any path, "/" included.

namespace cutover::router {
namespace {

constexpr std::string_view kDefaultPath = "$default";

enum class SegmentKind : uint8_t { kLiteral = 0, kParam = 1, kGreedy = 2 };

struct Segment {
  SegmentKind kind;
  std::string text;  // the literal, or the parameter name without braces and '+'
};

enum class RouteClass : uint8_t { kExact = 0, kGreedy = 1, kDefault = 2 };

struct CompiledRoute {
  size_t index = 0;  // into RouteTable::routes_
  RouteClass route_class = RouteClass::kExact;
  bool any_method = false;
  std::string method;
  std::vector<Segment> segments;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Compares a raw request segment, percent-decoded on the fly, with a template literal. No
// allocation.
bool DecodedEquals(std::string_view raw, std::string_view literal) {
  if (raw.find('%') == std::string_view::npos) return raw == literal;
  size_t j = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%' && i + 2 < raw.size()) {
      const int hi = HexValue(raw[i + 1]);
      const int lo = HexValue(raw[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = static_cast<char>(hi * 16 + lo);
        i += 2;
      }
    }
    if (j >= literal.size() || literal[j] != c) return false;
    ++j;
  }
  return j == literal.size();
}

bool IsParamNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

std::string CanonicalMethod(std::string_view method) {
  if (method == "*") return "ANY";
  std::string out(method);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string CanonicalPath(std::string_view path) {
  if (path == "*" || path == kDefaultPath) return std::string(kDefaultPath);
  std::string out;
  out.reserve(path.size() + 1);
  if (path.empty() || path.front() != '/') out.push_back('/');
  out.append(path);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// Strips the leading '/' and any trailing '/': "/a/b/" -> "a/b", "/" -> "".
std::string_view RequestPathBody(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path;
}

std::string Describe(const RouteSpec& spec) {
  const std::string where = spec.path == kDefaultPath ? spec.path : spec.method + " " + spec.path;
  return fmt::format("route '{}' (service '{}', function '{}' deployed as {})", where,
                     spec.target->service, spec.target->function_key, spec.target->function_name);
}

Result<CompiledRoute> Compile(const RouteSpec& spec, size_t index) {
  CompiledRoute route;
  route.index = index;
  route.method = spec.method;
  route.any_method = spec.method == "ANY";
  if (spec.path == kDefaultPath) {
    route.route_class = RouteClass::kDefault;
    route.any_method = true;
    return route;
  }
  if (spec.method.empty()) {
    return InvalidArgument(fmt::format("route '{}' has no method", spec.path));
  }
  for (const char c : spec.method) {
    if (c < 'A' || c > 'Z') {
      return InvalidArgument(fmt::format("route '{} {}': bad method", spec.method, spec.path));
    }
  }
  // spec.path is canonical: "/" or "/seg/seg".
  std::string_view rest = std::string_view(spec.path).substr(1);
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    const auto bad = [&](std::string_view why) {
      return InvalidArgument(fmt::format("route '{} {}': {}", spec.method, spec.path, why));
    };
    if (seg.empty()) return bad("empty path segment");
    if (!route.segments.empty() && route.segments.back().kind == SegmentKind::kGreedy) {
      return bad("a greedy {name+} segment must be the last one");
    }
    if (seg.front() == '{') {
      if (seg.size() < 3 || seg.back() != '}') return bad("unbalanced braces");
      std::string_view name = seg.substr(1, seg.size() - 2);
      SegmentKind kind = SegmentKind::kParam;
      if (name.back() == '+') {
        kind = SegmentKind::kGreedy;
        name.remove_suffix(1);
      }
      if (name.empty()) return bad("empty parameter name");
      for (const char c : name) {
        if (!IsParamNameChar(c)) return bad("bad parameter name");
      }
      for (const Segment& earlier : route.segments) {
        if (earlier.kind != SegmentKind::kLiteral && earlier.text == name) {
          return bad("duplicate parameter name");
        }
      }
      route.segments.push_back(Segment{kind, std::string(name)});
      if (kind == SegmentKind::kGreedy) route.route_class = RouteClass::kGreedy;
      continue;
    }
    if (seg.find_first_of("{}") != std::string_view::npos) {
      return bad("a parameter must be a whole segment (unbalanced or embedded braces)");
    }
    route.segments.push_back(Segment{SegmentKind::kLiteral, std::string(seg)});
  }
  return route;
}

// Priority order (see the top of the file). Literal texts and method names only break ties so that
// identical (method, shape) pairs end up adjacent.
bool Before(const CompiledRoute& a, const CompiledRoute& b) {
  if (a.route_class != b.route_class) return a.route_class < b.route_class;
  const size_t n = std::min(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.segments[i].kind != b.segments[i].kind) return a.segments[i].kind < b.segments[i].kind;
  }
  if (a.segments.size() != b.segments.size()) return a.segments.size() < b.segments.size();
  for (size_t i = 0; i < n; ++i) {
    if (a.segments[i].kind != SegmentKind::kLiteral) continue;
    if (a.segments[i].text != b.segments[i].text) return a.segments[i].text < b.segments[i].text;
  }
  if (a.any_method != b.any_method) return !a.any_method;
  return a.method < b.method;
}

bool SameMethodAndShape(const CompiledRoute& a, const CompiledRoute& b) {
  if (a.route_class != b.route_class) return false;
  if (a.route_class == RouteClass::kDefault) return true;
  if (a.method != b.method || a.segments.size() != b.segments.size()) return false;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    if (a.segments[i].kind != b.segments[i].kind) return false;
    if (a.segments[i].kind == SegmentKind::kLiteral && a.segments[i].text != b.segments[i].text) {
      return false;
    }
  }
  return true;
}

// Walks `body` (the request path without leading/trailing '/') against the route's segments. When
// `params` is set, appends the captured raw text of each parameter.
bool MatchSegments(const CompiledRoute& route, std::string_view body,
                   std::vector<std::pair<std::string, std::string>>* params) {
  size_t pos = 0;
  bool at_end = body.empty();
  for (const Segment& seg : route.segments) {
    if (at_end) return false;
    if (seg.kind == SegmentKind::kGreedy) {
      // One or more segments: whatever remains (never empty here, trailing '/' were stripped).
      if (params != nullptr) params->emplace_back(seg.text, std::string(body.substr(pos)));
      return true;
    }
    const size_t slash = body.find('/', pos);
    const size_t end = slash == std::string_view::npos ? body.size() : slash;
    const std::string_view text = body.substr(pos, end - pos);
    if (seg.kind == SegmentKind::kLiteral) {
      if (!DecodedEquals(text, seg.text)) return false;
    } else {
      if (text.empty()) return false;
      if (params != nullptr) params->emplace_back(seg.text, std::string(text));
    }
    if (slash == std::string_view::npos) {
      at_end = true;
    } else {
      pos = slash + 1;
    }
  }
  return at_end;
}

}  // namespace

struct RouteTable::Compiled {
  std::vector<CompiledRoute> ordered;  // priority order; the first match wins
};

Result<std::shared_ptr<const RouteTable>> RouteTable::Build(std::vector<RouteSpec> routes) {
  auto compiled = std::make_shared<Compiled>();
  compiled->ordered.reserve(routes.size());
  bool has_rest = false;
  for (size_t i = 0; i < routes.size(); ++i) {
    RouteSpec& spec = routes[i];
    spec.method = CanonicalMethod(spec.method);
    spec.path = CanonicalPath(spec.path);
    if (spec.target == nullptr) {
      return InvalidArgument(fmt::format("route '{} {}' has no target", spec.method, spec.path));
    }
    CUTOVER_ASSIGN_OR_RETURN(CompiledRoute route, Compile(spec, i));
    compiled->ordered.push_back(std::move(route));
    has_rest = has_rest || spec.kind == ApiKind::kRest;
  }
  std::stable_sort(compiled->ordered.begin(), compiled->ordered.end(), Before);
  for (size_t i = 1; i < compiled->ordered.size(); ++i) {
    const CompiledRoute& a = compiled->ordered[i - 1];
    const CompiledRoute& b = compiled->ordered[i];
    if (SameMethodAndShape(a, b)) {
      const size_t first = std::min(a.index, b.index);
      const size_t second = std::max(a.index, b.index);
      return AlreadyExists(
          fmt::format("{} collides with {}", Describe(routes[second]), Describe(routes[first])));
    }
  }
  std::shared_ptr<RouteTable> table(new RouteTable());
  table->routes_ = std::move(routes);
  table->compiled_ = std::move(compiled);
  table->has_rest_ = has_rest;
  return std::shared_ptr<const RouteTable>(std::move(table));
}

std::shared_ptr<const RouteTable> RouteTable::Empty() {
  std::shared_ptr<RouteTable> table(new RouteTable());
  table->compiled_ = std::make_shared<Compiled>();
  return table;
}

std::optional<RouteMatch> RouteTable::Match(std::string_view method, std::string_view path) const {
  if (compiled_ == nullptr) return std::nullopt;
  const std::string_view body = RequestPathBody(path);
  for (const CompiledRoute& route : compiled_->ordered) {
    if (!route.any_method && route.method != method) continue;
    if (route.route_class == RouteClass::kDefault) {
      RouteMatch match;
      match.route = &routes_[route.index];
      return match;
    }
    if (!MatchSegments(route, body, nullptr)) continue;
    RouteMatch match;
    match.route = &routes_[route.index];
    match.path_params.reserve(route.segments.size());
    MatchSegments(route, body, &match.path_params);
    return match;
  }
  return std::nullopt;
}

uint32_t PickVersion(const FunctionTarget& target, uint64_t random) {
  if (target.additional_version == 0) return target.primary_version;
  const double w = target.additional_weight;
  // `!(w > 0)` also sends NaN to the primary.
  if (!(w > 0.0)) return target.primary_version;
  if (w >= 1.0) return target.additional_version;
  // Exact test of random / 2^64 < w: t = w * 2^64 is exact (a power-of-two scale), and for an
  // integer r, r < t <=> r < ceil(t). Since w < 1, ceil(t) <= 2^64 - 2^11 fits in uint64_t exactly.
  const double threshold = std::ceil(std::ldexp(w, 64));
  return random < static_cast<uint64_t>(threshold) ? target.additional_version
                                                   : target.primary_version;
}

}  // namespace cutover::router
