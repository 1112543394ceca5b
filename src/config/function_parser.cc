// functions.<key> and their http / httpApi events.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "config/runtimes.h"
#include "config/spec_parser.h"

namespace cutover::config {
namespace {

// clang-format off
const KeyTable kFunctionKeys = {
    .handled = {
        "handler", "runtime", "layers", "timeout", "memorySize", "environment",
        "reservedConcurrency", "name", "events", "deploymentSettings", "image"},
    .ignored = {
        "description", "tags", "vpc", "architecture", "provisionedConcurrency", "tracing", "url",
        "destinations", "onError", "maximumRetryAttempts", "maximumEventAge", "ephemeralStorage",
        "role", "kmsKeyArn", "package", "snapStart", "condition", "dependsOn", "disableLogs",
        "logRetentionInDays", "logDataProtectionPolicy", "fileSystemConfig", "runtimeManagement",
        "iamRoleStatements", "iamRoleStatementsName", "iamRoleStatementsInherit", "alarms", "logs"},
};

// Event types Serverless knows that are not HTTP: accepted, reported, not served.
const std::vector<std::string_view> kIgnoredEventTypes = {
    "schedule", "sqs", "s3", "sns", "stream", "websocket", "alb", "eventBridge", "cloudwatchEvent",
    "cloudwatchLog", "cognitoUserPool", "alexaSkill", "alexaSmartHome", "iot",
    "iotFleetProvisioning", "kafka", "activemq", "rabbitmq", "msk", "cloudFront"};

const KeyTable kHttpEventKeys = {
    .handled = {
        "path", "method"},
    .ignored = {
        "cors", "private", "authorizer", "request", "response", "integration", "async",
        "operationId", "connectionType", "connectionId", "documentation", "caching"},
};

const KeyTable kHttpApiEventKeys = {
    .handled = {
        "path", "method"},
    .ignored = {
        "authorizer", "swaggerTags"},
};

const std::vector<std::string_view> kMethods = {
    "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "ANY"};

// Lambda refuses these names in a function's environment; the platform sets them.
const std::vector<std::string_view> kReservedEnvironment = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"};
// clang-format on

bool Contains(const std::vector<std::string_view>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// "/users/{id}", "hello" -> "/hello", "/a/" -> "/a". Returns a message on a malformed path.
Result<std::string> NormalizePath(std::string_view raw) {
  std::string path(raw);
  if (path.empty()) return InvalidArgument("the path must not be empty");
  if (path[0] != '/') path.insert(path.begin(), '/');
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.find_first_of("?# \t") != std::string::npos) {
    return InvalidArgument(fmt::format("path '{}' may not contain '?', '#' or spaces", raw));
  }
  if (path == "/") return path;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string_view segment = std::string_view(path).substr(start, slash - start);
    if (segment.empty()) return InvalidArgument(fmt::format("path '{}' has an empty segment", raw));
    bool has_brace = segment.find_first_of("{}") != std::string_view::npos;
    if (has_brace) {
      bool well_formed = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
      std::string_view name = well_formed ? segment.substr(1, segment.size() - 2) : segment;
      bool greedy = well_formed && name.back() == '+';
      if (greedy) name.remove_suffix(1);
      well_formed =
          well_formed && !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
          });
      if (!well_formed) {
        return InvalidArgument(fmt::format(
            "path '{}' has a malformed parameter '{}' (use {{name}} or a final {{name+}})", raw,
            segment));
      }
      if (greedy && slash != path.size()) {
        return InvalidArgument(fmt::format(
            "path '{}': the greedy parameter '{}' must be the last segment", raw, segment));
      }
    }
    start = slash + 1;
  }
  return path;
}

class FunctionParser {
 public:
  FunctionParser(ParseContext& context, const MapEntry& entry, const ServiceContext& service)
      : context_(context),
        key_(entry.key),
        key_mark_(entry.key_mark),
        node_(*entry.value),
        service_(service) {}

  Result<FunctionSpec> Parse() {
    if (!IsValidLambdaName(key_)) {
      return context_.Error(key_mark_, fmt::format("function key '{}' may only contain letters, "
                                                   "digits, '-' and '_' (at most 64)",
                                                   key_));
    }
    if (node_.IsNull()) {
      return context_.Error(key_mark_, fmt::format("function '{}' is empty (it needs at least a "
                                                   "handler)",
                                                   key_));
    }
    CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(node_, fmt::format("function '{}'", key_)));
    CUTOVER_RETURN_IF_ERROR(context_.CheckKeys(node_, kFunctionKeys,
                                               fmt::format("in function '{}'", key_),
                                               fmt::format("functions.{}", key_)));
    if (const MapEntry* image = node_.Find("image")) {
      return context_.Error(image->key_mark, fmt::format("function '{}': container image functions "
                                                         "are not supported",
                                                         key_));
    }
    FunctionSpec function;
    function.key = key_;
    function.where = context_.Locate(key_mark_);
    CUTOVER_RETURN_IF_ERROR(ParseHandler(function));
    CUTOVER_RETURN_IF_ERROR(ParseName(function));
    CUTOVER_RETURN_IF_ERROR(ParseRuntime(function));
    CUTOVER_RETURN_IF_ERROR(CheckHandlerFormat(function));
    CUTOVER_RETURN_IF_ERROR(ParseLimits(function));
    CUTOVER_RETURN_IF_ERROR(ParseFunctionEnvironment(function));
    if (const MapEntry* events = node_.Find("events")) {
      CUTOVER_RETURN_IF_ERROR(ParseEvents(*events->value, function));
    }
    if (const MapEntry* settings = node_.Find("deploymentSettings")) {
      CUTOVER_ASSIGN_OR_RETURN(
          DeploymentSettings deployment,
          ParseDeploymentSettings(context_, *settings->value, settings->key_mark, key_, service_));
      function.deployment = std::move(deployment);
    }
    return function;
  }

 private:
  Status ParseHandler(FunctionSpec& function) {
    const MapEntry* handler = node_.Find("handler");
    if (handler == nullptr) {
      return context_.Error(key_mark_, fmt::format("function '{}' has no handler", key_));
    }
    CUTOVER_ASSIGN_OR_RETURN(function.handler, context_.NonEmptyString(*handler->value, "handler"));
    function.handler_where = context_.Locate(handler->value->mark);
    if (!IsSafeRelativePath(function.handler)) {
      return context_.Error(*handler->value,
                            fmt::format("handler '{}' must be a relative path inside the service "
                                        "directory",
                                        function.handler));
    }
    return Status::Ok();
  }

  Status ParseName(FunctionSpec& function) {
    const MapEntry* name = node_.Find("name");
    if (name != nullptr) {
      CUTOVER_ASSIGN_OR_RETURN(function.deployed_name,
                               context_.NonEmptyString(*name->value, "name"));
    } else {
      function.deployed_name = fmt::format("{}-{}-{}", service_.service, service_.stage, key_);
    }
    if (!IsValidLambdaName(function.deployed_name)) {
      Mark mark = name != nullptr ? name->value->mark : key_mark_;
      return context_.Error(mark,
                            fmt::format("function name '{}' is not a valid Lambda function name "
                                        "(letters, digits, '-' and '_', at most 64)",
                                        function.deployed_name));
    }
    return Status::Ok();
  }

  Status ParseRuntime(FunctionSpec& function) {
    const MapEntry* layers_entry = node_.Find("layers");
    const ConfigNode* layers =
        layers_entry != nullptr ? layers_entry->value.get() : service_.provider_layers;
    if (layers != nullptr) {
      CUTOVER_ASSIGN_OR_RETURN(function.layers, context_.StringList(*layers, "layers"));
    }
    const MapEntry* runtime_entry = node_.Find("runtime");
    const ConfigNode* runtime =
        runtime_entry != nullptr ? runtime_entry->value.get() : service_.provider_runtime;
    if (runtime == nullptr) {
      return context_.Error(key_mark_,
                            fmt::format("function '{}' has no runtime (set functions.{}.runtime or "
                                        "provider.runtime)",
                                        key_, key_));
    }
    CUTOVER_ASSIGN_OR_RETURN(std::string name, context_.NonEmptyString(*runtime, "runtime"));
    Result<ResolvedRuntime> alone = ResolveRuntime(name, {});
    if (!alone.ok()) return context_.Error(*runtime, alone.status().message());
    Result<ResolvedRuntime> resolved = ResolveRuntime(name, function.layers);
    if (!resolved.ok()) {
      return context_.Error(layers != nullptr ? *layers : *runtime, resolved.status().message());
    }
    function.runtime = resolved->runtime;
    function.kind = resolved->kind;
    function.php_version = resolved->php_version;
    return Status::Ok();
  }

  // node and python handlers name a module and a function in it: "src/handler.hello".
  Status CheckHandlerFormat(const FunctionSpec& function) {
    if (function.kind != RuntimeKind::kNode && function.kind != RuntimeKind::kPython) {
      return Status::Ok();
    }
    const std::string& handler = function.handler;
    size_t slash = handler.rfind('/');
    size_t base = slash == std::string::npos ? 0 : slash + 1;
    size_t dot = function.kind == RuntimeKind::kNode ? handler.find('.', base) : handler.rfind('.');
    if (dot == std::string::npos || dot <= base || dot + 1 >= handler.size()) {
      return context_.Error(Mark{function.handler_where.line, function.handler_where.column},
                            fmt::format("handler '{}' must look like FILE.FUNCTION (e.g. "
                                        "handler.hello) for runtime {}",
                                        handler, function.runtime));
    }
    return Status::Ok();
  }

  Status ParseLimits(FunctionSpec& function) {
    function.timeout_seconds = service_.timeout_seconds;
    if (const MapEntry* timeout = node_.Find("timeout")) {
      CUTOVER_ASSIGN_OR_RETURN(function.timeout_seconds,
                               ParseTimeout(context_, *timeout->value, "timeout"));
    }
    function.memory_mb = service_.memory_mb;
    if (const MapEntry* memory = node_.Find("memorySize")) {
      CUTOVER_ASSIGN_OR_RETURN(function.memory_mb,
                               ParseMemorySize(context_, *memory->value, "memorySize"));
    }
    if (const MapEntry* reserved = node_.Find("reservedConcurrency")) {
      CUTOVER_ASSIGN_OR_RETURN(int64_t value,
                               context_.Integer(*reserved->value, "reservedConcurrency"));
      if (value < 0 || value > 1'000'000) {
        return context_.Error(*reserved->value,
                              fmt::format("reservedConcurrency must be 0 or more, got {}", value));
      }
      function.reserved_concurrency = static_cast<int>(value);
    }
    return Status::Ok();
  }

  Status ParseFunctionEnvironment(FunctionSpec& function) {
    function.environment = service_.environment;
    const MapEntry* environment = node_.Find("environment");
    if (environment == nullptr) return Status::Ok();
    CUTOVER_ASSIGN_OR_RETURN(auto own,
                             ParseEnvironment(context_, *environment->value, "environment"));
    for (auto& [name, value] : own) function.environment[name] = std::move(value);
    return Status::Ok();
  }

  Status ParseEvents(const ConfigNode& events, FunctionSpec& function) {
    if (events.IsNull()) return Status::Ok();
    CUTOVER_RETURN_IF_ERROR(context_.ExpectList(events, "events"));
    for (const NodePtr& item : events.items) {
      if (!item->IsMap() || item->entries.size() != 1) {
        return context_.Error(*item, fmt::format("each event must be a mapping with one event type "
                                                 "(e.g. '- http: GET /'), got {}",
                                                 DescribeNode(*item)));
      }
      const MapEntry& event = item->entries[0];
      if (event.key == "http" || event.key == "httpApi") {
        ApiKind kind = event.key == "http" ? ApiKind::kRest : ApiKind::kHttpApi;
        CUTOVER_ASSIGN_OR_RETURN(HttpEvent parsed, ParseHttpEvent(kind, event));
        function.events.push_back(std::move(parsed));
      } else if (Contains(kIgnoredEventTypes, event.key)) {
        context_.Notice(
            event.key_mark,
            fmt::format("ignoring the {} event of function '{}' (cutover serves http and "
                        "httpApi events)",
                        event.key, key_));
      } else {
        std::vector<std::string_view> known = {"http", "httpApi"};
        known.insert(known.end(), kIgnoredEventTypes.begin(), kIgnoredEventTypes.end());
        return context_.Error(event.key_mark,
                              fmt::format("unknown event type '{}' in function '{}'{}", event.key,
                                          key_, DidYouMean(event.key, known)));
      }
    }
    return Status::Ok();
  }

  Result<HttpEvent> ParseHttpEvent(ApiKind kind, const MapEntry& event) {
    const ConfigNode& value = *event.value;
    const std::string_view type = event.key;
    HttpEvent http;
    http.kind = kind;
    http.where = context_.Locate(value.mark);
    std::string method;
    std::string path;
    const ConfigNode* method_node = &value;
    const ConfigNode* path_node = &value;
    if (value.IsScalar()) {
      std::string_view text = value.scalar;
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
      }
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
      }
      if (kind == ApiKind::kHttpApi && text == "*") {
        http.method = "ANY";
        http.path = "$default";
        return http;
      }
      size_t space = text.find_first_of(" \t");
      size_t rest = space == std::string_view::npos ? space : text.find_first_not_of(" \t", space);
      if (space == std::string_view::npos || rest == std::string_view::npos ||
          text.find_first_of(" \t", rest) != std::string_view::npos) {
        return context_.Error(
            value, fmt::format("{} event must look like 'METHOD /path'{}, got '{}'", type,
                               kind == ApiKind::kHttpApi ? " or '*'" : "", value.scalar));
      }
      method = std::string(text.substr(0, space));
      path = std::string(text.substr(rest));
    } else if (value.IsMap()) {
      const KeyTable& keys = kind == ApiKind::kRest ? kHttpEventKeys : kHttpApiEventKeys;
      CUTOVER_RETURN_IF_ERROR(context_.CheckKeys(
          value, keys, fmt::format("in the {} event of function '{}'", type, key_),
          fmt::format("functions.{}.events.{}", key_, type)));
      const MapEntry* method_entry = value.Find("method");
      const MapEntry* path_entry = value.Find("path");
      if (path_entry == nullptr || method_entry == nullptr) {
        return context_.Error(value,
                              fmt::format("{} event of function '{}' needs both 'method' and "
                                          "'path'",
                                          type, key_));
      }
      method_node = method_entry->value.get();
      path_node = path_entry->value.get();
      CUTOVER_ASSIGN_OR_RETURN(method, context_.NonEmptyString(*method_node, "method"));
      CUTOVER_ASSIGN_OR_RETURN(path, context_.NonEmptyString(*path_node, "path"));
      if (kind == ApiKind::kHttpApi && path == "*") {
        return context_.Error(*path_node, "use `httpApi: '*'` for the catch-all route");
      }
    } else {
      return context_.Error(value, fmt::format("{} event must be 'METHOD /path' or a mapping with "
                                               "method and path, got {}",
                                               type, DescribeNode(value)));
    }
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    if (method == "*") method = "ANY";
    if (!Contains(kMethods, method)) {
      return context_.Error(*method_node,
                            fmt::format("unknown HTTP method '{}' (use GET, POST, PUT, "
                                        "PATCH, DELETE, OPTIONS, HEAD or ANY)",
                                        method));
    }
    Result<std::string> normalized = NormalizePath(path);
    if (!normalized.ok()) return context_.Error(*path_node, normalized.status().message());
    http.method = std::move(method);
    http.path = std::move(normalized).value();
    return http;
  }

  ParseContext& context_;
  const std::string& key_;
  Mark key_mark_;
  const ConfigNode& node_;
  const ServiceContext& service_;
};

}  // namespace

Result<FunctionSpec> ParseFunction(ParseContext& context, const MapEntry& entry,
                                   const ServiceContext& service) {
  FunctionParser parser(context, entry, service);
  return parser.Parse();
}

Result<std::map<std::string, std::string>> ParseEnvironment(ParseContext& context,
                                                            const ConfigNode& node,
                                                            std::string_view what) {
  std::map<std::string, std::string> environment;
  if (node.IsNull()) return environment;
  CUTOVER_RETURN_IF_ERROR(context.ExpectMap(node, what));
  for (const MapEntry& entry : node.entries) {
    if (Contains(kReservedEnvironment, entry.key)) {
      return context.Error(
          entry.key_mark,
          fmt::format("environment variable '{}' is reserved by Lambda", entry.key));
    }
    if (!IsValidEnvironmentName(entry.key)) {
      return context.Error(entry.key_mark,
                           fmt::format("'{}' is not a valid environment variable name (a letter, "
                                       "then letters, digits and '_')",
                                       entry.key));
    }
    const ConfigNode& value = *entry.value;
    if (!value.IsScalar()) {
      return context.Error(value, fmt::format("environment variable '{}' must be a string, number "
                                              "or boolean, got {}",
                                              entry.key, DescribeNode(value)));
    }
    environment[entry.key] = value.scalar;
  }
  return environment;
}

Result<int> ParseTimeout(ParseContext& context, const ConfigNode& node, std::string_view what) {
  CUTOVER_ASSIGN_OR_RETURN(int64_t value, context.Integer(node, what));
  if (value < 1 || value > 900) {
    return context.Error(node,
                         fmt::format("{} must be between 1 and 900 seconds, got {}", what, value));
  }
  return static_cast<int>(value);
}

Result<int> ParseMemorySize(ParseContext& context, const ConfigNode& node, std::string_view what) {
  CUTOVER_ASSIGN_OR_RETURN(int64_t value, context.Integer(node, what));
  if (value < 128 || value > 10240) {
    return context.Error(node,
                         fmt::format("{} must be between 128 and 10240 MB, got {}", what, value));
  }
  return static_cast<int>(value);
}

}  // namespace cutover::config
