// serverless.yml → ServiceSpec: the YAML tree, variable resolution (`${self:…}`, `${opt:…}`,
// `${env:…}`, `${sls:stage}`, `${bref:…}`, nesting, defaults) and validation.
//
// Invariants beyond "no crash, no leak, no UB": every error carries the loader's
// "FILE:LINE:COL: " prefix (the CLI prints it as is), and an accepted spec survives the JSON
// form the CLI sends to the daemon (ToJson → ServiceSpecFromJson → ToJson is the identity).
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>

#include "config/loader.h"
#include "config/service_spec.h"
#include "fuzz_util.h"

namespace cutover::fuzz {
namespace {

const config::LoadOptions& Options() {
  static const config::LoadOptions* options = [] {
    auto* o = new config::LoadOptions;
    o->options = {{"stage", "prod"}, {"region", "eu-west-1"}, {"empty", ""}};
    // A fixed environment, so a run does not depend on the machine's.
    o->getenv = [](const std::string& name) -> std::optional<std::string> {
      static const std::map<std::string, std::string> env = {
          {"HOME", "/home/fuzz"}, {"STAGE", "staging"}, {"EMPTY", ""}, {"NUM", "42"}};
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    o->check_files = false;
    return o;
  }();
  return *options;
}

}  // namespace
}  // namespace cutover::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cutover;
  const std::string text(fuzz::AsView(data, size));
  Result<config::ServiceSpec> spec =
      config::ParseServiceSpec(text, "serverless.yml", "/nonexistent-service-dir", fuzz::Options());
  if (!spec.ok()) {
    const std::string& message = spec.status().message();
    CUTOVER_FUZZ_CHECK(message.starts_with("serverless.yml:"), message);
    return 0;
  }
  const boost::json::value json = config::ToJson(*spec);
  Result<config::ServiceSpec> back = config::ServiceSpecFromJson(json);
  CUTOVER_FUZZ_CHECK(back.ok(), back.status().ToString());
  CUTOVER_FUZZ_CHECK(config::ToJson(*back) == json, boost::json::serialize(json));
  return 0;
}
