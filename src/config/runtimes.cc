#include "config/runtimes.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>

namespace cutover::config {
namespace {

constexpr std::string_view kMarkerPrefix = "bref:layer.";
constexpr std::string_view kConsoleLayer = "console";

// PHP versions Bref has published layers for, as they appear in layer names.
constexpr std::string_view kPhpVersions[] = {"73", "74", "80", "81", "82", "83", "84"};

bool IsKnownPhpVersion(std::string_view digits) {
  return std::find(std::begin(kPhpVersions), std::end(kPhpVersions), digits) !=
         std::end(kPhpVersions);
}

// "php-74-fpm" -> {"74", "-fpm"}; "php-82" -> {"82", ""}; "php-82-console" -> {"82", "-console"}.
bool SplitPhpName(std::string_view name, std::string_view* digits, std::string_view* suffix) {
  if (name.substr(0, 4) != "php-" || name.size() < 6) return false;
  *digits = name.substr(4, 2);
  *suffix = name.substr(6);
  return IsKnownPhpVersion(*digits);
}

std::string PhpVersionText(std::string_view digits) {
  return fmt::format("{}.{}", digits[0], digits.substr(1));
}

bool IsProvided(std::string_view runtime) {
  return runtime == "provided" || runtime == "provided.al2" || runtime == "provided.al2023";
}

bool IsPython3(std::string_view runtime) {
  if (runtime.substr(0, 8) != "python3." || runtime.size() == 8) return false;
  return std::all_of(runtime.begin() + 8, runtime.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

Result<ResolvedRuntime> FromPhpName(std::string_view name) {
  std::string_view digits;
  std::string_view suffix;
  if (!SplitPhpName(name, &digits, &suffix)) {
    return InvalidArgument(
        fmt::format("unsupported runtime '{}' (supported: {})", name, SupportedRuntimesText()));
  }
  ResolvedRuntime resolved;
  resolved.runtime = std::string(name);
  resolved.php_version = PhpVersionText(digits);
  if (suffix == "-fpm") {
    resolved.kind = RuntimeKind::kPhpFpm;
  } else if (suffix.empty() || suffix == "-console") {
    resolved.kind = RuntimeKind::kPhpFunction;
  } else {
    return InvalidArgument(
        fmt::format("unsupported runtime '{}' (supported: {})", name, SupportedRuntimesText()));
  }
  return resolved;
}

}  // namespace

const std::vector<std::string_view>& BrefLayerNames() {
  static const std::vector<std::string_view> kNames = {
      "php-73",     "php-73-fpm", "php-74",     "php-74-fpm", "php-80",
      "php-80-fpm", "php-81",     "php-81-fpm", "php-82",     "php-82-fpm",
      "php-83",     "php-83-fpm", "php-84",     "php-84-fpm", "console"};
  return kNames;
}

bool IsBrefLayerName(std::string_view name) {
  const auto& names = BrefLayerNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string BrefLayerMarker(std::string_view name) {
  return fmt::format("{}{}", kMarkerPrefix, name);
}

std::string BrefLayerFromReference(std::string_view layer) {
  std::string_view name;
  if (layer.substr(0, kMarkerPrefix.size()) == kMarkerPrefix) {
    name = layer.substr(kMarkerPrefix.size());
  } else if (layer.substr(0, 15) == "arn:aws:lambda:") {
    // arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION
    constexpr std::string_view kLayerPart = ":layer:";
    size_t at = layer.find(kLayerPart);
    if (at == std::string_view::npos) return "";
    name = layer.substr(at + kLayerPart.size());
    size_t colon = name.find(':');
    if (colon == std::string_view::npos) return "";
    name = name.substr(0, colon);
  } else {
    return "";
  }
  if (name.substr(0, 4) == "arm-") name.remove_prefix(4);  // Bref's ARM builds: arm-php-82-fpm
  return IsBrefLayerName(name) ? std::string(name) : "";
}

std::string_view SupportedRuntimesText() {
  return "provided, provided.al2, provided.al2023 (with Bref PHP layers or a ./bootstrap), "
         "nodejs18.x, nodejs20.x, nodejs22.x, python3.x, or Bref's php-XY, php-XY-fpm, "
         "php-XY-console";
}

Result<ResolvedRuntime> ResolveRuntime(std::string_view runtime,
                                       const std::vector<std::string>& layers) {
  if (runtime.substr(0, 4) == "php-") return FromPhpName(runtime);
  if (runtime == "nodejs18.x" || runtime == "nodejs20.x" || runtime == "nodejs22.x") {
    return ResolvedRuntime{RuntimeKind::kNode, std::string(runtime), ""};
  }
  if (IsPython3(runtime)) return ResolvedRuntime{RuntimeKind::kPython, std::string(runtime), ""};
  if (!IsProvided(runtime)) {
    return InvalidArgument(
        fmt::format("unsupported runtime '{}' (supported: {})", runtime, SupportedRuntimesText()));
  }

  std::string fpm_layer;       // "php-74-fpm"
  std::string function_layer;  // "php-74"
  bool console = false;
  for (const std::string& layer : layers) {
    std::string name = BrefLayerFromReference(layer);
    if (name.empty()) continue;
    if (name == kConsoleLayer) {
      console = true;
      continue;
    }
    std::string& slot = name.ends_with("-fpm") ? fpm_layer : function_layer;
    if (!slot.empty() && slot != name) {
      return InvalidArgument(
          fmt::format("conflicting Bref layers '{}' and '{}' on one function", slot, name));
    }
    slot = name;
  }
  if (!fpm_layer.empty() && !function_layer.empty() && fpm_layer.substr(0, 6) != function_layer) {
    return InvalidArgument(fmt::format("conflicting Bref layers '{}' and '{}' on one function",
                                       function_layer, fpm_layer));
  }
  if (!fpm_layer.empty()) {
    if (console) {
      return InvalidArgument(fmt::format(
          "Bref layers '{}' and 'console' do not go together (console needs a php-XY layer)",
          fpm_layer));
    }
    return FromPhpName(fpm_layer);
  }
  if (!function_layer.empty()) {
    return FromPhpName(console ? function_layer + "-console" : function_layer);
  }
  if (console) {
    return InvalidArgument("the Bref 'console' layer needs a php-XY layer next to it");
  }
  return ResolvedRuntime{RuntimeKind::kProvided, std::string(runtime), ""};
}

}  // namespace cutover::config
