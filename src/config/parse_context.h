// ParseContext: how the loader's parts report errors and notices and read typed values from
// ConfigNodes.
//
// Internal to the config module. Every error is InvalidArgument "FILE:LINE:COL: message"; notices
// carry the same prefix. Typed reads accept what Serverless accepts after variable resolution: an
// integer may come from a plain 28 or from a string "28" produced by `${env:TIMEOUT}`. One per
// load, one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/service_spec.h"
#include "config/yaml_tree.h"

namespace cutover::config {

// The keys one mapping may hold: those cutover acts on, and Serverless keys it accepts without
// acting on them (each reported as an "ignored" notice). Anything else is an error.
struct KeyTable {
  std::vector<std::string_view> handled;
  std::vector<std::string_view> ignored;
};

// Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent
// transpositions).
int EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` within distance 2 (first one on ties), or "" when none is that
// close.
std::string_view ClosestWord(std::string_view word,
                             const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates);

class ParseContext final {
 public:
  explicit ParseContext(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  SourceLocation Locate(Mark mark) const { return SourceLocation{file_, mark.line, mark.column}; }

  Status Error(Mark mark, std::string_view message) const;
  Status Error(const ConfigNode& node, std::string_view message) const {
    return Error(node.mark, message);
  }
  void Notice(Mark mark, std::string_view message);
  std::vector<std::string> TakeNotices() { return std::move(notices_); }

  // Checks every key of `map` (which must be a mapping) against `table`. `context` names the
  // mapping in messages ("in function 'website'", "in provider", "at the top level"); `path` is its
  // dotted address for notices ("functions.website").
  Status CheckKeys(const ConfigNode& map, const KeyTable& table, std::string_view context,
                   std::string_view path);

  // Typed reads. `what` names the value in messages ("timeout", "functions.website.handler").
  Status ExpectMap(const ConfigNode& node, std::string_view what) const;
  Status ExpectList(const ConfigNode& node, std::string_view what) const;
  // Any scalar, as written (a plain 5 reads as "5"). Null, lists and mappings are errors.
  Result<std::string> String(const ConfigNode& node, std::string_view what) const;
  // A non-empty string.
  Result<std::string> NonEmptyString(const ConfigNode& node, std::string_view what) const;
  Result<int64_t> Integer(const ConfigNode& node, std::string_view what) const;
  Result<double> Number(const ConfigNode& node, std::string_view what) const;
  Result<bool> Bool(const ConfigNode& node, std::string_view what) const;
  // A list of scalars; null reads as an empty list.
  Result<std::vector<std::string>> StringList(const ConfigNode& node, std::string_view what) const;

 private:
  std::string file_;
  std::vector<std::string> notices_;
};

// "a mapping", "a list", "nothing", "'abc'": what a node is, for "expected X, got Y" messages.
std::string DescribeNode(const ConfigNode& node);

}  // namespace cutover::config
