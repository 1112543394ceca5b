// docs/API.md and the admin router agree: every endpoint the doc lists is routed, and every routed
// endpoint is documented.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "api/admin_server.h"
#include "api/errors.h"

namespace cutover::api {
namespace {

std::set<std::string> DocumentedEndpoints() {
  std::ifstream in(std::string(CUTOVER_SOURCE_DIR) + "/docs/API.md");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::set<std::string> out;
  std::regex line(R"(^- `(GET|HEAD|PUT|POST|DELETE|PATCH) ([^`?]+)`)", std::regex::multiline);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator();
       ++it) {
    out.insert((*it)[1].str() + " " + (*it)[2].str());
  }
  return out;
}

TEST(ApiDocTest, EveryDocumentedEndpointIsRoutedAndViceVersa) {
  std::set<std::string> documented = DocumentedEndpoints();
  ASSERT_FALSE(documented.empty()) << "docs/API.md lists no endpoints";
  std::set<std::string> routed;
  for (const auto& [method, path] : AdminRoutes()) routed.insert(method + " " + path);
  for (const auto& e : documented) EXPECT_TRUE(routed.count(e)) << "documented, not routed: " << e;
  for (const auto& e : routed) EXPECT_TRUE(documented.count(e)) << "routed, not documented: " << e;
}

TEST(ErrorsTest, OneMappingFromStatusToHttp) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), 409u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 429u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kTooLarge), 413u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503u);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500u);
  EXPECT_EQ(ErrorBody(NotFound("no such function")),
            R"({"code":"NotFound","message":"no such function"})");
}

}  // namespace
}  // namespace cutover::api
