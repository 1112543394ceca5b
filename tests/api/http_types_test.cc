// The admin API's path routing helpers (api/http_types.h), which the fuzz target of the Invoke API
// shares with the server.
#include "api/http_types.h"

#include <gtest/gtest.h>

namespace cutover::api {
namespace {

std::vector<std::string> Pattern(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view s : PathSegments(text)) out.emplace_back(s);
  return out;
}

TEST(HttpTypesTest, PathSegmentsSkipEmptyOnes) {
  EXPECT_EQ(PathSegments("/v1//functions/x/"),
            (std::vector<std::string_view>{"v1", "functions", "x"}));
  EXPECT_TRUE(PathSegments("/").empty());
  EXPECT_TRUE(PathSegments("").empty());
}

TEST(HttpTypesTest, PatternParametersTakeOneDecodedSegment) {
  const auto pattern = Pattern("/v1/functions/{name}/aliases/{alias}");
  Params params;
  ASSERT_TRUE(MatchPathPattern(pattern, PathSegments("/v1/functions/a%3Ab/aliases/live"), &params));
  EXPECT_EQ(params.at("name"), "a:b");
  EXPECT_EQ(params.at("alias"), "live");
}

TEST(HttpTypesTest, AMismatchLeavesTheParametersAlone) {
  const auto pattern = Pattern("/v1/functions/{name}/aliases/{alias}");
  Params params;
  EXPECT_FALSE(MatchPathPattern(pattern, PathSegments("/v1/functions/a/versions/live"), &params));
  EXPECT_FALSE(MatchPathPattern(pattern, PathSegments("/v1/functions/a/aliases"), &params));
  EXPECT_FALSE(MatchPathPattern(pattern, PathSegments("/v1/functions/a/aliases/b/c"), &params));
  EXPECT_TRUE(params.empty());
  // "{}" is a literal segment, not a parameter.
  EXPECT_TRUE(MatchPathPattern(Pattern("/a/{}"), PathSegments("/a/{}"), &params));
  EXPECT_FALSE(MatchPathPattern(Pattern("/a/{}"), PathSegments("/a/b"), &params));
}

}  // namespace
}  // namespace cutover::api
