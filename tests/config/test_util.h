// Helpers for the config tests: parse YAML text without touching the file system or the real
// environment.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "config/loader.h"

namespace cutover::config::testing {

inline std::string TestData(const std::string& relative) {
  return std::string(CUTOVER_SOURCE_DIR) + "/tests/config/testdata/" + relative;
}

// Options with no file checks, the given --options and a fake environment.
inline LoadOptions Options(std::map<std::string, std::string> opts = {},
                           std::map<std::string, std::string> env = {}) {
  LoadOptions options;
  options.options = std::move(opts);
  options.getenv = [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  options.check_files = false;
  return options;
}

inline Result<ServiceSpec> Parse(const std::string& yaml, const LoadOptions& options = Options()) {
  return ParseServiceSpec(yaml, "serverless.yml", "/nonexistent", options);
}

// The error message of a parse that must fail ("" and a test failure when it succeeded).
inline std::string ParseError(const std::string& yaml, const LoadOptions& options = Options()) {
  Result<ServiceSpec> result = Parse(yaml, options);
  if (result.ok()) {
    ADD_FAILURE() << "expected an error, parsed fine";
    return "";
  }
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  return result.status().message();
}

// Parses YAML that must be valid; on failure the test fails with the message.
inline ServiceSpec ParseOk(const std::string& yaml, const LoadOptions& options = Options()) {
  Result<ServiceSpec> result = Parse(yaml, options);
  if (!result.ok()) {
    ADD_FAILURE() << result.status().ToString();
    return ServiceSpec{};
  }
  return std::move(result).value();
}

}  // namespace cutover::config::testing
