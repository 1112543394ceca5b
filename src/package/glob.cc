// GlobMatch: the globs of serverless.yml package.patterns, matched against relative paths.
//
// A pattern is first expanded into its brace alternatives, then matched segment by segment: "**"
// spans whole segments, everything else matches within one segment.
#include <string>
#include <string_view>
#include <vector>

#include "package/package.h"

namespace cutover::package {
namespace {

// More alternatives than this from one pattern is a typo or an attack, not a packaging rule.
constexpr size_t kMaxAlternatives = 1024;

// Appends every brace alternative of `pattern` to `out`: "a{b,c{d,e}}" -> "ab", "acd", "ace". A '{'
// without a matching '}' or without a top-level ',' is an ordinary character.
void ExpandBraces(std::string_view pattern, std::vector<std::string>& out) {
  if (out.size() >= kMaxAlternatives) return;
  for (size_t open = 0; open < pattern.size(); ++open) {
    if (pattern[open] == '\\') {
      ++open;
      continue;
    }
    if (pattern[open] != '{') continue;
    int depth = 0;
    size_t close = std::string_view::npos;
    std::vector<size_t> commas;
    for (size_t j = open; j < pattern.size(); ++j) {
      const char c = pattern[j];
      if (c == '\\') {
        ++j;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}') {
        if (--depth == 0) {
          close = j;
          break;
        }
      } else if (c == ',' && depth == 1) {
        commas.push_back(j);
      }
    }
    if (close == std::string_view::npos || commas.empty()) continue;
    const std::string_view prefix = pattern.substr(0, open);
    const std::string_view suffix = pattern.substr(close + 1);
    size_t start = open + 1;
    commas.push_back(close);
    for (size_t end : commas) {
      std::string alternative(prefix);
      alternative.append(pattern.substr(start, end - start));
      alternative.append(suffix);
      ExpandBraces(alternative, out);
      start = end + 1;
    }
    return;
  }
  out.emplace_back(pattern);
}

// Reads one character of a bracket class at pattern[j], honouring a backslash escape; advances `j`.
unsigned char ReadClassChar(std::string_view pattern, size_t& j) {
  if (pattern[j] == '\\' && j + 1 < pattern.size()) ++j;
  return static_cast<unsigned char>(pattern[j++]);
}

// Matches `c` against the bracket class that starts at pattern[i] == '['. Returns 1 on a match and
// 0 on none, with `i` moved past the class; -1 when the class is never closed (the '[' is then an
// ordinary character). A ']' right after "[" or "[!" belongs to the class.
int MatchClass(std::string_view pattern, size_t& i, char c) {
  const auto u = static_cast<unsigned char>(c);
  size_t j = i + 1;
  bool negated = false;
  if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) {
    negated = true;
    ++j;
  }
  bool matched = false;
  bool first = true;
  while (j < pattern.size() && (first || pattern[j] != ']')) {
    first = false;
    const unsigned char lo = ReadClassChar(pattern, j);
    unsigned char hi = lo;
    if (j + 1 < pattern.size() && pattern[j] == '-' && pattern[j + 1] != ']') {
      ++j;
      hi = ReadClassChar(pattern, j);
    }
    if (lo <= u && u <= hi) matched = true;
  }
  if (j >= pattern.size()) return -1;
  i = j + 1;
  return matched != negated ? 1 : 0;
}

// Matches one path segment against one pattern segment ("*", "?", classes, escapes; no '/').
bool MatchSegment(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  // Where to resume after the last '*': the pattern just past it, and the text it has eaten so far.
  size_t star_p = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        while (p < pattern.size() && pattern[p] == '*') ++p;  // "**" inside a segment is "*"
        star_p = p;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        size_t next = p;
        const int r = MatchClass(pattern, next, text[t]);
        if (r == 1) {
          p = next;
          ++t;
          continue;
        }
        if (r == -1 && text[t] == '[') {  // unclosed: a literal '['
          ++p;
          ++t;
          continue;
        }
      } else {
        char literal = pc;
        size_t width = 1;
        if (pc == '\\' && p + 1 < pattern.size()) {
          literal = pattern[p + 1];
          width = 2;
        }
        if (literal == text[t]) {
          p += width;
          ++t;
          continue;
        }
      }
    }
    // Mismatch: let the last '*' eat one more character, or fail.
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string_view> SplitSegments(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool MatchSegments(const std::vector<std::string_view>& pattern, size_t pi,
                   const std::vector<std::string_view>& path, size_t si) {
  while (pi < pattern.size()) {
    if (pattern[pi] == "**") {
      while (pi + 1 < pattern.size() && pattern[pi + 1] == "**") ++pi;
      if (pi + 1 == pattern.size()) return true;  // a trailing "**" takes whatever is left
      for (size_t skip = si; skip <= path.size(); ++skip) {
        if (MatchSegments(pattern, pi + 1, path, skip)) return true;
      }
      return false;
    }
    if (si >= path.size() || !MatchSegment(pattern[pi], path[si])) return false;
    ++pi;
    ++si;
  }
  return si == path.size();
}

bool MatchOne(std::string_view pattern, std::string_view path) {
  while (pattern.starts_with("./")) pattern.remove_prefix(2);
  std::string with_globstar;
  if (pattern.ends_with('/')) {
    with_globstar = std::string(pattern) + "**";
    pattern = with_globstar;
  }
  if (pattern.empty()) return false;
  return MatchSegments(SplitSegments(pattern), 0, SplitSegments(path), 0);
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view path) {
  std::vector<std::string> alternatives;
  ExpandBraces(pattern, alternatives);
  for (const std::string& alternative : alternatives) {
    if (MatchOne(alternative, path)) return true;
  }
  return false;
}

}  // namespace cutover::package
