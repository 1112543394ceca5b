// HTTP message types and small helpers shared by the admin API's handlers.
#pragma once

#include <boost/beast/http.hpp>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cutover::api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
// Path parameters by name; query parameters as "?name".
using Params = std::map<std::string, std::string>;

// "%3A" -> ":"; '+' is kept (paths, not forms). Malformed escapes are kept as written.
std::string PercentDecode(std::string_view in);
// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}; '+' decodes to a space.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

// A path's non-empty segments: "/v1//functions/x/" -> {"v1", "functions", "x"}. The views point
// into `path`.
std::vector<std::string_view> PathSegments(std::string_view path);
// Whether a path's segments match a route pattern's ("/v1/functions/{name}" split the same way):
// literal segments equal, each "{name}" any one segment, whose percent-decoded value goes to
// (*params)[name]. *params is filled only on a match.
bool MatchPathPattern(const std::vector<std::string>& pattern,
                      const std::vector<std::string_view>& path, Params* params);

}  // namespace cutover::api
