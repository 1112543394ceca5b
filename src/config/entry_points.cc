// CheckEntryPoints (config/loader.h): each function's bootstrap or handler file exists under the
// root.
#include <fmt/core.h>

#include <algorithm>
#include <system_error>

#include "config/loader.h"
#include "config/spec_parser.h"

namespace cutover::config {
namespace {

namespace fs = std::filesystem;

std::string Prefix(const FunctionSpec& function) {
  const SourceLocation& where =
      function.handler_where.line > 0 ? function.handler_where : function.where;
  if (where.file.empty()) return "";
  return fmt::format("{}:{}:{}: ", where.file, where.line, where.column);
}

bool IsRegularFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

Status CheckBootstrap(const FunctionSpec& function, const fs::path& root) {
  fs::path bootstrap = root / "bootstrap";
  std::error_code ec;
  fs::file_status status = fs::status(bootstrap, ec);
  if (ec || !fs::exists(status)) {
    return InvalidArgument(
        fmt::format("{}function '{}': runtime {} runs ./bootstrap, which is "
                    "missing in {}",
                    Prefix(function), function.key, function.runtime, root.string()));
  }
  if (!fs::is_regular_file(status)) {
    return InvalidArgument(fmt::format("{}function '{}': {} is not a regular file",
                                       Prefix(function), function.key, bootstrap.string()));
  }
  constexpr fs::perms kAnyExec =
      fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
  if ((status.permissions() & kAnyExec) == fs::perms::none) {
    return InvalidArgument(fmt::format("{}function '{}': {} is not executable (chmod +x bootstrap)",
                                       Prefix(function), function.key, bootstrap.string()));
  }
  return Status::Ok();
}

Status CheckCandidates(const FunctionSpec& function, const fs::path& root,
                       const std::vector<std::string>& candidates) {
  for (const std::string& candidate : candidates) {
    if (IsRegularFile(root / candidate)) return Status::Ok();
  }
  std::string tried;
  for (const std::string& candidate : candidates) {
    tried += tried.empty() ? candidate : ", " + candidate;
  }
  return InvalidArgument(
      fmt::format("{}function '{}': handler '{}' not found (looked for {} in {})", Prefix(function),
                  function.key, function.handler, tried, root.string()));
}

// "src/handler.hello" -> "src/handler" (node: up to the first '.' of the last path segment).
std::string NodeModule(const std::string& handler) {
  size_t slash = handler.rfind('/');
  size_t base = slash == std::string::npos ? 0 : slash + 1;
  size_t dot = handler.find('.', base);
  return handler.substr(0, dot);
}

// "src/handler.hello" -> "src/handler"; "pkg.mod.fn" -> "pkg/mod" (python: up to the last '.').
std::string PythonModule(const std::string& handler) {
  size_t slash = handler.rfind('/');
  size_t base = slash == std::string::npos ? 0 : slash + 1;
  std::string module = handler.substr(0, handler.rfind('.'));
  std::replace(module.begin() + static_cast<std::ptrdiff_t>(std::min(base, module.size())),
               module.end(), '.', '/');
  return module;
}

}  // namespace

Status CheckEntryPoints(const ServiceSpec& spec, const std::filesystem::path& root) {
  for (const FunctionSpec& function : spec.functions) {
    if (!IsSafeRelativePath(function.handler)) {
      return InvalidArgument(
          fmt::format("{}function '{}': handler '{}' must be a relative path "
                      "inside the service directory",
                      Prefix(function), function.key, function.handler));
    }
    Status status;
    switch (function.kind) {
      case RuntimeKind::kProvided:
        status = CheckBootstrap(function, root);
        break;
      case RuntimeKind::kNode: {
        std::string module = NodeModule(function.handler);
        status =
            CheckCandidates(function, root, {module + ".js", module + ".mjs", module + ".cjs"});
        break;
      }
      case RuntimeKind::kPython: {
        std::string module = PythonModule(function.handler);
        status = CheckCandidates(function, root, {module + ".py", module + "/__init__.py"});
        break;
      }
      case RuntimeKind::kPhpFpm:
      case RuntimeKind::kPhpFunction:
        status = CheckCandidates(function, root, {function.handler});
        break;
    }
    CUTOVER_RETURN_IF_ERROR(status);
  }
  return Status::Ok();
}

}  // namespace cutover::config
