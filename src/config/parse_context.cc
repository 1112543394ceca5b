#include "config/parse_context.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace cutover::config {
namespace {

bool ParseInteger(std::string_view text, int64_t* out) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseDouble(const std::string& text, double* out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

}  // namespace

int EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string_view ClosestWord(std::string_view word,
                             const std::vector<std::string_view>& candidates) {
  std::string_view best;
  int best_distance = 3;
  for (std::string_view candidate : candidates) {
    int distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view closest = ClosestWord(word, candidates);
  if (closest.empty()) return "";
  return fmt::format(" (did you mean '{}'?)", closest);
}

std::string DescribeNode(const ConfigNode& node) {
  switch (node.type) {
    case NodeType::kNull:
      return "nothing";
    case NodeType::kScalar:
      return fmt::format("'{}'", node.scalar);
    case NodeType::kSequence:
      return "a list";
    case NodeType::kMap:
      return "a mapping";
  }
  return "?";
}

Status ParseContext::Error(Mark mark, std::string_view message) const {
  return InvalidArgument(fmt::format("{}:{}:{}: {}", file_, mark.line, mark.column, message));
}

void ParseContext::Notice(Mark mark, std::string_view message) {
  notices_.push_back(fmt::format("{}:{}:{}: {}", file_, mark.line, mark.column, message));
}

Status ParseContext::CheckKeys(const ConfigNode& map, const KeyTable& table,
                               std::string_view context, std::string_view path) {
  for (const MapEntry& entry : map.entries) {
    const std::string& key = entry.key;
    auto contains = [&key](const std::vector<std::string_view>& keys) {
      return std::find(keys.begin(), keys.end(), key) != keys.end();
    };
    if (contains(table.handled)) continue;
    if (contains(table.ignored)) {
      std::string full = path.empty() ? key : fmt::format("{}.{}", path, key);
      Notice(entry.key_mark, fmt::format("ignoring {} (cutover does not act on it)", full));
      continue;
    }
    std::vector<std::string_view> all = table.handled;
    all.insert(all.end(), table.ignored.begin(), table.ignored.end());
    return Error(entry.key_mark,
                 fmt::format("unknown key '{}' {}{}", key, context, DidYouMean(key, all)));
  }
  return Status::Ok();
}

Status ParseContext::ExpectMap(const ConfigNode& node, std::string_view what) const {
  if (node.IsMap()) return Status::Ok();
  return Error(node, fmt::format("{} must be a mapping, got {}", what, DescribeNode(node)));
}

Status ParseContext::ExpectList(const ConfigNode& node, std::string_view what) const {
  if (node.IsSequence()) return Status::Ok();
  return Error(node, fmt::format("{} must be a list, got {}", what, DescribeNode(node)));
}

Result<std::string> ParseContext::String(const ConfigNode& node, std::string_view what) const {
  if (node.IsScalar()) return node.scalar;
  return Error(node, fmt::format("{} must be a string, got {}", what, DescribeNode(node)));
}

Result<std::string> ParseContext::NonEmptyString(const ConfigNode& node,
                                                 std::string_view what) const {
  CUTOVER_ASSIGN_OR_RETURN(std::string value, String(node, what));
  if (value.empty()) return Error(node, fmt::format("{} must not be empty", what));
  return value;
}

Result<int64_t> ParseContext::Integer(const ConfigNode& node, std::string_view what) const {
  int64_t value = 0;
  if (node.IsScalar() && ParseInteger(node.scalar, &value)) return value;
  return Error(node, fmt::format("{} must be an integer, got {}", what, DescribeNode(node)));
}

Result<double> ParseContext::Number(const ConfigNode& node, std::string_view what) const {
  double value = 0;
  if (node.IsScalar() && ParseDouble(node.scalar, &value)) return value;
  return Error(node, fmt::format("{} must be a number, got {}", what, DescribeNode(node)));
}

Result<bool> ParseContext::Bool(const ConfigNode& node, std::string_view what) const {
  if (node.IsScalar()) {
    const std::string& s = node.scalar;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  return Error(node, fmt::format("{} must be true or false, got {}", what, DescribeNode(node)));
}

Result<std::vector<std::string>> ParseContext::StringList(const ConfigNode& node,
                                                          std::string_view what) const {
  std::vector<std::string> values;
  if (node.IsNull()) return values;
  CUTOVER_RETURN_IF_ERROR(ExpectList(node, what));
  for (const NodePtr& item : node.items) {
    CUTOVER_ASSIGN_OR_RETURN(std::string value,
                             String(*item, fmt::format("each entry of {}", what)));
    values.push_back(std::move(value));
  }
  return values;
}

}  // namespace cutover::config
