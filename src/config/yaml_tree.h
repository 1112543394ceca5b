// ConfigNode: a YAML document as a plain tree that remembers where every node was written.
//
// Internal to the config module. yaml-cpp nodes forget their marks once rewritten, and resolving
// `${...}` variables rewrites scalars, so the loader converts the yaml-cpp document into this tree
// once and works on it: every node and map key carries its 1-based line:column, scalars remember
// whether they were quoted (a quoted "5" is a string, a plain 5 a number, as in js-yaml which
// Serverless uses), and CloudFormation short-form tags (`!Ref X`) are kept. Duplicate keys are an
// error and `<<` merge keys are applied while converting. Built and used by one thread during one
// load.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::config {

// 1-based position in the file; 0 when unknown.
struct Mark {
  int line = 0;
  int column = 0;
};

struct ConfigNode;
using NodePtr = std::shared_ptr<ConfigNode>;

struct MapEntry {
  std::string key;
  Mark key_mark;
  NodePtr value;
};

enum class NodeType { kNull, kScalar, kSequence, kMap };

struct ConfigNode {
  NodeType type = NodeType::kNull;
  std::string scalar;   // kScalar only
  bool quoted = false;  // written quoted, as a block scalar or tagged !!str: always a string
  std::string tag;      // application tag without '!' ("Ref", "GetAtt", "Sub"); empty if none
  std::vector<NodePtr> items;     // kSequence, in order
  std::vector<MapEntry> entries;  // kMap, in document order, keys unique
  Mark mark;
  std::string
      path;  // dotted address from the root ("provider.stage", "custom.list.0"), for messages

  // Variable resolution progress (config/variables.h).
  enum class Resolution { kUnresolved, kResolving, kResolved };
  Resolution resolution = Resolution::kUnresolved;

  bool IsNull() const { return type == NodeType::kNull; }
  bool IsScalar() const { return type == NodeType::kScalar; }
  bool IsSequence() const { return type == NodeType::kSequence; }
  bool IsMap() const { return type == NodeType::kMap; }

  // REQUIRES: IsMap() (returns nullptr otherwise).
  const MapEntry* Find(std::string_view key) const;
};

// Parses `text` (the first YAML document) into a tree. Errors are InvalidArgument "FILE:LINE:COL:
// ..." with `file_name` as FILE: YAML syntax errors, duplicate keys, non-scalar keys, a document
// that is not a mapping, and documents that expand (through aliases) past a sane size.
Result<NodePtr> ParseYamlTree(const std::string& text, const std::string& file_name);

// A scalar node built by the loader (variable values, defaults).
NodePtr MakeScalar(std::string value, bool quoted, Mark mark);

// How js-yaml would type a plain scalar: null, bool, integer, float, or a string. Quoted scalars
// are always strings.
enum class ScalarKind { kNull, kBool, kInteger, kFloat, kString };
ScalarKind ClassifyScalar(const ConfigNode& node);

// The node as JSON: scalars typed by ClassifyScalar, and CloudFormation short forms expanded
// (`!Ref X` -> {"Ref": "X"}, `!GetAtt A.B` -> {"Fn::GetAtt": ["A", "B"]}, `!Sub s` -> {"Fn::Sub":
// "s"}).
boost::json::value NodeToJson(const ConfigNode& node);

}  // namespace cutover::config
