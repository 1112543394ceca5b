#include "config/yaml_tree.h"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

namespace cutover::config {
namespace {

// Aliases let a small file expand exponentially ("billion laughs"); no real serverless.yml comes
// close.
constexpr size_t kMaxNodes = 200'000;
constexpr int kMaxDepth = 256;

constexpr std::string_view kMergeKey = "<<";
constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

Mark ToMark(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return Mark{};
  return Mark{mark.line + 1, mark.column + 1};
}

std::string ChildPath(const std::string& parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  return fmt::format("{}.{}", parent, child);
}

void SetPaths(ConfigNode& node, const std::string& path) {
  node.path = path;
  for (size_t i = 0; i < node.items.size(); ++i) {
    SetPaths(*node.items[i], ChildPath(path, std::to_string(i)));
  }
  for (MapEntry& entry : node.entries) SetPaths(*entry.value, ChildPath(path, entry.key));
}

class Converter {
 public:
  explicit Converter(const std::string& file) : file_(file) {}

  Result<NodePtr> Convert(const YAML::Node& yaml, const std::string& path, int depth) {
    if (++count_ > kMaxNodes) {
      return Error(ToMark(yaml.Mark()),
                   "document is too large (aliases expand past 200,000 nodes)");
    }
    if (depth > kMaxDepth) return Error(ToMark(yaml.Mark()), "document is nested too deeply");
    auto node = std::make_shared<ConfigNode>();
    node->mark = ToMark(yaml.Mark());
    node->path = path;
    const std::string& tag = yaml.Tag();
    bool application_tag = tag.size() > 1 && tag[0] == '!' && tag[1] != '<';
    if (application_tag) node->tag = tag.substr(1);
    switch (yaml.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        node->type = NodeType::kNull;
        return node;
      case YAML::NodeType::Scalar:
        node->type = NodeType::kScalar;
        node->scalar = yaml.Scalar();
        node->quoted = tag == "!" || tag == std::string(kCoreTagPrefix) + "str" || application_tag;
        return node;
      case YAML::NodeType::Sequence: {
        node->type = NodeType::kSequence;
        size_t index = 0;
        for (const YAML::Node& item : yaml) {
          CUTOVER_ASSIGN_OR_RETURN(
              NodePtr child, Convert(item, ChildPath(path, std::to_string(index++)), depth + 1));
          node->items.push_back(std::move(child));
        }
        return node;
      }
      case YAML::NodeType::Map:
        node->type = NodeType::kMap;
        CUTOVER_RETURN_IF_ERROR(ConvertMap(yaml, *node, depth));
        return node;
    }
    return node;
  }

 private:
  Status ConvertMap(const YAML::Node& yaml, ConfigNode& node, int depth) {
    std::unordered_map<std::string, Mark> seen;
    std::vector<NodePtr> merges;
    for (auto it = yaml.begin(); it != yaml.end(); ++it) {
      // Copies: the iterator hands out a temporary pair.
      const YAML::Node key = it->first;
      const YAML::Node value_yaml = it->second;
      Mark key_mark = ToMark(key.Mark());
      if (!key.IsScalar()) return Error(key_mark, "mapping keys must be plain strings");
      const std::string& name = key.Scalar();
      if (name == kMergeKey && key.Tag() == "?") {
        CUTOVER_ASSIGN_OR_RETURN(NodePtr merged, Convert(value_yaml, node.path, depth + 1));
        merges.push_back(std::move(merged));
        continue;
      }
      auto [pos, inserted] = seen.emplace(name, key_mark);
      if (!inserted) {
        return Error(key_mark, fmt::format("duplicate key '{}' (first defined at line {})", name,
                                           pos->second.line));
      }
      CUTOVER_ASSIGN_OR_RETURN(NodePtr value,
                               Convert(value_yaml, ChildPath(node.path, name), depth + 1));
      // An empty value ("key:" then a newline) gets the mark of the next token; point at the key.
      if (value->IsNull() && (value->mark.line == 0 || value->mark.line > key_mark.line)) {
        value->mark = key_mark;
      }
      node.entries.push_back(MapEntry{name, key_mark, std::move(value)});
    }
    // `<<: *base` or `<<: [*a, *b]`: keys written in the map win, then earlier merge sources win.
    for (const NodePtr& merge : merges) {
      std::vector<NodePtr> sources;
      if (merge->IsMap()) {
        sources.push_back(merge);
      } else if (merge->IsSequence()) {
        sources = merge->items;
      }
      if (sources.empty() && !merge->IsSequence()) {
        return Error(merge->mark, "a '<<' merge key needs a mapping or a list of mappings");
      }
      for (const NodePtr& source : sources) {
        if (!source->IsMap()) return Error(source->mark, "a '<<' merge key needs mappings");
        for (const MapEntry& entry : source->entries) {
          if (!seen.emplace(entry.key, entry.key_mark).second) continue;
          node.entries.push_back(entry);
          SetPaths(*node.entries.back().value, ChildPath(node.path, entry.key));
        }
      }
    }
    return Status::Ok();
  }

  Status Error(Mark mark, std::string_view message) const {
    return InvalidArgument(fmt::format("{}:{}:{}: {}", file_, mark.line, mark.column, message));
  }

  const std::string& file_;
  size_t count_ = 0;
};

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> options) {
  for (std::string_view option : options) {
    if (s == option) return true;
  }
  return false;
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsOctDigit(char c) { return c >= '0' && c <= '7'; }

std::string_view StripSign(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return s;
}

bool LooksLikeFloat(std::string_view s) {
  s = StripSign(s);
  if (IsOneOf(s, {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"})) return true;
  size_t i = 0;
  size_t int_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  size_t frac_digits = 0;
  bool dot = i < s.size() && s[i] == '.';
  if (dot) {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  } else if (!dot) {
    return false;  // an integer
  }
  return i == s.size();
}

boost::json::value ScalarToJson(const ConfigNode& node) {
  const std::string& s = node.scalar;
  switch (ClassifyScalar(node)) {
    case ScalarKind::kNull:
      return nullptr;
    case ScalarKind::kBool:
      return s[0] == 't' || s[0] == 'T';
    case ScalarKind::kInteger: {
      std::string_view digits = StripSign(s);
      bool negative = !s.empty() && s[0] == '-';
      int base = 10;
      if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
        base = digits[1] == 'x' ? 16 : 8;
        digits.remove_prefix(2);
      }
      int64_t value = 0;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
      if (ec != std::errc() || ptr != digits.data() + digits.size()) {
        return boost::json::string(s);  // out of range: keep the text
      }
      return negative ? -value : value;
    }
    case ScalarKind::kFloat: {
      double value = std::strtod(s.c_str(), nullptr);
      if (!std::isfinite(value)) return boost::json::string(s);  // JSON has no inf / nan
      return value;
    }
    case ScalarKind::kString:
      return boost::json::string(s);
  }
  return boost::json::string(s);
}

boost::json::value UntaggedToJson(const ConfigNode& node) {
  switch (node.type) {
    case NodeType::kNull:
      return nullptr;
    case NodeType::kScalar:
      return ScalarToJson(node);
    case NodeType::kSequence: {
      boost::json::array array;
      for (const NodePtr& item : node.items) array.push_back(NodeToJson(*item));
      return array;
    }
    case NodeType::kMap: {
      boost::json::object object;
      for (const MapEntry& entry : node.entries) object[entry.key] = NodeToJson(*entry.value);
      return object;
    }
  }
  return nullptr;
}

}  // namespace

const MapEntry* ConfigNode::Find(std::string_view key) const {
  for (const MapEntry& entry : entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

Result<NodePtr> ParseYamlTree(const std::string& text, const std::string& file_name) {
  YAML::Node document;
  try {
    document = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Mark mark = ToMark(e.mark);
    if (mark.line == 0) mark = Mark{1, 1};
    return InvalidArgument(
        fmt::format("{}:{}:{}: YAML syntax error: {}", file_name, mark.line, mark.column, e.msg));
  }
  if (!document.IsMap()) {
    Mark mark = ToMark(document.Mark());
    if (mark.line == 0) mark = Mark{1, 1};
    return InvalidArgument(
        fmt::format("{}:{}:{}: serverless.yml must be a mapping of keys to values", file_name,
                    mark.line, mark.column));
  }
  try {
    Converter converter(file_name);
    return converter.Convert(document, "", 0);
  } catch (const YAML::Exception& e) {
    Mark mark = ToMark(e.mark);
    return InvalidArgument(
        fmt::format("{}:{}:{}: YAML error: {}", file_name, mark.line, mark.column, e.msg));
  }
}

NodePtr MakeScalar(std::string value, bool quoted, Mark mark) {
  auto node = std::make_shared<ConfigNode>();
  node->type = NodeType::kScalar;
  node->scalar = std::move(value);
  node->quoted = quoted;
  node->mark = mark;
  node->resolution = ConfigNode::Resolution::kResolved;
  return node;
}

ScalarKind ClassifyScalar(const ConfigNode& node) {
  if (node.IsNull()) return ScalarKind::kNull;
  if (node.quoted || !node.IsScalar()) return ScalarKind::kString;
  const std::string& s = node.scalar;
  if (IsOneOf(s, {"", "~", "null", "Null", "NULL"})) return ScalarKind::kNull;
  if (IsOneOf(s, {"true", "True", "TRUE", "false", "False", "FALSE"})) return ScalarKind::kBool;
  std::string_view unsigned_part = StripSign(s);
  if (AllOf(unsigned_part, IsDigit)) return ScalarKind::kInteger;
  if (unsigned_part.size() > 2 && unsigned_part[0] == '0') {
    if (unsigned_part[1] == 'x' && AllOf(unsigned_part.substr(2), IsHexDigit)) {
      return ScalarKind::kInteger;
    }
    if (unsigned_part[1] == 'o' && AllOf(unsigned_part.substr(2), IsOctDigit)) {
      return ScalarKind::kInteger;
    }
  }
  if (LooksLikeFloat(s)) return ScalarKind::kFloat;
  return ScalarKind::kString;
}

boost::json::value NodeToJson(const ConfigNode& node) {
  if (node.tag.empty()) return UntaggedToJson(node);
  boost::json::value inner = UntaggedToJson(node);
  boost::json::object object;
  if (node.tag == "Ref" || node.tag == "Condition") {
    object[node.tag] = std::move(inner);
  } else if (node.tag == "GetAtt" && node.IsScalar()) {
    // "Resource.Attribute.Sub" -> ["Resource", "Attribute.Sub"], as CloudFormation reads it.
    boost::json::array parts;
    size_t dot = node.scalar.find('.');
    parts.emplace_back(node.scalar.substr(0, dot));
    if (dot != std::string::npos) parts.emplace_back(node.scalar.substr(dot + 1));
    object["Fn::GetAtt"] = std::move(parts);
  } else {
    object["Fn::" + node.tag] = std::move(inner);
  }
  return object;
}

}  // namespace cutover::config
