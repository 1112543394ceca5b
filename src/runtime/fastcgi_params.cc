#include "runtime/fastcgi_params.h"

#include <optional>
#include <string_view>
#include <unordered_map>

namespace cutover::runtime::fastcgi {
namespace {

char Upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Upper(a[i]) != Upper(b[i])) return false;
  }
  return true;
}

std::optional<std::string> FirstHeader(const FastCgiHttpRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string HttpParamName(std::string_view header_name) {
  std::string out = "HTTP_";
  out.reserve(5 + header_name.size());
  for (char c : header_name) out.push_back(c == '-' ? '_' : Upper(c));
  return out;
}

Params BuildBrefParams(const FastCgiHttpRequest& r) {
  Params params;
  params.reserve(24 + r.headers.size());
  params.emplace_back("PATH_INFO", r.path);
  params.emplace_back("QUERY_STRING", r.raw_query);
  params.emplace_back("LAMBDA_INVOCATION_CONTEXT", r.invocation_context_json);
  params.emplace_back("LAMBDA_REQUEST_CONTEXT", r.request_context_json);

  // HTTP_*: one entry per name, at its first position, holding the last value.
  std::unordered_map<std::string, size_t> index;
  for (const auto& [name, value] : r.headers) {
    std::string key = HttpParamName(name);
    auto [it, inserted] = index.emplace(key, params.size());
    if (inserted) {
      params.emplace_back(std::move(key), value);
    } else {
      params[it->second].second = value;
    }
  }

  std::string method;
  for (char c : r.method) method.push_back(Upper(c));
  std::string uri = r.path;
  if (!r.raw_query.empty()) uri += "?" + r.raw_query;

  std::string root = r.task_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::string_view handler = r.handler;
  while (!handler.empty() && handler.front() == '/') handler.remove_prefix(1);
  std::string script = root == "/" ? "/" + std::string(handler) : root + "/" + std::string(handler);
  size_t slash = script.rfind('/');
  std::string document_root = slash == 0 ? "/" : script.substr(0, slash);
  std::string script_name = script.substr(slash);

  std::string port =
      FirstHeader(r, "X-Forwarded-Port").value_or(std::to_string(r.default_server_port));
  std::string content_type;
  if (auto header = FirstHeader(r, "Content-Type")) {
    content_type = *header;
  } else if (r.body_size > 0) {
    content_type = "application/x-www-form-urlencoded";
  }

  params.emplace_back("GATEWAY_INTERFACE", "FastCGI/1.0");
  params.emplace_back("REQUEST_METHOD", std::move(method));
  params.emplace_back("REQUEST_URI", std::move(uri));
  params.emplace_back("SCRIPT_FILENAME", script);
  params.emplace_back("SCRIPT_NAME", std::move(script_name));
  params.emplace_back("DOCUMENT_ROOT", std::move(document_root));
  params.emplace_back("SERVER_SOFTWARE", "bref");
  params.emplace_back("REMOTE_ADDR", "127.0.0.1");
  params.emplace_back("REMOTE_PORT", port);
  params.emplace_back("SERVER_ADDR", "127.0.0.1");
  params.emplace_back("SERVER_PORT", port);
  params.emplace_back("SERVER_NAME", FirstHeader(r, "Host").value_or("localhost"));
  params.emplace_back("SERVER_PROTOCOL", r.protocol.empty() ? "HTTP/1.1" : r.protocol);
  params.emplace_back("CONTENT_TYPE", std::move(content_type));
  params.emplace_back("CONTENT_LENGTH", std::to_string(r.body_size));
  return params;
}

}  // namespace cutover::runtime::fastcgi
