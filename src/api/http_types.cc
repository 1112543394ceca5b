#include "api/http_types.h"

namespace cutover::api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

}  // namespace

std::string PercentDecode(std::string_view in) { return Decode(in, false); }

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i <= query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(i, amp - i);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(Decode(part, true), "");
      } else {
        out.emplace_back(Decode(part.substr(0, eq), true), Decode(part.substr(eq + 1), true));
      }
    }
    i = amp + 1;
  }
  return out;
}

std::vector<std::string_view> PathSegments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool MatchPathPattern(const std::vector<std::string>& pattern,
                      const std::vector<std::string_view>& path, Params* params) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& s = pattern[i];
    const bool parameter = s.size() > 2 && s.front() == '{' && s.back() == '}';
    if (!parameter && s != path[i]) return false;
  }
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& s = pattern[i];
    if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
      (*params)[s.substr(1, s.size() - 2)] = PercentDecode(path[i]);
    }
  }
  return true;
}

}  // namespace cutover::api
