#include "deploy/publisher.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <system_error>

#include "common/ids.h"
#include "common/sha256.h"
#include "config/loader.h"
#include "deploy/deployment.h"
#include "deploy/triggers.h"
#include "package/package.h"

namespace cutover::deploy {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

runtime::RuntimeFamily FamilyOf(config::RuntimeKind kind) {
  switch (kind) {
    case config::RuntimeKind::kProvided:
      return runtime::RuntimeFamily::kProvided;
    case config::RuntimeKind::kNode:
      return runtime::RuntimeFamily::kNode;
    case config::RuntimeKind::kPython:
      return runtime::RuntimeFamily::kPython;
    case config::RuntimeKind::kPhpFpm:
      return runtime::RuntimeFamily::kPhpFpm;
    case config::RuntimeKind::kPhpFunction:
      return runtime::RuntimeFamily::kPhpFunction;
  }
  return runtime::RuntimeFamily::kProvided;
}

std::optional<config::RuntimeKind> KindFromName(std::string_view name) {
  for (auto k :
       {config::RuntimeKind::kProvided, config::RuntimeKind::kNode, config::RuntimeKind::kPython,
        config::RuntimeKind::kPhpFpm, config::RuntimeKind::kPhpFunction}) {
    if (config::RuntimeKindName(k) == name) return k;
  }
  return std::nullopt;
}

router::ApiKind ToRouterKind(config::ApiKind kind) {
  return kind == config::ApiKind::kRest ? router::ApiKind::kRest : router::ApiKind::kHttpApi;
}

Status WriteFileAtomically(const fs::path& path, const std::string& bytes) {
  fs::path tmp = path;
  tmp += ".tmp";
  std::error_code ec;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Internal("cannot write " + tmp.string());
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    // Small files sit in the stream's buffer until close: a full disk shows only there, and an
    // unchecked close would rename a truncated file into place.
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      return ResourceExhausted("cannot write " + tmp.string() +
                               " (disk full or over a size limit)");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) return Internal(fmt::format("cannot rename {}: {}", tmp.string(), ec.message()));
  return Status::Ok();
}

bool IsHexSha(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

router::FunctionTarget FunctionState::ServingTarget() const {
  router::FunctionTarget t;
  t.service = service;
  t.stage = stage;
  t.api_name = api_name;
  t.function_key = spec.key;
  t.function_name = spec.deployed_name;
  t.timeout_ms = spec.timeout_seconds * 1000;
  if (alias) {
    t.is_alias = true;
    t.qualifier = alias->name;
    t.primary_version = alias->primary_version;
    t.additional_version = alias->additional_version;
    t.additional_weight = alias->additional_weight;
  } else {
    t.qualifier = std::to_string(latest_version());
    t.primary_version = latest_version();
  }
  return t;
}

Publisher::Publisher(PublisherSettings settings, store::StateStore& store,
                     runtime::RuntimeService& runtime, router::RouteTableSnapshot& routes,
                     const Clock& clock)
    : settings_(std::move(settings)),
      store_(store),
      runtime_(runtime),
      routes_(routes),
      clock_(clock),
      random_(settings_.random_seed != 0 ? Random(settings_.random_seed) : Random::FromEntropy()) {}

fs::path Publisher::CodeDir(const std::string& sha256) const {
  return settings_.data_dir / "code" / sha256;
}

std::string Publisher::VersionConfigJson(const config::FunctionSpec& spec) {
  // Key order is fixed by construction, so equal configurations give equal text and hash.
  json::object o;
  o["key"] = spec.key;
  o["function_name"] = spec.deployed_name;
  o["runtime"] = spec.runtime;
  o["kind"] = config::RuntimeKindName(spec.kind);
  o["php_version"] = spec.php_version;
  o["handler"] = spec.handler;
  o["timeout"] = spec.timeout_seconds;
  o["memory_size"] = spec.memory_mb;
  json::object env;
  for (const auto& [k, v] : spec.environment) env[k] = v;  // std::map: sorted
  o["environment"] = std::move(env);
  json::array layers;
  for (const auto& l : spec.layers) layers.emplace_back(l);
  o["layers"] = std::move(layers);
  if (spec.reserved_concurrency) o["reserved_concurrency"] = *spec.reserved_concurrency;
  return json::serialize(o);
}

Result<config::FunctionSpec> FunctionSpecFromVersionConfig(const std::string& config_json) {
  boost::system::error_code ec;
  json::value v = json::parse(config_json, ec);
  if (ec || !v.is_object()) return InvalidArgument("version configuration is not a JSON object");
  const json::object& o = v.as_object();
  config::FunctionSpec spec;
  auto str = [&](const char* key) -> std::string {
    const json::value* f = o.if_contains(key);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  auto num = [&](const char* key, int def) -> int {
    const json::value* f = o.if_contains(key);
    return f && f->is_int64() ? static_cast<int>(f->as_int64()) : def;
  };
  spec.key = str("key");
  spec.deployed_name = str("function_name");
  spec.runtime = str("runtime");
  auto kind = KindFromName(str("kind"));
  if (!kind) return InvalidArgument("version configuration has an unknown runtime kind");
  spec.kind = *kind;
  spec.php_version = str("php_version");
  spec.handler = str("handler");
  spec.timeout_seconds = num("timeout", 6);
  spec.memory_mb = num("memory_size", 1024);
  if (const json::value* env = o.if_contains("environment"); env && env->is_object()) {
    for (const auto& [k, val] : env->as_object()) {
      if (val.is_string()) spec.environment[std::string(k)] = std::string(val.as_string());
    }
  }
  if (const json::value* layers = o.if_contains("layers"); layers && layers->is_array()) {
    for (const auto& l : layers->as_array()) {
      if (l.is_string()) spec.layers.emplace_back(l.as_string());
    }
  }
  if (const json::value* rc = o.if_contains("reserved_concurrency"); rc && rc->is_int64()) {
    spec.reserved_concurrency = static_cast<int>(rc->as_int64());
  }
  return spec;
}

runtime::InstanceConfig Publisher::InstanceConfigFor(const store::VersionRecord& version,
                                                     const config::FunctionSpec& spec) const {
  runtime::InstanceConfig c;
  c.key = {version.function_name, version.version};
  c.family = FamilyOf(spec.kind);
  c.runtime_name = spec.runtime;
  c.handler = spec.handler;
  c.task_root = CodeDir(version.code_sha256);
  c.timeout_ms = spec.timeout_seconds * 1000;
  c.memory_mb = spec.memory_mb;
  c.environment = platform_environment_;
  for (const auto& [name, value] : spec.environment) c.environment[name] = value;
  c.session_token = session_token_;
  // AWS's default account concurrency limit caps what one version may run at once.
  constexpr int kMaxConcurrency = 1000;
  c.max_concurrency =
      std::min(spec.reserved_concurrency.value_or(settings_.default_concurrency), kMaxConcurrency);
  c.max_queue = std::max(1, c.max_concurrency) * settings_.queue_per_instance;
  return c;
}

const FunctionState* Publisher::FindFunction(const std::string& function_name) const {
  auto it = functions_.find(function_name);
  return it == functions_.end() ? nullptr : &it->second;
}

bool Publisher::HasArtifact(const std::string& sha256) const {
  if (!IsHexSha(sha256)) return false;
  std::error_code ec;
  return fs::is_directory(CodeDir(sha256), ec);
}

Result<std::string> Publisher::ReadArtifact(const std::string& sha256) const {
  if (!IsHexSha(sha256)) return InvalidArgument("artifact id must be a lowercase hex SHA-256");
  const fs::path archive = settings_.data_dir / "artifacts" / (sha256 + ".tar.gz");
  std::ifstream in(archive, std::ios::binary);
  if (!HasArtifact(sha256) || !in) {
    return NotFound(fmt::format("package {} is not on this node", sha256));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Internal(fmt::format("cannot read {}", archive.string()));
  return bytes;
}

Result<bool> Publisher::PutArtifact(const std::string& sha256, const std::string& bytes) {
  if (!IsHexSha(sha256)) return InvalidArgument("artifact id must be a lowercase hex SHA-256");
  if (HasArtifact(sha256)) return false;
  std::string actual = Sha256Hex(bytes);
  if (actual != sha256) {
    return InvalidArgument(fmt::format(
        "the uploaded bytes hash to {}, not {}: the upload was corrupted", actual, sha256));
  }
  std::error_code ec;
  fs::create_directories(settings_.data_dir / "artifacts", ec);
  fs::create_directories(settings_.data_dir / "code", ec);
  fs::path archive = settings_.data_dir / "artifacts" / (sha256 + ".tar.gz");
  if (Status written = WriteFileAtomically(archive, bytes); !written.ok()) {
    spdlog::error("package {} not stored: {}", sha256.substr(0, 12), written.message());
    return written;
  }
  Status st = package::ExtractPackage(bytes, CodeDir(sha256));
  if (!st.ok()) {
    fs::remove(archive, ec);
    spdlog::error("package {} not stored: it does not unpack: {}", sha256.substr(0, 12),
                  st.message());
    return st.WithPrefix("the package does not unpack");
  }
  spdlog::info("stored package {} ({} bytes)", sha256.substr(0, 12), bytes.size());
  return true;
}

Result<std::shared_ptr<const router::RouteTable>> Publisher::BuildRoutes(
    const std::map<std::string, FunctionState>& functions) const {
  std::vector<router::RouteSpec> routes;
  for (const auto& [name, state] : functions) {
    if (state.latest_version() == 0) continue;
    auto target = std::make_shared<const router::FunctionTarget>(state.ServingTarget());
    for (const auto& ev : state.spec.events) {
      routes.push_back({ToRouterKind(ev.kind), ev.method, ev.path, target});
    }
  }
  return router::RouteTable::Build(std::move(routes));
}

std::optional<std::string> PhpVersionNotice(const config::FunctionSpec& function,
                                            std::string_view installed) {
  if (function.php_version.empty() || installed.empty()) return std::nullopt;
  // "8.2.26" -> "8.2"
  std::string_view major_minor = installed;
  if (size_t dot = installed.find('.'); dot != std::string_view::npos) {
    size_t second = installed.find('.', dot + 1);
    major_minor = installed.substr(0, second);
  }
  if (major_minor == function.php_version) return std::nullopt;
  return fmt::format("{} asks for PHP {} ({}); this machine runs PHP {}, which serves it",
                     function.key, function.php_version, function.runtime, installed);
}

Result<std::vector<alarms::AlarmSpec>> ParseServiceAlarms(const config::ServiceSpec& spec,
                                                          std::vector<std::string>* notices) {
  alarms::LintContext lint;
  lint.api_names = {spec.api_name};
  lint.stages = {spec.stage, "$default"};
  for (const auto& fn : spec.functions) {
    lint.function_names.push_back(fn.deployed_name);
    if (fn.deployment) lint.aliases.push_back(fn.deployment->alias);
  }
  std::vector<alarms::AlarmSpec> out;
  for (const auto& resource : spec.resources) {
    if (resource.type != "AWS::CloudWatch::Alarm") continue;
    CUTOVER_ASSIGN_OR_RETURN(alarms::AlarmSpec alarm,
                             alarms::ParseAlarmSpec(resource, {spec.service, spec.stage}));
    if (notices) {
      for (const auto& note : alarm.notes) notices->push_back(note);
      for (auto& warning : alarms::LintAlarm(alarm, lint)) notices->push_back(std::move(warning));
    }
    out.push_back(std::move(alarm));
  }
  return out;
}

namespace {

bool SameAlias(const std::optional<store::AliasRecord>& a,
               const std::optional<store::AliasRecord>& b) {
  if (!a || !b) return a.has_value() == b.has_value();
  return a->name == b->name && a->primary_version == b->primary_version &&
         a->additional_version == b->additional_version &&
         a->additional_weight == b->additional_weight;
}

}  // namespace

Status Publisher::Restore() {
  CUTOVER_RETURN_IF_ERROR(Sync().WithPrefix("restoring state from the store"));
  for (const auto& [name, state] : functions_) {
    if (auto notice = PhpVersionNotice(state.spec, runtime_.PhpVersion())) {
      spdlog::warn("notice: {} ({})", *notice, name);
    }
  }
  spdlog::info("restored {} function(s) from the store", functions_.size());
  return Status::Ok();
}

bool Publisher::CanRun(const store::VersionRecord& version) const {
  return !artifact_wanted_ || HasArtifact(version.code_sha256);
}

void Publisher::RegisterVersion(const store::VersionRecord& version,
                                const config::FunctionSpec* spec) {
  runtime::VersionKey key{version.function_name, version.version};
  if (registered_.count(key)) return;
  if (spec == nullptr) {
    auto parsed = FunctionSpecFromVersionConfig(version.config_json);
    if (!parsed.ok()) {
      spdlog::error("cannot serve {} version {}: {}", version.function_name, version.version,
                    parsed.status().ToString());
      return;
    }
    runtime_.Register(InstanceConfigFor(version, *parsed));
  } else {
    runtime_.Register(InstanceConfigFor(version, *spec));
  }
  registered_.insert(std::move(key));
}

Status Publisher::Sync() {
  std::map<std::string, FunctionState> stored;
  std::map<std::pair<std::string, std::string>, std::string> specs;  // as the store holds them
  std::vector<config::ServiceSpec> changed_services;
  Status st = store_.Read([&](store::StoreTxn& txn) -> Status {
    // A store may run this again (etcd's optimistic reads): only the last run counts.
    stored.clear();
    specs.clear();
    changed_services.clear();
    CUTOVER_ASSIGN_OR_RETURN(auto services, txn.ListServices());
    for (const auto& svc : services) {
      // One unreadable record must not keep every other service from being served: skip it, loudly.
      boost::system::error_code ec;
      json::value v = json::parse(svc.spec_json, ec);
      auto parsed =
          ec ? Result<config::ServiceSpec>(Internal("not JSON")) : config::ServiceSpecFromJson(v);
      if (!parsed.ok()) {
        if (!synced_specs_.count({svc.name, svc.stage}) ||
            synced_specs_.at({svc.name, svc.stage}) != svc.spec_json) {
          spdlog::error("cannot serve service {} ({}): {}; it is not served until redeployed",
                        svc.name, svc.stage, parsed.status().ToString());
        }
        specs[{svc.name, svc.stage}] = svc.spec_json;
        continue;
      }
      config::ServiceSpec spec = std::move(parsed).value();
      auto seen = synced_specs_.find({svc.name, svc.stage});
      if (seen == synced_specs_.end() || seen->second != svc.spec_json) {
        changed_services.push_back(spec);
      }
      specs[{svc.name, svc.stage}] = svc.spec_json;
      for (auto& fn : spec.functions) {
        FunctionState state;
        state.service = spec.service;
        state.stage = spec.stage;
        state.api_name = spec.api_name;
        CUTOVER_ASSIGN_OR_RETURN(auto versions, txn.ListVersions(fn.deployed_name));
        for (auto& ver : versions) state.versions[ver.version] = std::move(ver);
        if (fn.deployment) {
          CUTOVER_ASSIGN_OR_RETURN(state.alias,
                                   txn.GetAlias(fn.deployed_name, fn.deployment->alias));
        }
        std::string name = fn.deployed_name;
        state.spec = std::move(fn);
        stored[name] = std::move(state);
      }
    }
    return Status::Ok();
  });
  CUTOVER_RETURN_IF_ERROR(st);

  // What this node can serve: a function whose routes reach a version whose package is not here
  // keeps what it served before (or waits, if it is new here) until the package arrives.
  std::map<std::string, FunctionState> next;
  std::set<std::string> missing;
  for (auto& [name, state] : stored) {
    std::set<uint32_t> reached;
    if (state.alias) {
      reached = {state.alias->primary_version, state.alias->additional_version};
    } else if (!state.versions.empty()) {
      reached = {state.latest_version()};
    }
    bool runnable = true;
    for (const auto& [n, ver] : state.versions) {
      if (CanRun(ver)) continue;
      missing.insert(ver.code_sha256);
      if (reached.count(n)) runnable = false;
    }
    if (runnable) {
      next[name] = std::move(state);
    } else if (auto old = functions_.find(name); old != functions_.end()) {
      next[name] = old->second;
    }
  }
  for (const auto& sha : missing) {
    if (wanted_.insert(sha).second) {
      spdlog::info("package {} is not on this node yet: fetching it from a peer", sha.substr(0, 12));
    }
    artifact_wanted_(sha);  // CanRun said no only when there is someone to ask
  }
  for (auto it = wanted_.begin(); it != wanted_.end();) {
    it = missing.count(*it) ? std::next(it) : wanted_.erase(it);
  }

  // Nothing moved (the echo of this node's own write, or a change to what routes do not show):
  // keep the table the gateway has.
  bool changed = functions_.size() != next.size();
  for (const auto& [name, state] : next) {
    auto old = functions_.find(name);
    if (old == functions_.end() || !SameAlias(old->second.alias, state.alias) ||
        old->second.versions.size() != state.versions.size() ||
        old->second.latest_version() != state.latest_version() ||
        old->second.service != state.service || old->second.stage != state.stage) {
      changed = true;
    }
    // A package that arrived may make an older version invocable (`function:N`) too.
    for (const auto& [n, ver] : state.versions) {
      if (CanRun(ver)) RegisterVersion(ver, nullptr);
    }
  }
  changed = changed || !changed_services.empty();
  synced_specs_ = std::move(specs);
  if (!changed) return Status::Ok();

  for (const auto& [name, state] : next) {
    auto old = functions_.find(name);
    if (old != functions_.end() && old->second.alias && state.alias &&
        !SameAlias(old->second.alias, state.alias)) {
      spdlog::info("alias {}:{} is now {} + {} at {:.3f}", name, state.alias->name,
                   state.alias->primary_version, state.alias->additional_version,
                   state.alias->additional_weight);
    }
  }
  for (const auto& [name, old_state] : functions_) {
    if (stored.count(name)) continue;
    // Dropped from its service: no route reaches it any more; stop its instances.
    for (const auto& [n, ver] : old_state.versions) {
      runtime_.Retire({name, n});
      registered_.erase({name, n});
    }
  }

  auto table = BuildRoutes(next);
  if (!table.ok()) {
    // Stored services whose routes collide (hand-edited state, a bug, or two nodes deploying at
    // once): serve the ones that fit, service by service, and say loudly which were left out.
    std::map<std::string, FunctionState> kept;
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> by_service;
    for (const auto& [name, state] : next) by_service[{state.service, state.stage}].push_back(name);
    for (const auto& [svc, names] : by_service) {
      auto trial = kept;
      for (const auto& n : names) trial[n] = next.at(n);
      if (BuildRoutes(trial).ok()) {
        kept = std::move(trial);
      } else {
        spdlog::error(
            "not serving service {} ({}): its routes collide with another service's; "
            "redeploy one of them",
            svc.first, svc.second);
      }
    }
    next = std::move(kept);
    table = BuildRoutes(next);
    CUTOVER_CHECK(table.ok());
  }
  functions_ = std::move(next);
  routes_.Publish(std::move(table).value());
  if (alarm_engine_ != nullptr) {
    for (const auto& spec : changed_services) {
      auto service_alarms = ParseServiceAlarms(spec, nullptr);
      if (service_alarms.ok()) {
        alarm_engine_->SetServiceAlarms(spec.service, spec.stage, std::move(*service_alarms));
      } else {
        spdlog::error("service {} ({}): its alarms cannot be restored: {}", spec.service,
                      spec.stage, service_alarms.status().ToString());
      }
    }
  }
  return Status::Ok();
}

Result<PublishReport> Publisher::PublishService(const config::ServiceSpec& spec,
                                                const std::string& code_sha256) {
  if (!HasArtifact(code_sha256)) {
    return NotFound(fmt::format("package {} has not been uploaded", code_sha256));
  }
  CUTOVER_RETURN_IF_ERROR(config::CheckEntryPoints(spec, CodeDir(code_sha256)));
  std::vector<std::string> alarm_notices;
  CUTOVER_ASSIGN_OR_RETURN(std::vector<alarms::AlarmSpec> service_alarms,
                           ParseServiceAlarms(spec, &alarm_notices));
  if (alarm_engine_ != nullptr) {
    for (const auto& alarm : service_alarms) {
      CUTOVER_RETURN_IF_ERROR(alarm_engine_->CheckSource(alarm));
    }
  }
  std::map<std::string, std::string> alarm_names;  // logical id → AlarmName
  for (const auto& alarm : service_alarms) alarm_names[alarm.logical_id] = alarm.alarm_name;
  // Every deployment configuration and trigger list must hold before anything is published, not
  // only those of the functions that change this time.
  for (const auto& fn : spec.functions) {
    if (!fn.deployment) continue;
    CUTOVER_RETURN_IF_ERROR(ResolveTrafficPlan(*fn.deployment, spec.resources).status());
    auto triggers = ParseTriggerConfigurations(fn.deployment->trigger_configurations);
    if (!triggers.ok()) {
      const auto& where = fn.deployment->where;
      return InvalidArgument(fmt::format("{}:{}:{}: triggerConfigurations of function '{}': {}",
                                         where.file, where.line, where.column, fn.key,
                                         triggers.status().message()));
    }
  }
  const int64_t now_ms = ToEpochMillis(clock_.Now());

  // The catalogue as it will be once this service is replaced.
  std::map<std::string, FunctionState> next = functions_;
  for (auto it = next.begin(); it != next.end();) {
    if (it->second.service == spec.service && it->second.stage == spec.stage) {
      it = next.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& fn : spec.functions) {
    if (next.count(fn.deployed_name)) {
      return AlreadyExists(fmt::format("function name {} is already used by service {} ({})",
                                       fn.deployed_name, next[fn.deployed_name].service,
                                       next[fn.deployed_name].stage));
    }
  }

  PublishReport report;
  report.service = spec.service;
  report.stage = spec.stage;
  for (const auto& fn : spec.functions) {
    if (auto notice = PhpVersionNotice(fn, runtime_.PhpVersion())) {
      report.notices.push_back(std::move(*notice));
    }
  }
  std::shared_ptr<const router::RouteTable> table;
  const std::string stored_spec_json = json::serialize(config::ToJson(spec));

  Status st = store_.Write([&](store::StoreTxn& txn) -> Status {
    // A store may run this again after another node's write won (state_store.h): only the last
    // run's functions are what was committed.
    report.functions.clear();
    for (const auto& fn : spec.functions) {
      FunctionState state;
      state.service = spec.service;
      state.stage = spec.stage;
      state.api_name = spec.api_name;
      state.spec = fn;
      CUTOVER_ASSIGN_OR_RETURN(auto versions, txn.ListVersions(fn.deployed_name));
      for (auto& ver : versions) state.versions[ver.version] = std::move(ver);

      std::string config_json = VersionConfigJson(fn);
      std::string config_sha = Sha256Hex(config_json);
      PublishedFunction pub{fn.key, fn.deployed_name, state.latest_version(), false, std::nullopt};
      const store::VersionRecord* latest =
          state.versions.empty() ? nullptr : &state.versions.rbegin()->second;
      // Lambda's PublishVersion rule: nothing changed, no new version.
      if (latest == nullptr || latest->code_sha256 != code_sha256 ||
          latest->config_sha256 != config_sha) {
        store::VersionRecord rec{fn.deployed_name, state.latest_version() + 1,
                                 spec.service,     spec.stage,
                                 code_sha256,      config_sha,
                                 config_json,      now_ms};
        CUTOVER_RETURN_IF_ERROR(txn.InsertVersion(rec));
        state.versions[rec.version] = rec;
        pub.version = rec.version;
        pub.created = true;
      }
      if (fn.deployment) {
        CUTOVER_ASSIGN_OR_RETURN(auto alias, txn.GetAlias(fn.deployed_name, fn.deployment->alias));
        // The first version creates the alias at it: CodeDeploy needs a version to shift from.
        // An unchanged function leaves its alias alone, weights included (CloudFormation does not
        // touch an alias whose version did not change). A new version of a function that shifts
        // gradually in this stage gets a deployment, which the controller runs; in other stages
        // the alias moves at once.
        const bool moves =
            pub.created &&
            (alias && (alias->primary_version != pub.version || alias->additional_version != 0));
        if (!alias) {
          alias = store::AliasRecord{
              fn.deployed_name, fn.deployment->alias, pub.version, 0, 0.0, now_ms};
          CUTOVER_RETURN_IF_ERROR(txn.PutAlias(*alias));
        } else if (moves && ShiftsGradually(spec, fn)) {
          CUTOVER_ASSIGN_OR_RETURN(auto active, txn.ListActiveDeployments());
          for (const auto& other : active) {
            if (other.function_name != fn.deployed_name || other.alias != alias->name) continue;
            return FailedPrecondition(fmt::format(
                "{}:{} is being deployed by {} ({}); wait for it to end, or stop it with "
                "`cutover stop {}` (leaves the weights) or `cutover stop {} --rollback`",
                fn.deployed_name, alias->name, other.id, other.status, other.id, other.id));
          }
          CUTOVER_ASSIGN_OR_RETURN(Deployment deployment,
                                   PlanDeployment(spec, fn, *alias, pub.version, alarm_names,
                                                  now_ms, NewDeploymentId(random_)));
          deployment.last_event_seq = 1;
          CUTOVER_ASSIGN_OR_RETURN(auto taken, txn.GetDeployment(deployment.id));
          if (taken) return Internal("deployment id " + deployment.id + " is taken; deploy again");
          CUTOVER_RETURN_IF_ERROR(txn.PutDeployment(EncodeDeployment(deployment)));
          CUTOVER_RETURN_IF_ERROR(txn.AppendDeploymentEvent(
              {deployment.id, 1, now_ms, "DeploymentCreated",
               json::serialize(
                   json::object{{"currentVersion", deployment.current_version},
                                {"targetVersion", deployment.target_version},
                                {"deploymentConfigName", deployment.plan.config_name}})}));
          pub.deployment_id = deployment.id;
        } else if (moves) {
          alias = store::AliasRecord{
              fn.deployed_name, fn.deployment->alias, pub.version, 0, 0.0, now_ms};
          CUTOVER_RETURN_IF_ERROR(txn.PutAlias(*alias));
        }
        state.alias = alias;
        pub.alias = alias;
      }
      report.functions.push_back(pub);
      next[fn.deployed_name] = std::move(state);
    }
    auto built = BuildRoutes(next);
    if (!built.ok()) return built.status();
    table = std::move(built).value();
    return txn.PutService({spec.service, spec.stage, stored_spec_json, code_sha256, now_ms});
  });
  if (!st.ok()) {
    // The user sees the error at the CLI; the operator sees it here, with nothing published. A
    // store that cannot write (locked, full, read-only) is the operator's problem: an error.
    const bool store_failed = st.code() == StatusCode::kUnavailable ||
                              st.code() == StatusCode::kResourceExhausted ||
                              st.code() == StatusCode::kInternal;
    spdlog::log(store_failed ? spdlog::level::err : spdlog::level::warn,
                "{} ({}): deploy refused, nothing published: {}", spec.service, spec.stage,
                st.ToString());
    return st;
  }

  // Committed: now make it real.
  for (const auto& pub : report.functions) {
    const FunctionState& state = next[pub.function_name];
    if (pub.created) {
      RegisterVersion(state.versions.at(pub.version), &state.spec);
    }
  }
  for (const auto& [name, old_state] : functions_) {
    if (next.count(name)) continue;
    // Dropped from serverless.yml: no route reaches it any more; stop its instances.
    for (const auto& [n, ver] : old_state.versions) {
      runtime_.Retire({name, n});
      registered_.erase({name, n});
    }
  }
  functions_ = std::move(next);
  synced_specs_[{spec.service, spec.stage}] = stored_spec_json;
  routes_.Publish(std::move(table));
  for (auto& notice : alarm_notices) report.notices.push_back(std::move(notice));
  if (alarm_engine_ != nullptr) {
    alarm_engine_->SetServiceAlarms(spec.service, spec.stage, std::move(service_alarms));
  }
  for (const auto& pub : report.functions) {
    spdlog::info("{}: {} version {}{}{}", spec.service, pub.function_name, pub.version,
                 pub.created ? " published" : " unchanged",
                 pub.deployment_id.empty() ? "" : ", deployment " + pub.deployment_id);
  }
  return report;
}

Result<store::AliasRecord> Publisher::SetAlias(const std::string& function_name,
                                               const std::string& alias_name, uint32_t primary,
                                               uint32_t additional, double weight) {
  auto it = functions_.find(function_name);
  if (it == functions_.end())
    return NotFound(fmt::format("function {} does not exist", function_name));
  FunctionState& state = it->second;
  if (!state.alias || state.alias->name != alias_name) {
    return NotFound(fmt::format("function {} has no alias {}", function_name, alias_name));
  }
  if (!state.versions.count(primary)) {
    return InvalidArgument(fmt::format("{} has no version {}", function_name, primary));
  }
  if (additional != 0 && !state.versions.count(additional)) {
    return InvalidArgument(fmt::format("{} has no version {}", function_name, additional));
  }
  if (additional == primary && additional != 0) {
    return InvalidArgument("the additional version must differ from the primary version");
  }
  if (!(weight >= 0.0 && weight <= 1.0)) {
    return InvalidArgument("additional_weight must be within [0, 1]");
  }
  if (additional == 0) weight = 0.0;
  store::AliasRecord rec{function_name, alias_name, primary,
                         additional,    weight,     ToEpochMillis(clock_.Now())};
  CUTOVER_RETURN_IF_ERROR(CommitAlias(rec, [&](store::StoreTxn& txn) -> Status {
    CUTOVER_ASSIGN_OR_RETURN(auto active, txn.ListActiveDeployments());
    for (const auto& d : active) {
      if (d.function_name == function_name && d.alias == alias_name) {
        return FailedPrecondition(
            fmt::format("{}:{} is being deployed by {}; stop it first (`cutover stop {}`)",
                        function_name, alias_name, d.id, d.id));
      }
    }
    return Status::Ok();
  }));
  return rec;
}


Status Publisher::CommitAlias(const std::optional<store::AliasRecord>& alias,
                              const std::function<Status(store::StoreTxn&)>& write) {
  FunctionState* state = nullptr;
  if (alias) {
    auto it = functions_.find(alias->function_name);
    if (it == functions_.end() || !it->second.alias || it->second.alias->name != alias->name) {
      return NotFound(
          fmt::format("function {} has no alias {}", alias->function_name, alias->name));
    }
    state = &it->second;
  }
  CUTOVER_RETURN_IF_ERROR(store_.Write([&](store::StoreTxn& txn) -> Status {
    CUTOVER_RETURN_IF_ERROR(write(txn));
    return alias ? txn.PutAlias(*alias) : Status::Ok();
  }));
  if (state == nullptr) return Status::Ok();
  state->alias = alias;
  auto table = BuildRoutes(functions_);
  CUTOVER_CHECK(table.ok());  // only weights changed; the routes built before
  routes_.Publish(std::move(table).value());
  spdlog::info("alias {}:{} → {} + {} at {:.3f}", alias->function_name, alias->name,
               alias->primary_version, alias->additional_version, alias->additional_weight);
  return Status::Ok();
}

}  // namespace cutover::deploy
