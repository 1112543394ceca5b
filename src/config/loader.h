// Loads serverless.yml into a validated ServiceSpec.
//
// Every error is an InvalidArgument Status whose message starts with "FILE:LINE:COL: " pointing at the
// offending node, so the CLI can print it as is and exit 2. Pure apart from reading the file and, when
// asked, checking that handlers/bootstraps exist under the service directory.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"
#include "config/service_spec.h"

namespace cutover::config {

struct LoadOptions {
  // `${opt:NAME}` values from the command line (`--stage prod` is {"stage", "prod"}).
  std::map<std::string, std::string> options;
  // Looks up `${env:NAME}`; defaults to the process environment when empty.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Check that each function's handler file / bootstrap exists under the service directory.
  bool check_files = true;
};

// Reads `file` (usually DIR/serverless.yml). File names in errors are the file's name as given.
Result<ServiceSpec> LoadServiceSpec(const std::filesystem::path& file, const LoadOptions& options);

// Same, from text; `file_name` is used in error messages, `service_dir` for file checks.
Result<ServiceSpec> ParseServiceSpec(const std::string& yaml_text, const std::string& file_name,
                                     const std::filesystem::path& service_dir,
                                     const LoadOptions& options);

// Checks that every function's entry point exists under `root` (the service directory or an extracted
// package): `bootstrap` (executable) for provided runtimes, the handler's module file for node/python
// ("handler.hello" -> handler.js/.mjs/.cjs or handler.py), the handler file for PHP.
Status CheckEntryPoints(const ServiceSpec& spec, const std::filesystem::path& root);

}  // namespace cutover::config
