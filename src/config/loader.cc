#include "config/loader.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/parse_context.h"
#include "config/spec_parser.h"
#include "config/variables.h"
#include "config/yaml_tree.h"

namespace cutover::config {
namespace {

constexpr size_t kMaxFileBytes = 10 * 1024 * 1024;
constexpr std::string_view kCanaryPlugin = "serverless-plugin-canary-deployments";

// clang-format off
const KeyTable kTopLevelKeys = {
    .handled = {
        "service", "frameworkVersion", "provider", "plugins", "custom", "package", "functions",
        "resources"},
    .ignored = {
        "configValidationMode", "useDotenv", "variablesResolutionMode",
        "unresolvedVariablesNotificationMode", "deprecationNotificationMode",
        "disabledDeprecations", "org", "app", "tenant", "outputs", "params", "layers", "console",
        "dashboard", "stages", "build"},
};

const KeyTable kProviderKeys = {
    .handled = {
        "name", "runtime", "stage", "region", "environment", "timeout", "memorySize", "apiName",
        "layers"},
    .ignored = {
        "iam", "iamRoleStatements", "iamManagedPolicies", "role", "rolePermissionsBoundary",
        "cfnRole", "deploymentBucket", "deploymentPrefix", "deploymentMethod", "versionFunctions",
        "logRetentionInDays", "logDataProtectionPolicy", "tags", "stackTags", "stackName",
        "stackPolicy", "stackParameters", "tracing", "vpc", "architecture", "httpApi", "apiGateway",
        "logs", "profile", "lambdaHashingVersion", "eventBridge", "kmsKeyArn", "endpointType",
        "notificationArns", "alb", "ecr", "s3", "cloudFront", "websocketsApiName",
        "websocketsApiRouteSelectionExpression", "websockets", "disableRollback",
        "runtimeManagement", "usagePlan", "apiKeys", "resourcePolicy", "environmentVariables"},
};

const KeyTable kPackageKeys = {
    .handled = {
        "patterns", "include", "exclude"},
    .ignored = {
        "individually", "artifact", "excludeDevDependencies"},
};

// resources: a CloudFormation template fragment. Only Resources is read; the rest is accepted
// quietly.
const KeyTable kResourcesKeys = {
    .handled = {
        "Resources", "Outputs", "Conditions", "Parameters", "Mappings", "Description", "Transform",
        "Metadata", "AWSTemplateFormatVersion", "Rules", "extensions"},
    .ignored = {
},
};

const KeyTable kResourceKeys = {
    .handled = {
        "Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy",
        "Metadata", "UpdatePolicy", "CreationPolicy"},
    .ignored = {
},
};

const KeyTable kPluginsKeys = {.handled = {"modules", "localPath"}, .ignored = {}};
const KeyTable kServiceKeys = {.handled = {"name"}, .ignored = {}};

// Resource types cutover acts on; others are reported and skipped.
const std::vector<std::string_view> kKeptResourceTypes = {
    "AWS::CloudWatch::Alarm", "AWS::CodeDeploy::DeploymentConfig"};
// clang-format on

// "/a/{x}/{p+}" -> "/a/{}/{+}": routes with the same shape collide (API Gateway refuses them).
std::string RouteShape(const HttpEvent& event) {
  std::string shape = event.method + " ";
  size_t i = 0;
  const std::string& path = event.path;
  while (i < path.size()) {
    if (path[i] == '{') {
      size_t close = path.find('}', i);
      if (close == std::string::npos) close = path.size() - 1;
      shape += path[close - 1] == '+' ? "{+}" : "{}";
      i = close + 1;
    } else {
      shape += path[i++];
    }
  }
  return shape;
}

class SpecBuilder {
 public:
  SpecBuilder(ParseContext& context, const ConfigNode& root, const LoadOptions& options)
      : context_(context), root_(root), options_(options) {}

  Result<ServiceSpec> Build() {
    CUTOVER_RETURN_IF_ERROR(context_.CheckKeys(root_, kTopLevelKeys, "at the top level", ""));
    if (const MapEntry* version = root_.Find("frameworkVersion")) {
      CUTOVER_RETURN_IF_ERROR(context_.String(*version->value, "frameworkVersion").status());
    }
    CUTOVER_RETURN_IF_ERROR(ParseServiceName());
    CUTOVER_RETURN_IF_ERROR(ParseProvider());
    CUTOVER_RETURN_IF_ERROR(ParsePlugins());
    CUTOVER_RETURN_IF_ERROR(ParsePackage());
    CUTOVER_RETURN_IF_ERROR(ParseCustom());
    CUTOVER_RETURN_IF_ERROR(ParseResources());
    CUTOVER_RETURN_IF_ERROR(ParseFunctions());
    CUTOVER_RETURN_IF_ERROR(CheckRoutes());
    AddDeploymentNotices();
    spec_.notices = context_.TakeNotices();
    return std::move(spec_);
  }

 private:
  const ConfigNode* Find(const ConfigNode& map, std::string_view key) const {
    if (!map.IsMap()) return nullptr;
    const MapEntry* entry = map.Find(key);
    return entry == nullptr ? nullptr : entry->value.get();
  }

  Status ParseServiceName() {
    const MapEntry* entry = root_.Find("service");
    if (entry == nullptr) return context_.Error(Mark{1, 1}, "missing the top-level key 'service'");
    const ConfigNode* name = entry->value.get();
    if (name->IsMap()) {  // the older `service: {name: x}` form
      CUTOVER_RETURN_IF_ERROR(context_.CheckKeys(*name, kServiceKeys, "in service", "service"));
      name = Find(*name, "name");
      if (name == nullptr) return context_.Error(*entry->value, "service needs a 'name'");
    }
    CUTOVER_ASSIGN_OR_RETURN(spec_.service, context_.NonEmptyString(*name, "service"));
    if (!IsValidServiceName(spec_.service)) {
      return context_.Error(*name, fmt::format("service name '{}' must start with a letter and "
                                               "contain only letters, digits and '-'",
                                               spec_.service));
    }
    service_.service = spec_.service;
    return Status::Ok();
  }

  Status ParseProvider() {
    const MapEntry* entry = root_.Find("provider");
    static const ConfigNode kEmpty = [] {
      ConfigNode node;
      node.type = NodeType::kMap;
      return node;
    }();
    const ConfigNode* provider = &kEmpty;
    if (entry != nullptr && !entry->value->IsNull()) {
      provider = entry->value.get();
      CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(*provider, "provider"));
      CUTOVER_RETURN_IF_ERROR(
          context_.CheckKeys(*provider, kProviderKeys, "in provider", "provider"));
    }
    if (const ConfigNode* name = Find(*provider, "name")) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.provider_name, context_.String(*name, "provider.name"));
      if (spec_.provider_name != "aws") {
        return context_.Error(*name, fmt::format("provider '{}' is not supported (cutover emulates "
                                                 "aws)",
                                                 spec_.provider_name));
      }
    }
    CUTOVER_RETURN_IF_ERROR(ParseStage(Find(*provider, "stage")));
    CUTOVER_RETURN_IF_ERROR(ParseRegion(Find(*provider, "region")));
    spec_.api_name = fmt::format("{}-{}", spec_.stage, spec_.service);
    if (const ConfigNode* api_name = Find(*provider, "apiName")) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.api_name, context_.NonEmptyString(*api_name, "apiName"));
    }
    if (const ConfigNode* runtime = Find(*provider, "runtime")) {
      CUTOVER_RETURN_IF_ERROR(context_.NonEmptyString(*runtime, "provider.runtime").status());
      service_.provider_runtime = runtime;
    }
    service_.provider_layers = Find(*provider, "layers");
    if (const ConfigNode* timeout = Find(*provider, "timeout")) {
      CUTOVER_ASSIGN_OR_RETURN(service_.timeout_seconds,
                               ParseTimeout(context_, *timeout, "provider.timeout"));
    }
    if (const ConfigNode* memory = Find(*provider, "memorySize")) {
      CUTOVER_ASSIGN_OR_RETURN(service_.memory_mb,
                               ParseMemorySize(context_, *memory, "provider.memorySize"));
    }
    if (const ConfigNode* environment = Find(*provider, "environment")) {
      CUTOVER_ASSIGN_OR_RETURN(service_.environment,
                               ParseEnvironment(context_, *environment, "provider.environment"));
    }
    return Status::Ok();
  }

  // --stage, else provider.stage, else "dev" (the same rule as ${sls:stage}).
  Status ParseStage(const ConfigNode* configured) {
    Mark mark{1, 1};
    std::string origin = "--stage";
    auto option = options_.options.find("stage");
    if (option != options_.options.end()) {
      spec_.stage = option->second;
      if (configured != nullptr) mark = configured->mark;
    } else if (configured != nullptr && !configured->IsNull()) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.stage, context_.String(*configured, "provider.stage"));
      mark = configured->mark;
      origin = "provider.stage";
    } else {
      spec_.stage = "dev";
    }
    if (!IsValidStage(spec_.stage)) {
      return context_.Error(mark,
                            fmt::format("stage '{}' (from {}) may only contain letters, digits "
                                        "and '-'",
                                        spec_.stage, origin));
    }
    service_.stage = spec_.stage;
    return Status::Ok();
  }

  Status ParseRegion(const ConfigNode* configured) {
    auto option = options_.options.find("region");
    if (option != options_.options.end()) {
      spec_.region = option->second;
    } else if (configured != nullptr && !configured->IsNull()) {
      CUTOVER_ASSIGN_OR_RETURN(spec_.region,
                               context_.NonEmptyString(*configured, "provider.region"));
    }
    if (spec_.region.empty()) return context_.Error(Mark{1, 1}, "--region must not be empty");
    return Status::Ok();
  }

  Status ParsePlugins() {
    const ConfigNode* plugins = Find(root_, "plugins");
    if (plugins == nullptr || plugins->IsNull()) return Status::Ok();
    if (plugins->IsMap()) {  // {localPath: ./plugins, modules: [...]}
      CUTOVER_RETURN_IF_ERROR(context_.CheckKeys(*plugins, kPluginsKeys, "in plugins", "plugins"));
      if (const ConfigNode* local_path = Find(*plugins, "localPath")) {
        CUTOVER_RETURN_IF_ERROR(context_.String(*local_path, "plugins.localPath").status());
      }
      plugins = Find(*plugins, "modules");
      if (plugins == nullptr) return Status::Ok();
    }
    CUTOVER_ASSIGN_OR_RETURN(spec_.plugins, context_.StringList(*plugins, "plugins"));
    return Status::Ok();
  }

  Status ParsePackage() {
    const ConfigNode* package = Find(root_, "package");
    if (package == nullptr || package->IsNull()) return Status::Ok();
    CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(*package, "package"));
    CUTOVER_RETURN_IF_ERROR(context_.CheckKeys(*package, kPackageKeys, "in package", "package"));
    // Serverless' reading of the legacy keys: excludes first (negated), then includes, then
    // patterns.
    if (const ConfigNode* exclude = Find(*package, "exclude")) {
      CUTOVER_ASSIGN_OR_RETURN(auto excludes, context_.StringList(*exclude, "package.exclude"));
      for (const std::string& pattern : excludes) spec_.package_patterns.push_back("!" + pattern);
    }
    if (const ConfigNode* include = Find(*package, "include")) {
      CUTOVER_ASSIGN_OR_RETURN(auto includes, context_.StringList(*include, "package.include"));
      for (std::string& pattern : includes) spec_.package_patterns.push_back(std::move(pattern));
    }
    if (const ConfigNode* patterns = Find(*package, "patterns")) {
      CUTOVER_ASSIGN_OR_RETURN(auto list, context_.StringList(*patterns, "package.patterns"));
      for (std::string& pattern : list) spec_.package_patterns.push_back(std::move(pattern));
    }
    return Status::Ok();
  }

  Status ParseCustom() {
    const ConfigNode* custom = Find(root_, "custom");
    if (custom == nullptr || custom->IsNull()) return Status::Ok();
    CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(*custom, "custom"));
    if (const ConfigNode* defaults = Find(*custom, "deploymentSettings")) {
      CUTOVER_RETURN_IF_ERROR(CheckDeploymentDefaults(context_, *defaults));
      if (defaults->IsMap()) service_.deployment_defaults = defaults;
    }
    return Status::Ok();
  }

  Status ParseResources() {
    service_.resources = &spec_.resources;
    const ConfigNode* resources = Find(root_, "resources");
    if (resources == nullptr || resources->IsNull()) return Status::Ok();
    // Serverless also accepts a list of fragments (often `- ${file(...)}`), merged in order.
    std::vector<const ConfigNode*> fragments;
    if (resources->IsSequence()) {
      for (const NodePtr& item : resources->items) fragments.push_back(item.get());
    } else {
      fragments.push_back(resources);
    }
    for (const ConfigNode* fragment : fragments) {
      if (fragment->IsNull()) continue;
      CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(*fragment, "resources"));
      CUTOVER_RETURN_IF_ERROR(
          context_.CheckKeys(*fragment, kResourcesKeys, "in resources", "resources"));
      const ConfigNode* items = Find(*fragment, "Resources");
      if (items == nullptr || items->IsNull()) continue;
      CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(*items, "resources.Resources"));
      for (const MapEntry& entry : items->entries) {
        CUTOVER_RETURN_IF_ERROR(ParseResource(entry));
      }
    }
    return Status::Ok();
  }

  Status ParseResource(const MapEntry& entry) {
    const ConfigNode& resource = *entry.value;
    std::string what = fmt::format("resource '{}'", entry.key);
    auto [first, inserted] = resource_lines_.emplace(entry.key, entry.key_mark.line);
    if (!inserted) {
      return context_.Error(entry.key_mark, fmt::format("{} is defined twice (first at line {})",
                                                        what, first->second));
    }
    CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(resource, what));
    CUTOVER_RETURN_IF_ERROR(
        context_.CheckKeys(resource, kResourceKeys, fmt::format("in {}", what), ""));
    const ConfigNode* type = Find(resource, "Type");
    if (type == nullptr) return context_.Error(entry.key_mark, fmt::format("{} has no Type", what));
    CUTOVER_ASSIGN_OR_RETURN(std::string type_name, context_.NonEmptyString(*type, "Type"));
    if (std::find(kKeptResourceTypes.begin(), kKeptResourceTypes.end(), type_name) ==
        kKeptResourceTypes.end()) {
      context_.Notice(entry.key_mark, fmt::format("ignoring resource '{}' of type {} (cutover acts "
                                                  "on AWS::CloudWatch::Alarm and "
                                                  "AWS::CodeDeploy::DeploymentConfig)",
                                                  entry.key, type_name));
      return Status::Ok();
    }
    ResourceSpec spec;
    spec.logical_id = entry.key;
    spec.type = std::move(type_name);
    spec.where = context_.Locate(entry.key_mark);
    if (const ConfigNode* properties = Find(resource, "Properties")) {
      if (!properties->IsNull()) {
        CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(*properties, what + " Properties"));
        boost::json::value json = NodeToJson(*properties);
        spec.properties = std::move(json.as_object());
      }
    }
    spec_.resources.push_back(std::move(spec));
    return Status::Ok();
  }

  Status ParseFunctions() {
    const ConfigNode* functions = Find(root_, "functions");
    if (functions == nullptr || functions->IsNull()) return Status::Ok();
    CUTOVER_RETURN_IF_ERROR(context_.ExpectMap(*functions, "functions"));
    for (const MapEntry& entry : functions->entries) service_.function_keys.push_back(entry.key);
    for (const MapEntry& entry : functions->entries) {
      CUTOVER_ASSIGN_OR_RETURN(FunctionSpec function, ParseFunction(context_, entry, service_));
      for (const FunctionSpec& other : spec_.functions) {
        if (other.deployed_name == function.deployed_name) {
          return context_.Error(entry.key_mark,
                                fmt::format("functions '{}' and '{}' have the same name '{}'",
                                            other.key, function.key, function.deployed_name));
        }
      }
      spec_.functions.push_back(std::move(function));
    }
    return Status::Ok();
  }

  // One gateway serves every route of the service, so two routes with the same method and path
  // shape cannot both exist (API Gateway refuses them too).
  Status CheckRoutes() {
    struct First {
      int line;
      const std::string* function;
    };
    std::map<std::string, First> seen;
    for (const FunctionSpec& function : spec_.functions) {
      for (const HttpEvent& event : function.events) {
        std::string shape = RouteShape(event);
        auto [it, inserted] = seen.emplace(shape, First{event.where.line, &function.key});
        if (inserted) continue;
        return context_.Error(
            Mark{event.where.line, event.where.column},
            fmt::format("route '{} {}' of function '{}' is already declared at line {} (function "
                        "'{}')",
                        event.method, event.path, function.key, it->second.line,
                        *it->second.function));
      }
    }
    return Status::Ok();
  }

  void AddDeploymentNotices() {
    const DeploymentSettings* first = nullptr;
    for (const FunctionSpec& function : spec_.functions) {
      if (function.deployment.has_value()) {
        first = &*function.deployment;
        break;
      }
    }
    if (first == nullptr) return;
    Mark mark{first->where.line, first->where.column};
    if (std::find(spec_.plugins.begin(), spec_.plugins.end(), kCanaryPlugin) ==
        spec_.plugins.end()) {
      context_.Notice(mark, fmt::format("deploymentSettings are used but plugin {} is not listed; "
                                        "cutover applies them anyway",
                                        kCanaryPlugin));
    }
    const std::vector<std::string>& stages = first->stages;
    if (!stages.empty() && std::find(stages.begin(), stages.end(), spec_.stage) == stages.end()) {
      context_.Notice(mark, fmt::format("stage '{}' is not in custom.deploymentSettings.stages: "
                                        "functions deploy all at once",
                                        spec_.stage));
    }
  }

  ParseContext& context_;
  const ConfigNode& root_;
  const LoadOptions& options_;
  ServiceSpec spec_;
  ServiceContext service_;
  std::map<std::string, int> resource_lines_;  // every logical id (kept or not) -> its line
};

}  // namespace

Result<ServiceSpec> ParseServiceSpec(const std::string& yaml_text, const std::string& file_name,
                                     const std::filesystem::path& service_dir,
                                     const LoadOptions& options) {
  ParseContext context(file_name);
  CUTOVER_ASSIGN_OR_RETURN(NodePtr root, ParseYamlTree(yaml_text, file_name));
  VariableSources sources;
  sources.options = &options.options;
  sources.getenv = options.getenv;
  if (!sources.getenv) {
    sources.getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) return std::nullopt;
      return std::string(value);
    };
  }
  CUTOVER_RETURN_IF_ERROR(ResolveVariables(root, sources, context));
  SpecBuilder builder(context, *root, options);
  CUTOVER_ASSIGN_OR_RETURN(ServiceSpec spec, builder.Build());
  if (options.check_files) CUTOVER_RETURN_IF_ERROR(CheckEntryPoints(spec, service_dir));
  return spec;
}

Result<ServiceSpec> LoadServiceSpec(const std::filesystem::path& file, const LoadOptions& options) {
  const std::string name = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return InvalidArgument(fmt::format("{}: cannot open: {}", name, std::strerror(errno)));
  }
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (!ec && size > kMaxFileBytes) {
    return InvalidArgument(fmt::format("{}: file is larger than 10 MB", name));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return InvalidArgument(fmt::format("{}: cannot read", name));
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  return ParseServiceSpec(text.str(), name, dir, options);
}

}  // namespace cutover::config
