// The dashboard as embedded into the binary (scripts/embed-assets → dashboard_assets_data.cc):
// the page and its assets are found under the paths the admin server serves, with the content types
// a browser needs, and the page names no asset that is not there.
#include "api/dashboard_assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace cutover::api {
namespace {

TEST(DashboardAssetsTest, RootIsTheIndexPage) {
  const DashboardAsset* index = FindDashboardAsset("/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->path, "/");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<!doctype html>"), std::string_view::npos);
  EXPECT_NE(index->body.find("<main"), std::string_view::npos);
}

TEST(DashboardAssetsTest, ScriptsAndStylesHaveTheirContentTypes) {
  const DashboardAsset* app = FindDashboardAsset("/assets/app.js");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->content_type, "text/javascript; charset=utf-8");
  EXPECT_FALSE(app->body.empty());

  const DashboardAsset* css = FindDashboardAsset("/assets/app.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");

  const DashboardAsset* uplot = FindDashboardAsset("/assets/uPlot.iife.min.js");
  ASSERT_NE(uplot, nullptr);
  EXPECT_EQ(uplot->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(uplot->body.find("uPlot"), std::string_view::npos);

  const DashboardAsset* uplot_css = FindDashboardAsset("/assets/uPlot.min.css");
  ASSERT_NE(uplot_css, nullptr);
  EXPECT_EQ(uplot_css->content_type, "text/css; charset=utf-8");
}

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(CUTOVER_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(DashboardAssetsTest, BodiesAreTheFilesByteForByte) {
  const std::pair<const char*, const char*> files[] = {
      {"/", "web/index.html"},
      {"/assets/app.js", "web/app.js"},
      {"/assets/app.css", "web/app.css"},
      {"/assets/uPlot.iife.min.js", "web/node_modules/uplot/dist/uPlot.iife.min.js"},
  };
  for (const auto& [path, file] : files) {
    SCOPED_TRACE(path);
    const DashboardAsset* asset = FindDashboardAsset(path);
    ASSERT_NE(asset, nullptr);
    const std::string bytes = ReadSourceFile(file);
    ASSERT_FALSE(bytes.empty()) << file;
    EXPECT_TRUE(asset->body == bytes) << file << " changed since the build, or was embedded wrongly";
  }
}

TEST(DashboardAssetsTest, UnknownPathsAreNotFound) {
  EXPECT_EQ(FindDashboardAsset(""), nullptr);
  EXPECT_EQ(FindDashboardAsset("/assets/"), nullptr);
  EXPECT_EQ(FindDashboardAsset("/assets/missing.js"), nullptr);
  EXPECT_EQ(FindDashboardAsset("/index.html"), nullptr);
  EXPECT_EQ(FindDashboardAsset("/assets/../index.html"), nullptr);
  EXPECT_EQ(FindDashboardAsset("/assets/app.js?v=1"), nullptr);  // the caller strips the query
}

TEST(DashboardAssetsTest, EveryAssetHasAStrongEtagOfItsOwn) {
  std::set<std::string_view> etags;
  for (size_t i = 0; i < internal::kDashboardAssetCount; ++i) {
    const DashboardAsset& a = internal::kDashboardAssets[i];
    SCOPED_TRACE(std::string(a.path));
    EXPECT_EQ(FindDashboardAsset(a.path), &a);
    ASSERT_EQ(a.etag.size(), 34u);  // 32 hex digits, quoted
    EXPECT_EQ(a.etag.front(), '"');
    EXPECT_EQ(a.etag.back(), '"');
    EXPECT_FALSE(a.etag.starts_with("W/"));
    etags.insert(a.etag);
  }
  EXPECT_EQ(etags.size(), internal::kDashboardAssetCount);
}

TEST(DashboardAssetsTest, IndexReferencesOnlyEmbeddedAssets) {
  const DashboardAsset* index = FindDashboardAsset("/");
  ASSERT_NE(index, nullptr);
  const std::string html(index->body);
  // Every src/href of the page: local ones must be embedded assets, and nothing may come from
  // another origin (the dashboard works offline and without CORS).
  const std::regex reference(R"re((?:src|href)\s*=\s*"([^"]*)")re");
  int assets = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), reference);
       it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[1];
    SCOPED_TRACE(target);
    if (target.starts_with("#")) continue;  // in-page links (skip link, hash routes)
    EXPECT_TRUE(target.starts_with("/assets/")) << "the page loads something from elsewhere";
    EXPECT_NE(FindDashboardAsset(target), nullptr) << "not embedded";
    ++assets;
  }
  EXPECT_GE(assets, 4);  // app.js, app.css, uPlot's script and style
}

TEST(DashboardAssetsTest, ModulesImportOnlyEmbeddedModules) {
  // The page is ES modules without a bundler: "./view.js" in /assets/app.js is /assets/view.js.
  const std::regex import_from(R"re((?:^|\n)\s*import\s[^'"]*?['"]\./([^'"]+)['"])re");
  int modules = 0;
  int imports = 0;
  for (size_t i = 0; i < internal::kDashboardAssetCount; ++i) {
    const DashboardAsset& a = internal::kDashboardAssets[i];
    if (!a.path.ends_with(".js") || a.path.ends_with(".min.js")) continue;
    ++modules;
    const std::string body(a.body);
    for (auto it = std::sregex_iterator(body.begin(), body.end(), import_from);
         it != std::sregex_iterator(); ++it) {
      const std::string target = "/assets/" + std::string((*it)[1]);
      SCOPED_TRACE(std::string(a.path) + " imports " + target);
      EXPECT_NE(FindDashboardAsset(target), nullptr) << "not embedded";
      ++imports;
    }
  }
  EXPECT_GE(modules, 2);
  EXPECT_GE(imports, 1);  // app.js imports the views
}

}  // namespace
}  // namespace cutover::api
