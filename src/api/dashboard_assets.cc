#include "api/dashboard_assets.h"

#include <cstddef>

namespace cutover::api {

const DashboardAsset* FindDashboardAsset(std::string_view path) {
  // A handful of entries: a linear scan is as fast as anything else here.
  for (size_t i = 0; i < internal::kDashboardAssetCount; ++i) {
    if (internal::kDashboardAssets[i].path == path) return &internal::kDashboardAssets[i];
  }
  return nullptr;
}

}  // namespace cutover::api
