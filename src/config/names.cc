// Name and path validators shared by the YAML loader and ServiceSpecFromJson
// (config/spec_parser.h).
#include <algorithm>
#include <cctype>

#include "config/spec_parser.h"

namespace cutover::config {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

}  // namespace

bool IsValidLambdaName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), IsNameChar);
}

bool IsValidAliasName(std::string_view name) {
  bool all_digits = std::all_of(name.begin(), name.end(),
                                [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  return !name.empty() && name.size() <= 128 && !all_digits &&
         std::all_of(name.begin(), name.end(), IsNameChar);
}

bool IsValidServiceName(std::string_view name) {
  if (name.size() < 2 || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

bool IsValidStage(std::string_view stage) {
  return !stage.empty() && std::all_of(stage.begin(), stage.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

bool IsValidEnvironmentName(std::string_view name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path[0] == '/' || path.find('\\') != std::string_view::npos ||
      path.find('\0') != std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (path.substr(start, slash - start) == "..") return false;
    start = slash + 1;
  }
  return true;
}

}  // namespace cutover::config
