#include "config/variables.h"

#include <fmt/core.h>

#include <cctype>
#include <vector>

#include "config/runtimes.h"

namespace cutover::config {
namespace {

constexpr std::string_view kSupportedSources = "self:, opt:, env:, sls: and bref:";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool IsSourceChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// True when `inner` (the text between "${" and "}") starts like a Serverless variable: a source
// name, optionally with parameters ("file(x.yml)"), then one ':'. `AWS::Region`, `Resource.Arn` and
// `!Literal` are CloudFormation Fn::Sub syntax and stay as written.
bool IsServerlessVariable(std::string_view inner) {
  inner = Trim(inner);
  size_t i = 0;
  if (i >= inner.size() || !std::isalpha(static_cast<unsigned char>(inner[i]))) return false;
  while (i < inner.size() && IsSourceChar(inner[i])) ++i;
  if (i < inner.size() && inner[i] == '(') {
    size_t close = inner.find(')', i);
    if (close == std::string_view::npos) return false;
    i = close + 1;
  }
  if (i >= inner.size() || inner[i] != ':') return false;
  return i + 1 >= inner.size() || inner[i + 1] != ':';
}

// "self:a.b", "opt:stage": a reference written without "${}" as a default, which Serverless still
// accepts. Only the sources cutover knows count, so a default like http://localhost stays text.
bool IsKnownSourceReference(std::string_view param) {
  for (std::string_view source : {"self:", "opt:", "env:", "sls:", "bref:"}) {
    if (param.substr(0, source.size()) == source) return true;
  }
  return false;
}

// `text[begin]` is the '$' of "${". Returns one past the matching '}', or npos when unterminated.
// Quotes inside the variable ("${opt:x, '}'}") hide braces and commas.
size_t FindVariableEnd(std::string_view text, size_t begin) {
  int depth = 0;
  char quote = 0;
  for (size_t i = begin; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      ++depth;
      ++i;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '}') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// Splits a variable's inner text at top-level commas: "opt:stage, ${self:a, 'b'}" -> two params.
std::vector<std::string_view> SplitParams(std::string_view inner) {
  std::vector<std::string_view> params;
  size_t start = 0;
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < inner.size(); ++i) {
    char c = inner[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '$' && i + 1 < inner.size() && inner[i + 1] == '{') {
      ++depth;
      ++i;
    } else if (c == '}') {
      --depth;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ',' && depth == 0) {
      params.push_back(inner.substr(start, i - start));
      start = i + 1;
    }
  }
  params.push_back(inner.substr(start));
  return params;
}

// A string split into literal text and variables.
struct Piece {
  bool variable = false;
  std::string_view text;  // literal text, or the variable's inner text
};

// The value a variable produced, or why it has none (the caller tries defaults, then reports
// `missing`).
struct Lookup {
  NodePtr value;
  std::string missing;
};

class Resolver {
 public:
  Resolver(NodePtr root, const VariableSources& sources, const ParseContext& context)
      : root_(std::move(root)), sources_(sources), context_(context) {}

  Status ResolveDeep(const NodePtr& node) {
    if (node->resolution == ConfigNode::Resolution::kResolved) return Status::Ok();
    node->resolution = ConfigNode::Resolution::kResolving;
    stack_.push_back(node.get());
    Status status;
    if (node->IsScalar()) {
      status = ResolveScalar(*node);
    } else {
      for (const NodePtr& item : node->items) {
        status = ResolveChild(item);
        if (!status.ok()) break;
      }
      for (const MapEntry& entry : node->entries) {
        if (!status.ok()) break;
        status = ResolveChild(entry.value);
      }
    }
    stack_.pop_back();
    if (!status.ok()) return status;
    node->resolution = ConfigNode::Resolution::kResolved;
    return Status::Ok();
  }

 private:
  Status ResolveChild(const NodePtr& child) {
    if (child->resolution == ConfigNode::Resolution::kResolving) return Circular(*child, *child);
    return ResolveDeep(child);
  }

  Result<std::vector<Piece>> SplitPieces(std::string_view text, const ConfigNode& at) const {
    std::vector<Piece> pieces;
    size_t i = 0;
    while (i < text.size()) {
      size_t start = text.find("${", i);
      if (start == std::string_view::npos) {
        pieces.push_back(Piece{false, text.substr(i)});
        break;
      }
      size_t end = FindVariableEnd(text, start);
      if (end == std::string_view::npos) {
        if (IsServerlessVariable(text.substr(start + 2))) {
          return context_.Error(at,
                                fmt::format("unterminated variable in '{}' (missing '}}')", text));
        }
        pieces.push_back(Piece{false, text.substr(i)});
        break;
      }
      std::string_view inner = text.substr(start + 2, end - start - 3);
      if (IsServerlessVariable(inner)) {
        if (start > i) pieces.push_back(Piece{false, text.substr(i, start - i)});
        pieces.push_back(Piece{true, inner});
      } else {
        pieces.push_back(Piece{false, text.substr(i, end - i)});
      }
      i = end;
    }
    return pieces;
  }

  Status ResolveScalar(ConfigNode& node) {
    if (node.scalar.find("${") == std::string::npos) return Status::Ok();
    const std::string text = node.scalar;
    CUTOVER_ASSIGN_OR_RETURN(std::vector<Piece> pieces, SplitPieces(text, node));
    if (pieces.size() == 1 && pieces[0].variable) {
      CUTOVER_ASSIGN_OR_RETURN(NodePtr value, Required(pieces[0].text, node));
      // The value takes the referenced node's type; the mark stays where the reference was written.
      node.type = value->type;
      node.scalar = value->scalar;
      node.quoted = value->quoted;
      if (node.tag.empty()) node.tag = value->tag;
      node.items = value->items;
      node.entries = value->entries;
      return Status::Ok();
    }
    CUTOVER_ASSIGN_OR_RETURN(std::string joined, Interpolate(pieces, node));
    node.scalar = std::move(joined);
    node.quoted = true;
    return Status::Ok();
  }

  // Joins pieces into one string; every variable must produce a scalar.
  Result<std::string> Interpolate(const std::vector<Piece>& pieces, const ConfigNode& at) {
    std::string out;
    for (const Piece& piece : pieces) {
      if (!piece.variable) {
        out += piece.text;
        continue;
      }
      CUTOVER_ASSIGN_OR_RETURN(NodePtr value, Required(piece.text, at));
      if (!value->IsScalar()) {
        return context_.Error(
            at, fmt::format("variable '${{{}}}' resolves to {} and cannot be part of a string",
                            piece.text, DescribeNode(*value)));
      }
      out += value->scalar;
    }
    return out;
  }

  Result<NodePtr> Required(std::string_view inner, const ConfigNode& at) {
    CUTOVER_ASSIGN_OR_RETURN(Lookup lookup, Evaluate(inner, at));
    if (lookup.value != nullptr) return lookup.value;
    return context_.Error(
        at, fmt::format("cannot resolve variable '${{{}}}': {}", Trim(inner), lookup.missing));
  }

  // Evaluates one variable with its defaults. A value that does not exist is not an error here.
  Result<Lookup> Evaluate(std::string_view inner, const ConfigNode& at) {
    std::vector<std::string_view> params = SplitParams(inner);
    CUTOVER_ASSIGN_OR_RETURN(std::vector<Piece> address_pieces, SplitPieces(Trim(params[0]), at));
    CUTOVER_ASSIGN_OR_RETURN(std::string address_text, Interpolate(address_pieces, at));
    size_t colon = address_text.find(':');
    if (colon == std::string::npos) {
      return context_.Error(at, fmt::format("malformed variable '${{{}}}'", Trim(inner)));
    }
    std::string source(Trim(std::string_view(address_text).substr(0, colon)));
    std::string address(Trim(std::string_view(address_text).substr(colon + 1)));
    CUTOVER_ASSIGN_OR_RETURN(Lookup primary, Fetch(source, address, at));
    if (primary.value != nullptr && !primary.value->IsNull()) return primary;
    if (primary.value != nullptr) {
      primary.missing = fmt::format("'{}:{}' is empty", source, address);
      primary.value = nullptr;
    }
    for (size_t i = 1; i < params.size(); ++i) {
      std::string_view param = Trim(params[i]);
      if (param.empty()) {
        return context_.Error(at, fmt::format("empty default value in '${{{}}}'", Trim(inner)));
      }
      if (param.size() >= 2 && (param.front() == '\'' || param.front() == '"') &&
          param.back() == param.front()) {
        return Lookup{MakeScalar(std::string(param.substr(1, param.size() - 2)), true, at.mark),
                      ""};
      }
      std::string_view nested;
      if (param.substr(0, 2) == "${" && FindVariableEnd(param, 0) == param.size()) {
        nested = param.substr(2, param.size() - 3);
      } else if (IsKnownSourceReference(param)) {
        nested = param;  // the older form without "${}": ${opt:stage, self:provider.stage}
      }
      if (!nested.empty()) {
        CUTOVER_ASSIGN_OR_RETURN(Lookup fallback, Evaluate(nested, at));
        if (fallback.value != nullptr) return fallback;
        continue;
      }
      // A number, true/false, or a bare word: typed like a plain YAML scalar.
      return Lookup{MakeScalar(std::string(param), false, at.mark), ""};
    }
    return primary;
  }

  Result<Lookup> Fetch(const std::string& source, const std::string& address,
                       const ConfigNode& at) {
    if (source == "self") return LookupSelf(address, at);
    if (source == "opt") {
      auto it = sources_.options->find(address);
      if (it == sources_.options->end()) {
        return Lookup{nullptr, fmt::format("no --{} option was given", address)};
      }
      return Lookup{MakeScalar(it->second, false, at.mark), ""};
    }
    if (source == "env") {
      std::optional<std::string> value = sources_.getenv(address);
      if (!value.has_value()) {
        return Lookup{nullptr, fmt::format("environment variable {} is not set", address)};
      }
      return Lookup{MakeScalar(*value, false, at.mark), ""};
    }
    if (source == "sls") {
      if (address == "stage") return Stage(at);
      return context_.Error(
          at, fmt::format("unsupported variable 'sls:{}' (cutover knows sls:stage)", address));
    }
    if (source == "bref") {
      constexpr std::string_view kLayerPrefix = "layer.";
      std::string_view name = address;
      if (name.substr(0, kLayerPrefix.size()) != kLayerPrefix) {
        return context_.Error(at, fmt::format("unsupported variable 'bref:{}' (cutover knows "
                                              "bref:layer.NAME)",
                                              address));
      }
      name.remove_prefix(kLayerPrefix.size());
      if (!IsBrefLayerName(name)) {
        return context_.Error(
            at, fmt::format("unknown Bref layer '{}'{}", name, DidYouMean(name, BrefLayerNames())));
      }
      return Lookup{MakeScalar(BrefLayerMarker(name), true, at.mark), ""};
    }
    return context_.Error(at, fmt::format("unsupported variable source '{}:' (cutover resolves {})",
                                          source, kSupportedSources));
  }

  // `${sls:stage}`: --stage, else provider.stage, else "dev".
  Result<Lookup> Stage(const ConfigNode& at) {
    auto it = sources_.options->find("stage");
    if (it != sources_.options->end()) return Lookup{MakeScalar(it->second, false, at.mark), ""};
    CUTOVER_ASSIGN_OR_RETURN(Lookup configured, LookupSelf("provider.stage", at));
    if (configured.value == nullptr || configured.value->IsNull()) {
      return Lookup{MakeScalar("dev", false, at.mark), ""};
    }
    if (!configured.value->IsScalar()) {
      return context_.Error(at, "provider.stage must be a string");
    }
    return configured;
  }

  Result<Lookup> LookupSelf(const std::string& address, const ConfigNode& at) {
    NodePtr current = root_;
    size_t start = 0;
    while (!address.empty() && start <= address.size()) {
      size_t dot = address.find('.', start);
      if (dot == std::string::npos) dot = address.size();
      std::string segment = address.substr(start, dot - start);
      start = dot + 1;
      // A scalar on the way may be a reference to a mapping: resolve it before stepping into it.
      if (current->IsScalar() && current->resolution != ConfigNode::Resolution::kResolved) {
        if (current->resolution == ConfigNode::Resolution::kResolving)
          return Circular(*current, at);
        CUTOVER_RETURN_IF_ERROR(ResolveDeep(current));
      }
      NodePtr next;
      if (current->IsMap()) {
        if (const MapEntry* entry = current->Find(segment)) next = entry->value;
      } else if (current->IsSequence()) {
        size_t index = 0;
        bool numeric = !segment.empty() && segment.size() < 10;
        for (char c : segment) {
          numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
        }
        if (numeric) index = std::stoul(segment);
        if (numeric && index < current->items.size()) next = current->items[index];
      }
      if (next == nullptr) {
        return Lookup{nullptr, fmt::format("{} has no value at '{}'", context_.file(), address)};
      }
      current = next;
    }
    if (current->resolution == ConfigNode::Resolution::kResolving) return Circular(*current, at);
    CUTOVER_RETURN_IF_ERROR(ResolveDeep(current));
    return Lookup{current, ""};
  }

  // `target` is being resolved and `at` (resolved on its behalf) refers back to it.
  Status Circular(const ConfigNode& target, const ConfigNode& at) const {
    std::string chain;
    bool in_cycle = false;
    for (const ConfigNode* node : stack_) {
      in_cycle = in_cycle || node == &target;
      if (!in_cycle) continue;
      chain += fmt::format("{} -> ", DisplayPath(*node));
    }
    chain += DisplayPath(target);
    return context_.Error(at, fmt::format("circular variable reference: {}", chain));
  }

  static std::string DisplayPath(const ConfigNode& node) {
    return node.path.empty() ? "(the whole file)" : node.path;
  }

  NodePtr root_;
  const VariableSources& sources_;
  const ParseContext& context_;
  std::vector<const ConfigNode*> stack_;  // nodes being resolved, outermost first
};

}  // namespace

Status ResolveVariables(const NodePtr& root, const VariableSources& sources,
                        const ParseContext& context) {
  Resolver resolver(root, sources, context);
  return resolver.ResolveDeep(root);
}

}  // namespace cutover::config
