// The web dashboard (web/): its files, embedded into the binary at build time by
// scripts/embed-assets, so that `cutover serve` serves the dashboard alone and offline.
//
// The table is immutable and built at compile time: any thread may call FindDashboardAsset, and
// the views it returns stay valid for the life of the process.
#pragma once

#include <cstddef>
#include <string_view>

namespace cutover::api {

struct DashboardAsset {
  std::string_view path;          // "/" or "/assets/<file>"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
  std::string_view etag;          // strong ETag, quoted: "\"<32 hex digits of SHA-256>\""
};

// "/" maps to index.html; "/assets/<file>" to the rest. nullptr when there is no such asset.
// The path is matched exactly: strip the query string first.
const DashboardAsset* FindDashboardAsset(std::string_view path);

namespace internal {
// Defined by the generated dashboard_assets_data.cc.
extern const size_t kDashboardAssetCount;
extern const DashboardAsset kDashboardAssets[];
}  // namespace internal

}  // namespace cutover::api
