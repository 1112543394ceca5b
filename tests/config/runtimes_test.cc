// Runtime resolution from runtime names and Bref layers (config/runtimes.h).
#include "config/runtimes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cutover::config {
namespace {

using ::testing::HasSubstr;

ResolvedRuntime Resolve(std::string_view runtime, std::vector<std::string> layers = {}) {
  Result<ResolvedRuntime> resolved = ResolveRuntime(runtime, layers);
  EXPECT_TRUE(resolved.ok()) << resolved.status().ToString();
  return resolved.ok() ? *resolved : ResolvedRuntime{};
}

TEST(RuntimesTest, ResolvesPlainRuntimes) {
  for (const char* provided : {"provided", "provided.al2", "provided.al2023"}) {
    ResolvedRuntime r = Resolve(provided);
    EXPECT_EQ(r.kind, RuntimeKind::kProvided);
    EXPECT_EQ(r.runtime, provided);
    EXPECT_EQ(r.php_version, "");
  }
  for (const char* node : {"nodejs18.x", "nodejs20.x", "nodejs22.x"}) {
    EXPECT_EQ(Resolve(node).kind, RuntimeKind::kNode);
  }
  for (const char* python : {"python3.8", "python3.12", "python3.13"}) {
    EXPECT_EQ(Resolve(python).kind, RuntimeKind::kPython);
  }
}

TEST(RuntimesTest, RejectsUnsupportedRuntimes) {
  for (const char* bad : {"java21", "nodejs16.x", "python2.7", "python3.", "ruby3.3", "dotnet8",
                          "php-99-fpm", "php-74-cli", ""}) {
    Result<ResolvedRuntime> resolved = ResolveRuntime(bad, {});
    EXPECT_FALSE(resolved.ok()) << bad;
    EXPECT_THAT(resolved.status().message(), HasSubstr("supported:")) << bad;
  }
}

TEST(RuntimesTest, BrefLayersMakeProvidedRuntimesPhp) {
  ResolvedRuntime fpm = Resolve("provided.al2", {"bref:layer.php-74-fpm"});
  EXPECT_EQ(fpm.kind, RuntimeKind::kPhpFpm);
  EXPECT_EQ(fpm.runtime, "php-74-fpm");
  EXPECT_EQ(fpm.php_version, "7.4");

  ResolvedRuntime function = Resolve("provided", {"bref:layer.php-82"});
  EXPECT_EQ(function.kind, RuntimeKind::kPhpFunction);
  EXPECT_EQ(function.runtime, "php-82");
  EXPECT_EQ(function.php_version, "8.2");

  ResolvedRuntime console = Resolve("provided.al2", {"bref:layer.php-80", "bref:layer.console"});
  EXPECT_EQ(console.kind, RuntimeKind::kPhpFunction);
  EXPECT_EQ(console.runtime, "php-80-console");

  // The FPM layer decides when a function layer of the same version is there too.
  EXPECT_EQ(Resolve("provided.al2", {"bref:layer.php-81", "bref:layer.php-81-fpm"}).kind,
            RuntimeKind::kPhpFpm);
}

TEST(RuntimesTest, BrefLayersDoNotChangeManagedRuntimes) {
  EXPECT_EQ(Resolve("nodejs20.x", {"bref:layer.php-74-fpm"}).kind, RuntimeKind::kNode);
}

TEST(RuntimesTest, RecognisesLiteralBrefLayerArnsByName) {
  EXPECT_EQ(BrefLayerFromReference("arn:aws:lambda:us-east-1:209497400698:layer:php-74-fpm:22"),
            "php-74-fpm");
  EXPECT_EQ(BrefLayerFromReference("arn:aws:lambda:eu-west-3:534081306603:layer:arm-php-82:40"),
            "php-82");
  EXPECT_EQ(BrefLayerFromReference("bref:layer.console"), "console");
  EXPECT_EQ(BrefLayerFromReference("arn:aws:lambda:us-east-1:123456789012:layer:my-layer:1"), "");
  EXPECT_EQ(BrefLayerFromReference("arn:aws:lambda:us-east-1:1:layer:php-74-fpm"), "");
  EXPECT_EQ(BrefLayerFromReference("php-74-fpm"), "");
  EXPECT_EQ(Resolve("provided.al2", {"arn:aws:lambda:us-east-1:209497400698:layer:php-74-fpm:22"})
                .runtime,
            "php-74-fpm");
}

TEST(RuntimesTest, AcceptsBref2RuntimeNames) {
  ResolvedRuntime fpm = Resolve("php-83-fpm");
  EXPECT_EQ(fpm.kind, RuntimeKind::kPhpFpm);
  EXPECT_EQ(fpm.php_version, "8.3");
  EXPECT_EQ(Resolve("php-84").kind, RuntimeKind::kPhpFunction);
  EXPECT_EQ(Resolve("php-82-console").runtime, "php-82-console");
}

TEST(RuntimesTest, RejectsConflictingOrIncompleteBrefLayers) {
  EXPECT_FALSE(
      ResolveRuntime("provided.al2", {"bref:layer.php-74-fpm", "bref:layer.php-80-fpm"}).ok());
  EXPECT_FALSE(ResolveRuntime("provided.al2", {"bref:layer.php-74", "bref:layer.php-80-fpm"}).ok());
  EXPECT_FALSE(
      ResolveRuntime("provided.al2", {"bref:layer.php-74-fpm", "bref:layer.console"}).ok());
  Result<ResolvedRuntime> console_only = ResolveRuntime("provided.al2", {"bref:layer.console"});
  EXPECT_THAT(console_only.status().message(), HasSubstr("needs a php-XY layer"));
}

TEST(RuntimesTest, KnowsEveryBrefLayerName) {
  for (const char* name : {"php-73", "php-73-fpm", "php-74", "php-74-fpm", "php-80", "php-80-fpm",
                           "php-81", "php-81-fpm", "php-82", "php-82-fpm", "php-83", "php-83-fpm",
                           "php-84", "php-84-fpm", "console"}) {
    EXPECT_TRUE(IsBrefLayerName(name)) << name;
    EXPECT_EQ(BrefLayerFromReference(BrefLayerMarker(name)), name);
  }
  EXPECT_FALSE(IsBrefLayerName("php-72-fpm"));
}

}  // namespace
}  // namespace cutover::config
