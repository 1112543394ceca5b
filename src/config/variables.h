// Serverless variable resolution (`${source:address, default}`) over a ConfigNode tree, in place.
//
// Internal to the config module; called by the loader before it reads any value. Sources:
//   self:a.b.0    another value of the same file (dotted map keys, list indexes)
//   opt:NAME      a command-line option (LoadOptions::options)
//   env:NAME      an environment variable
//   sls:stage     the resolved stage: --stage, else provider.stage, else "dev"
//   bref:layer.X  a Bref layer (php-74-fpm, php-82, console, ...), resolved to BrefLayerMarker(X)
// References nest (`${self:custom.${opt:stage}}`, `${opt:stage, ${self:provider.stage}}`), fall
// back to defaults in order ('x', "x", 5, or another reference) when the value does not exist, and
// may appear several times in one string. A scalar that is exactly one reference takes the
// referenced node's type (a mapping, a list, a number). `${AWS::Region}` and other `${...}` without
// a source are CloudFormation's and are left as written. Variables in mapping keys are not
// resolved.
//
// Errors (InvalidArgument, "FILE:LINE:COL: ..." at the string that holds the reference): circular
// references, values that do not exist and have no default, unknown sources, a mapping or list
// spliced into a longer string, malformed `${`.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"
#include "config/parse_context.h"
#include "config/yaml_tree.h"

namespace cutover::config {

struct VariableSources {
  const std::map<std::string, std::string>* options = nullptr;           // REQUIRES: not null
  std::function<std::optional<std::string>(const std::string&)> getenv;  // REQUIRES: set
};

// Resolves every variable under `root` (a mapping), replacing values in place.
Status ResolveVariables(const NodePtr& root, const VariableSources& sources,
                        const ParseContext& context);

}  // namespace cutover::config
