// Publisher: turns an uploaded package plus a resolved ServiceSpec into published versions, aliases
// and a route table, and keeps the in-memory catalogue of every function the gateway and the Invoke
// API serve.
//
// Persist, then publish: each change is one store transaction; only after it commits does the
// Publisher update its catalogue, register runtime pools and publish a new RouteTable. On start,
// Restore() rebuilds all of that from the store, so a restarted daemon serves exactly what it
// served before.
//
// Thread-safety: control loop only (the admin API runs there too). The route table it publishes is
// read by gateway workers through router::RouteTableSnapshot.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "config/service_spec.h"
#include "router/route_table.h"
#include "router/snapshot.h"
#include "runtime/runtime_service.h"
#include "store/state_store.h"

#include "alarms/engine.h"

namespace cutover::deploy {

struct PublisherSettings {
  std::filesystem::path data_dir;  // artifacts/ and code/ live here
  int default_concurrency = 10;    // instances per version when reservedConcurrency is unset
  int queue_per_instance = 10;     // wait-queue slots per allowed instance
  uint64_t random_seed = 0;        // deployment ids; 0 seeds from the OS
};

// A function as the platform serves it now.
struct FunctionState {
  std::string service;
  std::string stage;
  std::string api_name;  // the service's REST ApiName (AWS/ApiGateway metrics)
  config::FunctionSpec spec;  // as last deployed (events, deploymentSettings)
  std::map<uint32_t, store::VersionRecord> versions;
  std::optional<store::AliasRecord> alias;  // present when the function has deploymentSettings

  uint32_t latest_version() const { return versions.empty() ? 0 : versions.rbegin()->first; }
  // What an unqualified invocation or a route reaches: the alias, else the newest version.
  router::FunctionTarget ServingTarget() const;
};

struct PublishedFunction {
  std::string key;
  std::string function_name;
  uint32_t version = 0;
  bool created = false;  // false: nothing changed, the existing version stands
  std::optional<store::AliasRecord> alias;
  std::string deployment_id;  // the deployment that will shift the alias to `version`, if any
};

struct PublishReport {
  std::string service;
  std::string stage;
  std::vector<PublishedFunction> functions;
  std::vector<std::string> notices;
};

class Publisher final {
 public:
  Publisher(PublisherSettings settings, store::StateStore& store, runtime::RuntimeService& runtime,
            router::RouteTableSnapshot& routes, const Clock& clock);

  // Alarms of published services go to `engine` (may be null: alarms are then validated only).
  // Call before Restore.
  void SetAlarmEngine(alarms::AlarmEngine* engine) { alarm_engine_ = engine; }

  // Variables every function instance gets under its own (which win): the AWS SDK endpoint
  // overrides that point hook code at the admin API. Call before Restore.
  void SetPlatformEnvironment(std::map<std::string, std::string> env) {
    platform_environment_ = std::move(env);
  }
  // AWS_SESSION_TOKEN of every instance (runtime::InstanceConfig::session_token). Before Restore.
  void SetInstanceSessionToken(std::string token) { session_token_ = std::move(token); }

  // Rebuilds catalogue, runtime pools, the route table and the alarms from the store (a first
  // Sync, with the notices a start should print).
  Status Restore();

  // Brings the catalogue, the runtime pools, the route table and the alarms to what the store
  // holds: at start (Restore) and whenever the store changed under this node (etcd: another node
  // published a service, a version or a weight). Republishes the route table only when what the
  // routes reach changed. A node serves only versions it can run: a function whose routes reach a
  // version whose package is not here keeps what it served before (or is not served yet, if it is
  // new here) until the package arrives, and the package is asked for (SetArtifactWanted).
  Status Sync();

  // In a fleet: `wanted` is called (on every Sync) with the SHA-256 of each package a stored
  // version needs and this node lacks; whoever fetches it hands it to PutArtifact and calls Sync.
  // Unset (one node), every stored version is taken to be runnable. Call before Restore.
  void SetArtifactWanted(std::function<void(const std::string& sha256)> wanted) {
    artifact_wanted_ = std::move(wanted);
  }

  bool HasArtifact(const std::string& sha256) const;
  // The package stored under `sha256`, as uploaded (what a peer node fetches). NotFound when this
  // node does not have it.
  Result<std::string> ReadArtifact(const std::string& sha256) const;
  // Stores a package under its SHA-256 after checking that `bytes` hash to it. Returns true when it
  // was new. InvalidArgument on a hash mismatch or an archive that does not unpack.
  Result<bool> PutArtifact(const std::string& sha256, const std::string& bytes);

  // Publishes a service from a stored package. Errors: NotFound (no such artifact), InvalidArgument
  // (an entry point missing from the package), AlreadyExists (a route collides with another
  // service's).
  Result<PublishReport> PublishService(const config::ServiceSpec& spec,
                                       const std::string& code_sha256);

  // Sets an alias' weights by hand (the admin API). FailedPrecondition while a deployment is
  // shifting that alias: stop it first.
  Result<store::AliasRecord> SetAlias(const std::string& function_name, const std::string& alias,
                                      uint32_t primary, uint32_t additional, double weight);

  // Persist, then publish, for the deployment controller: runs `write` and, when `alias` is set,
  // PutAlias in one store transaction; only after it commits does the catalogue take the alias
  // and a new route table go out. Nothing changes when the transaction fails.
  Status CommitAlias(const std::optional<store::AliasRecord>& alias,
                     const std::function<Status(store::StoreTxn&)>& write);

  // The catalogue. References and pointers into it are valid until the next PublishService,
  // SetAlias or Restore: never hold one across a co_await.
  const std::map<std::string, FunctionState>& functions() const { return functions_; }
  const FunctionState* FindFunction(const std::string& function_name) const;
  std::filesystem::path CodeDir(const std::string& sha256) const;

 private:
  // The configuration that makes a version (Lambda's: code + runtime, handler, memory, timeout,
  // environment, layers, concurrency) as canonical JSON; its SHA-256 decides whether to publish.
  static std::string VersionConfigJson(const config::FunctionSpec& spec);
  runtime::InstanceConfig InstanceConfigFor(const store::VersionRecord& version,
                                            const config::FunctionSpec& spec) const;
  // Whether this node has the package `version` runs from (always, outside a fleet).
  bool CanRun(const store::VersionRecord& version) const;
  // Registers a version's pool with the runtime once; `spec` null: parsed from the version record.
  void RegisterVersion(const store::VersionRecord& version, const config::FunctionSpec* spec);
  // Builds the route table for every function in `functions`.
  Result<std::shared_ptr<const router::RouteTable>> BuildRoutes(
      const std::map<std::string, FunctionState>& functions) const;

  PublisherSettings settings_;
  store::StateStore& store_;
  runtime::RuntimeService& runtime_;
  router::RouteTableSnapshot& routes_;
  const Clock& clock_;
  std::map<std::string, FunctionState> functions_;  // by deployed name
  alarms::AlarmEngine* alarm_engine_ = nullptr;
  std::map<std::string, std::string> platform_environment_;
  std::string session_token_;
  Random random_;
  std::function<void(const std::string&)> artifact_wanted_;
  std::set<std::string> wanted_;                // packages asked for and not here yet
  std::set<runtime::VersionKey> registered_;    // pools handed to the runtime
  // Each service's spec as the store held it at the last Sync or publish: what changed since.
  std::map<std::pair<std::string, std::string>, std::string> synced_specs_;
};

// The AWS::CloudWatch::Alarm resources of `spec`, validated (InvalidArgument with file:line:col),
// with the lint warnings and notes for them appended to `notices`.
Result<std::vector<alarms::AlarmSpec>> ParseServiceAlarms(const config::ServiceSpec& spec,
                                                          std::vector<std::string>* notices);

// "website asks for PHP 7.4 (php-74-fpm); this machine runs PHP 8.2.26, which serves it" when the
// major.minor of `asked` and `installed` differ; nullopt when they agree, or either is unknown.
std::optional<std::string> PhpVersionNotice(const config::FunctionSpec& function,
                                            std::string_view installed);

// Parses the version configuration JSON stored with a version back into the fields InstanceConfig
// needs.
Result<config::FunctionSpec> FunctionSpecFromVersionConfig(const std::string& config_json);

}  // namespace cutover::deploy
